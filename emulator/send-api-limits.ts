/**
 * What Meta's Send API accepts, as the emulator judges it (META-API 2.3), written from Meta's documentation and
 * not from the engine's rules: a judge that shared the engine's code would share its mistakes.
 */

/** Meta: text "must be UTF-8 and be 1,000 bytes or less". The "less than 1000 characters" wording is the looser one. */
export const SEND_API_TEXT_MAX_BYTES = 1000;

/** How many bytes Meta receives for `text`: Node's own UTF-8 encoder counts them. */
export function utf8ByteCount(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export function isTextWithinSendApiLimit(text: string): boolean {
  return utf8ByteCount(text) <= SEND_API_TEXT_MAX_BYTES;
}

/**
 * Meta: images are "png or jpeg, 8MB". "8MB" is read as 8,000,000 bytes, the stricter reading, so a client that
 * counts megabytes as 2^20 bytes is refused here rather than by Meta.
 */
export const SEND_API_IMAGE_MAX_BYTES = 8_000_000;

export interface AcceptedImage {
  format: 'png' | 'jpeg';
  contentType: string;
}

/**
 * The formats Meta names for images sent by URL, each known by the magic bytes its file starts with. Meta's upload
 * page adds GIF, but the emulator has no upload endpoint, and where Meta's pages disagree the stricter one holds.
 */
const acceptedImageSignatures: ReadonlyArray<AcceptedImage & { magic: readonly number[] }> = [
  // PNG: \x89 "PNG" CR LF SUB LF.
  { format: 'png', contentType: 'image/png', magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  // JPEG: a start-of-image marker (FF D8) followed by the next marker's FF.
  { format: 'jpeg', contentType: 'image/jpeg', magic: [0xff, 0xd8, 0xff] },
];

/** Which accepted image `bytes` are, judged by the bytes alone (a Content-Type header can lie); undefined if none. */
export function acceptedImageFormat(bytes: Uint8Array): AcceptedImage | undefined {
  const match = acceptedImageSignatures.find(({ magic }) => bytes.length >= magic.length && magic.every((value, index) => bytes[index] === value));
  return match === undefined ? undefined : { format: match.format, contentType: match.contentType };
}
