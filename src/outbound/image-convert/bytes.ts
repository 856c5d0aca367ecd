/** Reading untrusted image bytes safely: bounds and size checks that refuse with what was found, never throw otherwise. */
import { MediaRejectedError } from '../../domain/errors';

/** The largest side decoded. With MAX_CONVERTED_PIXELS it keeps a small file from making the engine allocate gigabytes. */
export const MAX_CONVERTED_SIDE = 8_192;
/** The largest image decoded: 4 bytes a pixel, so at most 64 MB of pixels on a small machine. */
export const MAX_CONVERTED_PIXELS = 16_777_216;

export function refuse(message: string): MediaRejectedError {
  return new MediaRejectedError('unsupported_type', message);
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** How refusals name what is being decoded: "the BMP is cut off: … but the file has only …". */
export interface Subject {
  name: string;
  container: string;
}

export const BMP_FILE: Subject = { name: 'the BMP', container: 'the file' };
export const ICO_FILE: Subject = { name: 'the ICO', container: 'the file' };

export function icoImage(index: number, total: number): Subject {
  return { name: `the ICO's image ${index + 1} of ${total}`, container: 'that image' };
}

/** Refuses unless `bytes` reach at least up to `end`, naming the structure (`what`) that would be read beyond them. */
export function requireBytes(bytes: Uint8Array, end: number, subject: Subject, what: string): void {
  if (end > bytes.length) {
    throw refuse(`${subject.name} is cut off: ${what} would end at byte ${count(end)} but ${subject.container} has only ${count(bytes.length)} bytes`);
  }
}

export function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function checkDimensions(width: number, height: number, subject: Subject): void {
  if (width <= 0 || height <= 0) throw refuse(`${subject.name} says it is ${width} × ${height} pixels, which is not an image`);
  if (width > MAX_CONVERTED_SIDE || height > MAX_CONVERTED_SIDE || width * height > MAX_CONVERTED_PIXELS) {
    throw refuse(
      `${subject.name} is ${count(width)} × ${count(height)} pixels; the engine converts images of at most ` +
        `${count(MAX_CONVERTED_SIDE)} × ${count(MAX_CONVERTED_SIDE)} (${count(MAX_CONVERTED_PIXELS)} pixels)`,
    );
  }
}
