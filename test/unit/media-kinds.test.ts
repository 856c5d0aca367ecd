/** The engine's image rules (src/domain/media.ts): image types judged by their first bytes, and which of them the product sends. */
import { isSendableImageKind, MAX_IMAGE_BYTES, sniffImageKind } from '../../src/domain/media';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('sniffImageKind', () => {
  it.each([
    ['jpeg', bytes(0xff, 0xd8, 0xff, 0xe0, 0, 0x10)],
    ['png', bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0)],
    ['gif', Uint8Array.from(Buffer.from('GIF89a......'))],
    ['webp', Uint8Array.from(Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 '))],
    ['ico', bytes(0, 0, 1, 0, 1, 0, 16, 16)],
    ['bmp', Uint8Array.from(Buffer.concat([Buffer.from('BM'), Buffer.alloc(14)]))],
  ])('recognises %s', (kind, data) => {
    expect(sniffImageKind(data)).toBe(kind);
  });

  it.each([
    ['an HTML page', Uint8Array.from(Buffer.from('<!doctype html>'))],
    ['an empty file', bytes()],
    ['a truncated PNG signature', bytes(0x89, 0x50, 0x4e)],
    ['an ICO header with no images', bytes(0, 0, 1, 0, 0, 0)],
    ['a two-byte "BM"', Uint8Array.from(Buffer.from('BM'))],
  ])('does not take %s for an image', (_label, data) => {
    expect(sniffImageKind(data)).toBeUndefined();
  });

  it('lets JPG, PNG, ICO and BMP be sent, and nothing else (SPEC C3)', () => {
    expect(['jpeg', 'png', 'ico', 'bmp'].every((kind) => isSendableImageKind(kind as never))).toBe(true);
    expect(isSendableImageKind('gif')).toBe(false);
    expect(isSendableImageKind('webp')).toBe(false);
    expect(isSendableImageKind(undefined)).toBe(false);
  });

  it('reads "8MB" the strict way', () => {
    expect(MAX_IMAGE_BYTES).toBe(8_000_000);
  });
});
