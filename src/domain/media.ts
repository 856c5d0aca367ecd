/**
 * What an image really is, judged by its first bytes (a server's Content-Type header can lie), and the limits
 * Instagram applies to images the business sends (META-API 2.3; SPEC C3 promises JPG, PNG, ICO and BMP).
 */
export type ImageKind = 'jpeg' | 'png' | 'ico' | 'bmp' | 'gif' | 'webp';

export const SENDABLE_IMAGE_KINDS: readonly ImageKind[] = ['jpeg', 'png', 'ico', 'bmp'];

/** "8MB" read the stricter way (decimal megabytes), so nothing we accept is refused by Meta. */
export const MAX_IMAGE_BYTES = 8_000_000;

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((value, index) => bytes[offset + index] === value);
}

export function sniffImageKind(bytes: Uint8Array): ImageKind | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  // ICO: reserved 0, type 1 (icon), then a non-zero image count.
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00]) && bytes.length >= 6 && (bytes[4] !== 0 || bytes[5] !== 0)) return 'ico';
  if (startsWith(bytes, [0x42, 0x4d]) && bytes.length >= 14) return 'bmp';
  return undefined;
}

export function isSendableImageKind(kind: ImageKind | undefined): boolean {
  return kind !== undefined && SENDABLE_IMAGE_KINDS.includes(kind);
}
