/**
 * The emulator's own Send API limits (emulator/send-api-limits.ts), from Meta's documentation: text of at most
 * 1,000 UTF-8 bytes, images that are PNG or JPEG by their bytes, at most 8 MB. Byte counts are worked out by hand.
 */
import {
  acceptedImageFormat,
  isTextWithinSendApiLimit,
  SEND_API_IMAGE_MAX_BYTES,
  SEND_API_TEXT_MAX_BYTES,
  utf8ByteCount,
} from '../../emulator/send-api-limits';

describe('utf8ByteCount', () => {
  it.each([
    ['nothing', '', 0],
    ['ASCII, one byte a character', 'Hello, world!', 13],
    ['Latin-1 accents, two bytes each', 'äöå', 6],
    ['Korean syllables, three bytes each', '안녕하세요', 15],
    ['an emoji outside the BMP, four bytes', '😀', 4],
    ['a heart with its variation selector, 3 + 3 bytes', '\u2764\ufe0f', 6],
    ['a thumbs-up with a skin tone, 4 + 4 bytes', '👍🏽', 8],
    ['a mix of all of them', 'Hi 안녕 😀', 3 + 7 + 4],
  ])('counts %s', (_label, text, bytes) => {
    expect(utf8ByteCount(text)).toBe(bytes);
  });
});

describe('isTextWithinSendApiLimit', () => {
  it('is 1,000 bytes, not 1,000 characters', () => {
    expect(SEND_API_TEXT_MAX_BYTES).toBe(1000);
  });

  it.each([
    ['1,000 ASCII characters', 'a'.repeat(1000), true],
    ['1,001 ASCII characters', 'a'.repeat(1001), false],
    ['333 Korean syllables and one letter (1,000 bytes)', '가'.repeat(333) + 'a', true],
    ['334 Korean syllables (1,002 bytes)', '가'.repeat(334), false],
    ['250 emoji (1,000 bytes)', '😀'.repeat(250), true],
    ['250 emoji and one letter (1,001 bytes)', '😀'.repeat(250) + 'a', false],
    ['400 Korean syllables, under 1,000 characters but 1,200 bytes', '가'.repeat(400), false],
  ])('judges %s', (_label, text, accepted) => {
    expect(isTextWithinSendApiLimit(text)).toBe(accepted);
  });
});

describe('acceptedImageFormat', () => {
  const onePixelPng = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
  const jfifJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), Buffer.alloc(16)]);
  const exifJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x10]), Buffer.from('Exif\0\0'), Buffer.alloc(16)]);

  it.each([
    ['a PNG', onePixelPng, { format: 'png', contentType: 'image/png' }],
    ['a JFIF JPEG', jfifJpeg, { format: 'jpeg', contentType: 'image/jpeg' }],
    ['an Exif JPEG (as cameras write them)', exifJpeg, { format: 'jpeg', contentType: 'image/jpeg' }],
  ])('accepts %s', (_label, bytes, expected) => {
    expect(acceptedImageFormat(bytes)).toEqual(expected);
  });

  it.each([
    ['a GIF (only the upload page names it)', Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64')],
    ['a WebP', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 '), Buffer.alloc(16)])],
    ['a BMP', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)])],
    ['an ICO', Buffer.concat([Buffer.from([0x00, 0x00, 0x01, 0x00, 0x01, 0x00]), Buffer.alloc(40)])],
    ['a PDF', Buffer.from('%PDF-1.4\n%%EOF\n', 'latin1')],
    ['an HTML page that calls itself a PNG', Buffer.from('<html>this is a web page</html>')],
    ['an empty file', Buffer.alloc(0)],
    ['a PNG signature cut short', onePixelPng.subarray(0, 7)],
    ['a JPEG start-of-image marker alone', Buffer.from([0xff, 0xd8])],
  ])('refuses %s', (_label, bytes) => {
    expect(acceptedImageFormat(bytes)).toBeUndefined();
  });

  it('reads "8MB" as 8,000,000 bytes, the stricter reading', () => {
    expect(SEND_API_IMAGE_MAX_BYTES).toBe(8_000_000);
  });
});
