/**
 * Small but real media files the emulator's CDN serves for what customers "send": a receiver that opens the
 * link gets bytes of the announced type, as it would from Meta's CDN.
 */
const onePixelPng = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
  'base64',
);
const onePixelGif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
// An ISO base-media "ftyp" box: enough for anything that sniffs the type.
const mp4Header = Buffer.from('0000001c6674797069736f6d0000020069736f6d69736f326d703431', 'hex');
const m4aHeader = Buffer.from('0000001c667479704d344120000000004d34412069736f6d6d703432', 'hex');
const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1');

export type PlaceholderKind = 'image' | 'gif' | 'video' | 'audio' | 'file';

export const placeholderMedia: Record<PlaceholderKind, { contentType: string; bytes: Buffer }> = {
  image: { contentType: 'image/png', bytes: onePixelPng },
  gif: { contentType: 'image/gif', bytes: onePixelGif },
  video: { contentType: 'video/mp4', bytes: mp4Header },
  audio: { contentType: 'audio/mp4', bytes: m4aHeader },
  file: { contentType: 'application/pdf', bytes: pdf },
};
