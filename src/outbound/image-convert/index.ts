/** Turns an image the product accepts (SPEC C3: JPG, PNG, ICO, BMP) into one Meta accepts (META-API 2.3: PNG or JPEG only): BMP and ICO become PNG. */
import { MediaRejectedError } from '../../domain/errors';
import { describeFileKind, MAX_IMAGE_BYTES, type SniffedFile } from '../../domain/media';
import { decodeBmp } from './bmp';
import { count, refuse } from './bytes';
import { iconAsPng } from './ico';
import { encodePng } from './png';

export { MAX_CONVERTED_PIXELS, MAX_CONVERTED_SIDE } from './bytes';

export interface SendableImage {
  bytes: Uint8Array;
  contentType: 'image/png' | 'image/jpeg';
  /** True when `bytes` are not the ones given: a BMP or ICO turned into PNG, or the PNG an ICO carried. */
  converted: boolean;
}

/**
 * `image` as bytes Meta takes: JPEG and PNG unchanged; BMP and ICO decoded and re-encoded as 8-bit PNG (RGB when
 * every pixel is opaque, RGBA otherwise), except an ICO whose chosen image already is a PNG, which is returned as
 * it is. `kind` is what the bytes were sniffed as (src/domain/media.ts). Anything else, and any BMP or ICO that is
 * malformed, cut off, too large to decode or in a variant the engine cannot read, is a MediaRejectedError that
 * names what was found. Pure and synchronous.
 */
export function toSendableImage(image: { kind: string; bytes: Uint8Array }): SendableImage {
  switch (image.kind) {
    case 'jpeg':
      return { bytes: image.bytes, contentType: 'image/jpeg', converted: false };
    case 'png':
      return { bytes: image.bytes, contentType: 'image/png', converted: false };
    case 'bmp':
      return convertedPng(encodePng(decodeBmp(image.bytes)), 'BMP', image.bytes.length);
    case 'ico':
      return convertedPng(iconAsPng(image.bytes), 'ICO', image.bytes.length);
    default:
      throw refuse(`the file is a ${describeKind(image.kind)} image, which cannot be sent: Instagram takes JPG and PNG, and ICO and BMP are converted to PNG`);
  }
}

function convertedPng(png: Uint8Array, kindLabel: string, originalBytes: number): SendableImage {
  // The PNG is what Meta receives, so the 8 MB limit applies to it, not only to the file the business gave.
  if (png.length > MAX_IMAGE_BYTES) {
    throw new MediaRejectedError(
      'too_large',
      `the ${kindLabel} (${count(originalBytes)} bytes) is ${count(png.length)} bytes once converted to PNG, which Instagram needs; ` +
        `Instagram accepts at most ${count(MAX_IMAGE_BYTES)} (${MAX_IMAGE_BYTES / 1_000_000} MB): save it as JPG or make it smaller`,
    );
  }
  return { bytes: png, contentType: 'image/png', converted: true };
}

function describeKind(kind: string): string {
  // describeFileKind knows every kind the sniffer names; anything else is named as given.
  const label = describeFileKind(kind as SniffedFile['kind']) as string | undefined;
  return label ?? kind;
}
