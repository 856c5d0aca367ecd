/** BMP and ICO to PNG (src/outbound/image-convert/), checked by decoding every PNG produced and comparing each pixel. */
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { MediaRejectedError } from '../../src/domain/errors';
import { mediaRefusalOf } from '../support/refusals';
import { MAX_IMAGE_BYTES } from '../../src/domain/media';
import { toSendableImage } from '../../src/outbound/image-convert';

type Rgb = readonly [number, number, number];
type Rgba = readonly [number, number, number, number];
type Grid = Rgba[][];

// ---- Writers: little-endian fields, packed rows, BMP, icon bitmaps, ICO and PNG files ----

const u16 = (value: number): number[] => [value & 0xff, (value >>> 8) & 0xff];
/** Also writes negative numbers, as two's complement (top-down heights). */
const u32 = (value: number): number[] => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
const be32 = (value: number): number[] => [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
const latin1 = (text: string): number[] => Array.from(Buffer.from(text, 'latin1'));

const packRgb = ([red, green, blue]: Rgb): number => (red << 16) | (green << 8) | blue;

/**
 * Stored rows of a `width` × `height` bitmap: the bottom row first unless `topDown`, each padded to 4 bytes.
 * `valueAt(x, y)` (y counted from the top) is a palette index for 1, 4 and 8 bits, else the pixel's value, written
 * little-endian (so 24-bit 0xRRGGBB is stored B, G, R).
 */
function pixelRows(width: number, height: number, bitsPerPixel: number, valueAt: (x: number, y: number) => number, topDown = false): number[] {
  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  const rows: number[] = [];
  for (let row = 0; row < height; row += 1) {
    const y = topDown ? row : height - 1 - row;
    const line = new Array<number>(rowBytes).fill(0);
    for (let x = 0; x < width; x += 1) {
      const value = valueAt(x, y);
      if (bitsPerPixel <= 8) {
        const bit = x * bitsPerPixel;
        line[bit >> 3] = line[bit >> 3]! | (value << (8 - bitsPerPixel - (bit % 8)));
      } else {
        for (let byte = 0; byte < bitsPerPixel / 8; byte += 1) line[(x * bitsPerPixel) / 8 + byte] = (value >>> (8 * byte)) & 0xff;
      }
    }
    rows.push(...line);
  }
  return rows;
}

interface BmpSpec {
  width: number;
  height: number;
  bitsPerPixel: number;
  /** Stored pixel bytes (rows or RLE data). */
  pixels: number[];
  compression?: number;
  headerSize?: 12 | 40 | 56 | 64 | 108 | 124;
  topDown?: boolean;
  palette?: readonly Rgb[];
  /** Red, green, blue (and alpha) masks: inside the header from 56 bytes on, after a 40-byte one. */
  masks?: readonly number[];
  colorsUsed?: number;
  imageSize?: number;
  /** Overrides where the file header says the pixels start. */
  pixelOffset?: number;
}

/** The DIB header (and masks after a 40-byte one) and colour table; shared by BMP files and icon images. */
function dibHeaderAndPalette(spec: Omit<BmpSpec, 'pixels' | 'pixelOffset'>, storedHeight: number): number[] {
  const headerSize = spec.headerSize ?? 40;
  const palette = (spec.palette ?? []).flatMap(([red, green, blue]) => (headerSize === 12 ? [blue, green, red] : [blue, green, red, 0]));
  if (headerSize === 12) return [...u32(12), ...u16(spec.width), ...u16(storedHeight), ...u16(1), ...u16(spec.bitsPerPixel), ...palette];
  const fields = [
    ...u32(headerSize),
    ...u32(spec.width),
    ...u32(spec.topDown ? -storedHeight : storedHeight),
    ...u16(1),
    ...u16(spec.bitsPerPixel),
    ...u32(spec.compression ?? 0),
    ...u32(spec.imageSize ?? 0),
    ...u32(2835), // 72 dpi
    ...u32(2835),
    ...u32(spec.colorsUsed ?? 0),
    ...u32(0),
  ];
  const masks = (spec.masks ?? []).flatMap(u32);
  if (headerSize === 40) return [...fields, ...masks, ...palette];
  const header = [...fields, ...masks];
  return [...header, ...new Array<number>(headerSize - header.length).fill(0), ...palette];
}

function bmp(spec: BmpSpec): Uint8Array {
  const header = dibHeaderAndPalette(spec, spec.height);
  const pixelOffset = spec.pixelOffset ?? 14 + header.length;
  const total = 14 + header.length + spec.pixels.length;
  return Uint8Array.from([...latin1('BM'), ...u32(total), 0, 0, 0, 0, ...u32(pixelOffset), ...header, ...spec.pixels]);
}

/** An icon's bitmap: header with doubled height, colour table, colour rows, then the 1-bit AND mask (1 = transparent). */
function iconBitmap(spec: Omit<BmpSpec, 'pixels'> & { colourRows: number[]; transparentAt?: (x: number, y: number) => boolean }): number[] {
  const mask = pixelRows(spec.width, spec.height, 1, (x, y) => (spec.transparentAt?.(x, y) ? 1 : 0));
  return [...dibHeaderAndPalette(spec, spec.height * 2), ...spec.colourRows, ...mask];
}

interface IconSpec {
  data: number[] | Uint8Array;
  /** As the directory states it; 256 is written as 0. */
  width: number;
  height: number;
  bitsPerPixel: number;
  /** Overrides the offset the directory gives. */
  offset?: number;
  /** Overrides the size the directory gives. */
  size?: number;
}

function ico(images: IconSpec[]): Uint8Array {
  let offset = 6 + 16 * images.length;
  const directory: number[] = [...u16(0), ...u16(1), ...u16(images.length)];
  for (const image of images) {
    directory.push(image.width % 256, image.height % 256, 0, 0, ...u16(1), ...u16(image.bitsPerPixel));
    directory.push(...u32(image.size ?? image.data.length), ...u32(image.offset ?? offset));
    offset += image.data.length;
  }
  return Uint8Array.from([...directory, ...images.flatMap((image) => Array.from(image.data))]);
}

/** A PNG written independently of the module: RGBA, one IDAT. */
function png(pixels: Grid): Uint8Array {
  const width = pixels[0]!.length;
  const raw = pixels.flatMap((row) => [0, ...row.flatMap((pixel) => [...pixel])]);
  const chunk = (type: string, data: number[]): number[] => {
    const body = Uint8Array.from([...latin1(type), ...data]);
    return [...be32(data.length), ...body, ...be32(crc32(body))];
  };
  return Uint8Array.from([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
    ...chunk('IHDR', [...be32(width), ...be32(pixels.length), 8, 6, 0, 0, 0]),
    ...chunk('IDAT', Array.from(deflateSync(Uint8Array.from(raw)))),
    ...chunk('IEND', []),
  ]);
}

// ---- Reading the PNG back ----

interface DecodedPng {
  width: number;
  height: number;
  /** 2: RGB, 6: RGBA. */
  colourType: number;
  pixels: Grid;
}

/** Decodes what the module wrote, checking the signature, every chunk's CRC (zlib's, not the module's), the header and each row's filter byte. */
function decodePng(bytes: Uint8Array): DecodedPng {
  const buffer = Buffer.from(bytes);
  expect([...buffer.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: Array<{ type: string; data: Buffer }> = [];
  for (let at = 8; at < buffer.length; ) {
    const length = buffer.readUInt32BE(at);
    const type = buffer.toString('latin1', at + 4, at + 8);
    const data = buffer.subarray(at + 8, at + 8 + length);
    expect(buffer.readUInt32BE(at + 8 + length)).toBe(crc32(buffer.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, data });
    at += 12 + length;
  }
  const types = chunks.map((chunk) => chunk.type);
  expect(types[0]).toBe('IHDR');
  expect(types[types.length - 1]).toBe('IEND');
  expect(types.slice(1, -1).every((type) => type === 'IDAT')).toBe(true);
  const header = chunks[0]!.data;
  expect(header.length).toBe(13);
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const colourType = header[9]!;
  expect([header[8], header[10], header[11], header[12]]).toEqual([8, 0, 0, 0]); // 8 bits, deflate, standard filters, no interlace
  expect([2, 6]).toContain(colourType);
  const channels = colourType === 6 ? 4 : 3;
  const stride = 1 + width * channels;
  const raw = inflateSync(Buffer.concat(chunks.filter((chunk) => chunk.type === 'IDAT').map((chunk) => chunk.data)));
  expect(raw.length).toBe(stride * height);
  const pixels: Grid = [];
  for (let y = 0; y < height; y += 1) {
    expect(raw[y * stride]).toBe(0); // filter "None"
    const row: Rgba[] = [];
    for (let x = 0; x < width; x += 1) {
      const at = y * stride + 1 + x * channels;
      row.push([raw[at]!, raw[at + 1]!, raw[at + 2]!, channels === 4 ? raw[at + 3]! : 255]);
    }
    pixels.push(row);
  }
  return { width, height, colourType, pixels };
}

function grid(width: number, height: number, pixelAt: (x: number, y: number) => Rgba): Grid {
  return Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => pixelAt(x, y)));
}

const opaque = ([red, green, blue]: Rgb): Rgba => [red, green, blue, 255];
const TRANSPARENT: Rgba = [0, 0, 0, 0];

/** A distinct colour for every pixel of a small image. */
const colourAt = (x: number, y: number): Rgb => [(x * 37 + 11) % 256, (y * 59 + 23) % 256, (x * 13 + y * 29 + 101) % 256];

/** Converts `bytes` of `kind`, checks the result is a converted PNG and decodes it. */
function converted(kind: 'bmp' | 'ico', bytes: Uint8Array): DecodedPng {
  const result = toSendableImage({ kind, bytes });
  expect(result.contentType).toBe('image/png');
  expect(result.converted).toBe(true);
  return decodePng(result.bytes);
}


function refusalOfBmp(bytes: Uint8Array): MediaRejectedError {
  return mediaRefusalOf(() => toSendableImage({ kind: 'bmp', bytes }));
}

function refusalOfIco(bytes: Uint8Array): MediaRejectedError {
  return mediaRefusalOf(() => toSendableImage({ kind: 'ico', bytes }));
}

/** A deterministic pseudo-random generator (mulberry32), so inputs built from "random" bytes are the same every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

// ---- Tests ----

describe('JPEG and PNG', () => {
  it('pass through unchanged, with their own content type', () => {
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0xff, 0xd9]);
    const pngBytes = png([[[1, 2, 3, 255]]]);
    expect(toSendableImage({ kind: 'jpeg', bytes: jpeg })).toEqual({ bytes: jpeg, contentType: 'image/jpeg', converted: false });
    const result = toSendableImage({ kind: 'png', bytes: pngBytes });
    expect(result.bytes).toBe(pngBytes);
    expect(result).toMatchObject({ contentType: 'image/png', converted: false });
  });
});

describe('other kinds', () => {
  it.each([
    ['gif', 'GIF'],
    ['webp', 'WebP'],
    ['something-new', 'something-new'],
  ])('refuses a %s image, naming it', (kind, label) => {
    const error = mediaRefusalOf(() => toSendableImage({ kind, bytes: Uint8Array.from(latin1('GIF89a')) }));
    expect(error.reason).toBe('unsupported_type');
    expect(error.message).toContain(`the file is a ${label} image`);
    expect(error.message).toContain('JPG and PNG');
  });
});

describe('BMP', () => {
  it('reads a hand-written 24-bit bottom-up file with padded rows', () => {
    // 2 × 2: rows of 6 bytes padded to 8, bottom row first, each pixel stored blue, green, red.
    const pixels = [
      ...[0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0xee, 0xee], // bottom: blue, green, padding
      ...[0x00, 0x00, 0xff, 0x10, 0x20, 0x30, 0xee, 0xee], // top: red, (0x30, 0x20, 0x10), padding
    ];
    const decoded = converted('bmp', bmp({ width: 2, height: 2, bitsPerPixel: 24, pixels }));
    expect(decoded.colourType).toBe(2); // fully opaque: RGB
    expect(decoded.pixels).toEqual([
      [
        [255, 0, 0, 255],
        [0x30, 0x20, 0x10, 255],
      ],
      [
        [0, 0, 255, 255],
        [0, 255, 0, 255],
      ],
    ]);
  });

  it.each([
    ['bottom-up', false],
    ['top-down', true],
  ])('reads a 24-bit %s file of odd width', (_, topDown) => {
    const width = 5; // 15 bytes a row, padded to 16
    const height = 3;
    const pixels = pixelRows(width, height, 24, (x, y) => packRgb(colourAt(x, y)), topDown);
    expect(pixels.length).toBe(16 * height);
    const decoded = converted('bmp', bmp({ width, height, bitsPerPixel: 24, pixels, topDown }));
    expect(decoded).toMatchObject({ width, height, colourType: 2 });
    expect(decoded.pixels).toEqual(grid(width, height, (x, y) => opaque(colourAt(x, y))));
  });

  it('treats 32-bit BI_RGB pixels whose fourth byte is always zero as opaque', () => {
    const pixels = pixelRows(3, 2, 32, (x, y) => packRgb(colourAt(x, y)));
    const decoded = converted('bmp', bmp({ width: 3, height: 2, bitsPerPixel: 32, pixels }));
    expect(decoded.colourType).toBe(2);
    expect(decoded.pixels).toEqual(grid(3, 2, (x, y) => opaque(colourAt(x, y))));
  });

  it('keeps the alpha of 32-bit BI_RGB pixels once any fourth byte is non-zero (unpremultiplied)', () => {
    const alphaAt = (x: number, y: number): number => [0, 128, 255][(x + y) % 3]!;
    const pixels = pixelRows(3, 2, 32, (x, y) => ((alphaAt(x, y) << 24) | packRgb(colourAt(x, y))) >>> 0);
    const decoded = converted('bmp', bmp({ width: 3, height: 2, bitsPerPixel: 32, pixels }));
    expect(decoded.colourType).toBe(6);
    expect(decoded.pixels).toEqual(grid(3, 2, (x, y) => [...colourAt(x, y), alphaAt(x, y)]));
  });

  it('reads 32-bit BI_BITFIELDS with an alpha mask in a V5 header (bytes in R, G, B, A order)', () => {
    const masks = [0x000000ff, 0x0000ff00, 0x00ff0000, 0xff000000];
    const alphaAt = (x: number): number => [255, 64, 0][x]!;
    const pixels = pixelRows(3, 2, 32, (x, y) => {
      const [red, green, blue] = colourAt(x, y);
      return (red | (green << 8) | (blue << 16) | (alphaAt(x) << 24)) >>> 0;
    });
    const decoded = converted('bmp', bmp({ width: 3, height: 2, bitsPerPixel: 32, compression: BI_BITFIELDS, headerSize: 124, masks, pixels }));
    expect(decoded.colourType).toBe(6);
    expect(decoded.pixels).toEqual(grid(3, 2, (x, y) => [...colourAt(x, y), alphaAt(x)]));
  });

  it('reads 32-bit BI_BITFIELDS with three masks after a 40-byte header as opaque, whatever the unmasked byte holds', () => {
    const masks = [0xff000000, 0x00ff0000, 0x0000ff00]; // colours in the top three bytes
    const pixels = pixelRows(2, 2, 32, (x, y) => ((packRgb(colourAt(x, y)) << 8) | 0x7f) >>> 0);
    const decoded = converted('bmp', bmp({ width: 2, height: 2, bitsPerPixel: 32, compression: BI_BITFIELDS, masks, pixels }));
    expect(decoded.colourType).toBe(2);
    expect(decoded.pixels).toEqual(grid(2, 2, (x, y) => opaque(colourAt(x, y))));
  });

  // 5- and 6-bit values scale to 8 bits as round(value × 255 / max).
  const scale = (value: number, bits: number): number => Math.round((value * 255) / (2 ** bits - 1));
  const five = (x: number, y: number): Rgb => [(x * 7 + y) % 32, (x * 3 + y * 11) % 32, (x + y * 5 + 17) % 32];
  const fiveScaled = (x: number, y: number): Rgb => {
    const [red, green, blue] = five(x, y);
    return [scale(red, 5), scale(green, 5), scale(blue, 5)];
  };

  it('reads 16-bit BI_RGB as 5-5-5, ignoring the top bit', () => {
    const pixels = pixelRows(3, 2, 16, (x, y) => {
      const [red, green, blue] = five(x, y);
      return ((x % 2) << 15) | (red << 10) | (green << 5) | blue;
    });
    const decoded = converted('bmp', bmp({ width: 3, height: 2, bitsPerPixel: 16, pixels }));
    expect(decoded.colourType).toBe(2);
    expect(decoded.pixels).toEqual(grid(3, 2, (x, y) => opaque(fiveScaled(x, y))));
  });

  it('reads 16-bit 5-5-5 BI_BITFIELDS', () => {
    const pixels = pixelRows(3, 2, 16, (x, y) => {
      const [red, green, blue] = five(x, y);
      return (red << 10) | (green << 5) | blue;
    });
    const masks = [0x7c00, 0x03e0, 0x001f];
    const decoded = converted('bmp', bmp({ width: 3, height: 2, bitsPerPixel: 16, compression: BI_BITFIELDS, masks, pixels }));
    expect(decoded.pixels).toEqual(grid(3, 2, (x, y) => opaque(fiveScaled(x, y))));
  });

  it('reads 16-bit 5-6-5 BI_BITFIELDS', () => {
    const sixBitGreen = (x: number, y: number): number => (x * 21 + y * 9) % 64;
    const pixels = pixelRows(3, 2, 16, (x, y) => {
      const [red, , blue] = five(x, y);
      return (red << 11) | (sixBitGreen(x, y) << 5) | blue;
    });
    const masks = [0xf800, 0x07e0, 0x001f];
    const decoded = converted('bmp', bmp({ width: 3, height: 2, bitsPerPixel: 16, compression: BI_BITFIELDS, masks, pixels }));
    expect(decoded.colourType).toBe(2);
    expect(decoded.pixels).toEqual(
      grid(3, 2, (x, y) => {
        const [red, , blue] = five(x, y);
        return [scale(red, 5), scale(sixBitGreen(x, y), 6), scale(blue, 5), 255];
      }),
    );
  });

  it('reads 16-bit 1-5-5-5 BI_ALPHABITFIELDS with its alpha bit', () => {
    const pixels = pixelRows(2, 2, 16, (x, y) => {
      const [red, green, blue] = five(x, y);
      return ((x === y ? 1 : 0) << 15) | (red << 10) | (green << 5) | blue;
    });
    const masks = [0x7c00, 0x03e0, 0x001f, 0x8000];
    const decoded = converted('bmp', bmp({ width: 2, height: 2, bitsPerPixel: 16, compression: BI_ALPHABITFIELDS, masks, pixels }));
    expect(decoded.colourType).toBe(6);
    expect(decoded.pixels).toEqual(
      grid(2, 2, (x, y) => [...fiveScaled(x, y), x === y ? 255 : 0]),
    );
  });

  it('reads 8-bit palette pixels with a short colour table; an index past it is black', () => {
    const palette: Rgb[] = [
      [10, 20, 30],
      [200, 100, 50],
      [0, 255, 128],
    ];
    const indexAt = (x: number, y: number): number => (x + y * 2) % 4; // 3 is past the table
    const width = 5; // 5 bytes a row, padded to 8
    const decoded = converted('bmp', bmp({ width, height: 3, bitsPerPixel: 8, palette, colorsUsed: 3, pixels: pixelRows(width, 3, 8, indexAt) }));
    expect(decoded.pixels).toEqual(grid(width, 3, (x, y) => opaque(palette[indexAt(x, y)] ?? [0, 0, 0])));
  });

  it('reads 4-bit palette pixels of odd width', () => {
    const palette = Array.from({ length: 16 }, (_, index): Rgb => [index * 16, 255 - index * 16, (index * 71) % 256]);
    const indexAt = (x: number, y: number): number => (x * 5 + y * 3) % 16;
    const decoded = converted('bmp', bmp({ width: 3, height: 3, bitsPerPixel: 4, palette, pixels: pixelRows(3, 3, 4, indexAt) }));
    expect(decoded.pixels).toEqual(grid(3, 3, (x, y) => opaque(palette[indexAt(x, y)]!)));
  });

  it('reads hand-written 1-bit pixels, most significant bit first', () => {
    const palette: Rgb[] = [
      [0, 0, 0],
      [255, 255, 255],
    ];
    // 10 × 2: two bytes of bits a row, padded to 4; bottom row first.
    const pixels = [0b10000000, 0b01000000, 0, 0, 0b01010101, 0b10000000, 0, 0];
    const decoded = converted('bmp', bmp({ width: 10, height: 2, bitsPerPixel: 1, palette, pixels }));
    const top = [0, 1, 0, 1, 0, 1, 0, 1, 1, 0];
    const bottom = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(decoded.pixels).toEqual([top, bottom].map((row) => row.map((bit) => opaque(palette[bit]!))));
  });

  it('reads OS/2 core-header files (3-byte colour table entries)', () => {
    const palette: Rgb[] = Array.from({ length: 256 }, (_, index): Rgb => [index, (index * 3) % 256, 255 - index]);
    const indexAt = (x: number, y: number): number => (x * 50 + y * 7) % 256;
    const paletted = converted('bmp', bmp({ width: 3, height: 2, bitsPerPixel: 8, headerSize: 12, palette, pixels: pixelRows(3, 2, 8, indexAt) }));
    expect(paletted.pixels).toEqual(grid(3, 2, (x, y) => opaque(palette[indexAt(x, y)]!)));
    const trueColour = converted('bmp', bmp({ width: 3, height: 2, bitsPerPixel: 24, headerSize: 12, pixels: pixelRows(3, 2, 24, (x, y) => packRgb(colourAt(x, y))) }));
    expect(trueColour.pixels).toEqual(grid(3, 2, (x, y) => opaque(colourAt(x, y))));
  });

  const rlePalette: Rgb[] = Array.from({ length: 16 }, (_, index): Rgb => [index * 15, 100 + index, 255 - index * 15]);
  const paletteColour = (index: number): Rgba => opaque(rlePalette[index]!);

  it('decodes RLE8: runs, odd absolute runs with padding, deltas (skipped pixels are transparent) and end of bitmap', () => {
    const stream = [
      ...[4, 1, 0, 0], // bottom row: four of index 1, end of line
      ...[0, 3, 2, 0, 2, 0xee, 1, 1, 0, 0], // middle: literal 2, 0, 2 (+ padding byte), one of index 1, end of line
      ...[0, 2, 2, 0, 2, 2, 0, 1], // top: skip two pixels right, two of index 2, end of bitmap
    ];
    const decoded = converted('bmp', bmp({ width: 4, height: 3, bitsPerPixel: 8, compression: BI_RLE8, palette: rlePalette, pixels: stream, imageSize: stream.length }));
    expect(decoded.colourType).toBe(6);
    expect(decoded.pixels).toEqual([
      [TRANSPARENT, TRANSPARENT, paletteColour(2), paletteColour(2)],
      [paletteColour(2), paletteColour(0), paletteColour(2), paletteColour(1)],
      [1, 1, 1, 1].map(paletteColour),
    ]);
  });

  it('decodes RLE4: alternating runs and absolute nibbles', () => {
    const stream = [
      ...[5, 0x12, 0, 0], // bottom row: 1, 2, 1, 2, 1, end of line
      ...[0, 3, 0x34, 0x50, 2, 0x67, 0, 1], // top: literal 3, 4, 5 (two bytes, no padding), then 6, 7, end of bitmap
    ];
    const decoded = converted('bmp', bmp({ width: 5, height: 2, bitsPerPixel: 4, compression: BI_RLE4, palette: rlePalette, pixels: stream }));
    expect(decoded.colourType).toBe(2);
    expect(decoded.pixels).toEqual([
      [3, 4, 5, 6, 7].map(paletteColour),
      [1, 2, 1, 2, 1].map(paletteColour),
    ]);
  });

  it('refuses RLE data that stops before the image ends', () => {
    const error = refusalOfBmp(bmp({ width: 4, height: 3, bitsPerPixel: 8, compression: BI_RLE8, palette: rlePalette, pixels: [4, 1, 0, 0, 2, 1] }));
    expect(error.reason).toBe('unsupported_type');
    expect(error.message).toMatch(/RLE8 data ends in row 2 of 3.*cut off/);
  });

  it('refuses converted PNGs larger than Instagram accepts', () => {
    // Noise does not compress: 1,700 × 1,700 × 3 bytes is about 8.7 MB as PNG.
    const side = 1700;
    const rowBytes = Math.ceil((side * 24) / 32) * 4;
    const noise = new Uint32Array((rowBytes * side) / 4);
    let state = 7; // xorshift32, inline: a closure call per byte is slow under jest's transform
    for (let word = 0; word < noise.length; word += 1) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      noise[word] = state >>> 0;
    }
    const file = bmp({ width: side, height: side, bitsPerPixel: 24, pixels: [] });
    const big = new Uint8Array(file.length + noise.byteLength);
    big.set(file);
    big.set(new Uint8Array(noise.buffer), file.length);
    const error = refusalOfBmp(big);
    expect(error.reason).toBe('too_large');
    expect(error.message).toContain(`at most ${MAX_IMAGE_BYTES.toLocaleString('en-US')}`);
  });

  describe('refuses, naming what it found,', () => {
    const valid = bmp({ width: 3, height: 2, bitsPerPixel: 24, pixels: pixelRows(3, 2, 24, (x, y) => packRgb(colourAt(x, y))) });

    it('a file cut off inside its headers', () => {
      expect(refusalOfBmp(valid.subarray(0, 10)).message).toBe('the BMP is cut off: the 14-byte file header would end at byte 14 but the file has only 10 bytes');
      expect(refusalOfBmp(valid.subarray(0, 30)).message).toBe('the BMP is cut off: the 40-byte bitmap header would end at byte 54 but the file has only 30 bytes');
    });

    it('a file cut off inside its pixels', () => {
      expect(refusalOfBmp(valid.subarray(0, valid.length - 3)).message).toBe(
        'the BMP is cut off: the 24 bytes of pixels from byte 54 would end at byte 78 but the file has only 75 bytes',
      );
    });

    it('pixels said to start beyond the end of the file', () => {
      const error = refusalOfBmp(bmp({ width: 1, height: 1, bitsPerPixel: 24, pixels: [1, 2, 3, 0], pixelOffset: 100_000 }));
      expect(error.message).toBe('the BMP says its pixels start at byte 100,000, beyond the end of the file (58 bytes)');
    });

    it.each([
      [20_000, 1, '20,000 × 1'],
      [1, 8_193, '1 × 8,193'],
      [5_000, 5_000, '5,000 × 5,000'],
      [0x7fffffff, 0x7fffffff, '2,147,483,647 × 2,147,483,647'],
    ])('absurd dimensions (%i × %i) before allocating anything', (width, height, named) => {
      const error = refusalOfBmp(bmp({ width, height, bitsPerPixel: 24, pixels: [0, 0, 0, 0] }));
      expect(error.message).toBe(`the BMP is ${named} pixels; the engine converts images of at most 8,192 × 8,192 (16,777,216 pixels)`);
    });

    it('no pixels at all', () => {
      expect(refusalOfBmp(bmp({ width: 0, height: 5, bitsPerPixel: 24, pixels: [] })).message).toBe('the BMP says it is 0 × 5 pixels, which is not an image');
    });

    it('a JPEG or PNG inside a bitmap header', () => {
      expect(refusalOfBmp(bmp({ width: 1, height: 1, bitsPerPixel: 0, compression: 4, pixels: [0xff, 0xd8, 0xff, 0xd9] })).message).toContain(
        'holds a JPG image inside a bitmap header (compression 4)',
      );
      expect(refusalOfBmp(bmp({ width: 1, height: 1, bitsPerPixel: 0, compression: 5, pixels: [0x89, 0x50, 0x4e, 0x47] })).message).toContain(
        'holds a PNG image inside a bitmap header (compression 5)',
      );
    });

    it('an unknown compression, bit depth, header or mask', () => {
      expect(refusalOfBmp(bmp({ width: 1, height: 1, bitsPerPixel: 24, compression: 11, pixels: [0, 0, 0, 0] })).message).toContain('compression number 11');
      expect(refusalOfBmp(bmp({ width: 1, height: 1, bitsPerPixel: 2, pixels: [0, 0, 0, 0] })).message).toContain('2 bits per pixel');
      expect(refusalOfBmp(bmp({ width: 1, height: 1, bitsPerPixel: 24, compression: BI_BITFIELDS, masks: [0xff0000, 0xff00, 0xff], pixels: [0, 0, 0, 0] })).message).toContain(
        '24 bits per pixel with compression BI_BITFIELDS',
      );
      expect(refusalOfBmp(bmp({ width: 1, height: 1, bitsPerPixel: 24, headerSize: 64, pixels: [0, 0, 0, 0] })).message).toContain('64-byte bitmap header');
      expect(refusalOfBmp(bmp({ width: 1, height: 1, bitsPerPixel: 16, compression: BI_BITFIELDS, masks: [0xf00f, 0x0ff0, 0], pixels: [0, 0, 0, 0] })).message).toContain(
        'red mask of 0x0000f00f, whose bits are not contiguous',
      );
    });

    it('a palette image without a colour table, and a file that is not a BMP', () => {
      expect(refusalOfBmp(bmp({ width: 1, height: 1, bitsPerPixel: 8, pixels: [0, 0, 0, 0] })).message).toContain('no colour table');
      expect(refusalOfBmp(Uint8Array.from([...latin1('GIF89a'), ...new Array<number>(20).fill(0)])).message).toContain('does not start with "BM"');
    });
  });
});

describe('ICO', () => {
  const colourRows24 = (width: number, height: number): number[] => pixelRows(width, height, 24, (x, y) => packRgb(colourAt(x, y)));

  it('returns an embedded PNG as it is', () => {
    const embedded = png(grid(3, 2, (x, y) => [...colourAt(x, y), 200]));
    const result = toSendableImage({ kind: 'ico', bytes: ico([{ data: embedded, width: 3, height: 2, bitsPerPixel: 32 }]) });
    expect(result).toMatchObject({ contentType: 'image/png', converted: true });
    expect(Buffer.from(result.bytes).equals(Buffer.from(embedded))).toBe(true);
  });

  it('reads a 32-bit bitmap by its alpha channel, ignoring the AND mask', () => {
    const alphaAt = (x: number, y: number): number => (x * 100 + y * 55) % 256;
    const data = iconBitmap({
      width: 3,
      height: 2,
      bitsPerPixel: 32,
      colourRows: pixelRows(3, 2, 32, (x, y) => ((alphaAt(x, y) << 24) | packRgb(colourAt(x, y))) >>> 0),
      transparentAt: () => true,
    });
    const decoded = converted('ico', ico([{ data, width: 3, height: 2, bitsPerPixel: 32 }]));
    expect(decoded.colourType).toBe(6);
    expect(decoded.pixels).toEqual(grid(3, 2, (x, y) => [...colourAt(x, y), alphaAt(x, y)]));
  });

  it('falls back to the AND mask for a 32-bit bitmap whose alpha is all zero', () => {
    const transparentAt = (x: number, y: number): boolean => x === y;
    const data = iconBitmap({ width: 2, height: 2, bitsPerPixel: 32, colourRows: pixelRows(2, 2, 32, (x, y) => packRgb(colourAt(x, y))), transparentAt });
    const decoded = converted('ico', ico([{ data, width: 2, height: 2, bitsPerPixel: 32 }]));
    expect(decoded.pixels).toEqual(grid(2, 2, (x, y) => (transparentAt(x, y) ? TRANSPARENT : opaque(colourAt(x, y)))));
  });

  it('makes a 24-bit bitmap transparent where the AND mask says (odd width: padded colour and mask rows)', () => {
    const transparentAt = (x: number, y: number): boolean => (x + y) % 2 === 0 || (x === 2 && y === 0);
    const data = iconBitmap({ width: 3, height: 2, bitsPerPixel: 24, colourRows: colourRows24(3, 2), transparentAt });
    const decoded = converted('ico', ico([{ data, width: 3, height: 2, bitsPerPixel: 24 }]));
    expect(decoded.colourType).toBe(6);
    expect(decoded.pixels).toEqual(grid(3, 2, (x, y) => (transparentAt(x, y) ? TRANSPARENT : opaque(colourAt(x, y)))));
  });

  it('finds the pixels of a palette bitmap after its declared colour table', () => {
    const palette: Rgb[] = [
      [255, 0, 0],
      [0, 0, 255],
    ];
    const indexAt = (x: number, y: number): number => (x + y) % 2;
    const data = iconBitmap({ width: 4, height: 2, bitsPerPixel: 8, palette, colorsUsed: 2, colourRows: pixelRows(4, 2, 8, indexAt), transparentAt: (x) => x === 3 });
    const decoded = converted('ico', ico([{ data, width: 4, height: 2, bitsPerPixel: 8 }]));
    expect(decoded.pixels).toEqual(grid(4, 2, (x, y) => (x === 3 ? TRANSPARENT : opaque(palette[indexAt(x, y)]!))));
  });

  it('converts the largest image, then the deepest of equal size', () => {
    const solid = (width: number, bitsPerPixel: 8 | 24, colour: Rgb): IconSpec => {
      const colourRows =
        bitsPerPixel === 24 ? pixelRows(width, width, 24, () => packRgb(colour)) : pixelRows(width, width, 8, () => 0);
      const data = iconBitmap({ width, height: width, bitsPerPixel, palette: bitsPerPixel === 8 ? [colour] : undefined, colorsUsed: bitsPerPixel === 8 ? 1 : 0, colourRows });
      return { data, width, height: width, bitsPerPixel };
    };
    const icon = ico([solid(16, 24, [1, 1, 1]), solid(32, 8, [2, 2, 2]), solid(32, 24, [3, 3, 3]), solid(24, 24, [4, 4, 4])]);
    const decoded = converted('ico', icon);
    expect(decoded.pixels).toEqual(grid(32, 32, () => [3, 3, 3, 255]));
  });

  it('ranks a 256-pixel image (0 in the directory) above smaller ones', () => {
    const large = png(grid(256, 256, (x, y) => [x, y, 0, 255]));
    const small = iconBitmap({ width: 48, height: 48, bitsPerPixel: 24, colourRows: colourRows24(48, 48) });
    const result = toSendableImage({
      kind: 'ico',
      bytes: ico([
        { data: small, width: 48, height: 48, bitsPerPixel: 24 },
        { data: large, width: 256, height: 256, bitsPerPixel: 32 },
      ]),
    });
    expect(Buffer.from(result.bytes).equals(Buffer.from(large))).toBe(true);
  });

  describe('refuses, naming what it found,', () => {
    const bitmap = iconBitmap({ width: 2, height: 2, bitsPerPixel: 24, colourRows: colourRows24(2, 2) });

    it('a file that is not an icon, or holds no images', () => {
      expect(refusalOfIco(Uint8Array.from([...latin1('BM'), 0, 0, 0, 0])).message).toBe('the file is not an ICO: it starts with 42 4D 00 00, not 00 00 01 00');
      expect(refusalOfIco(Uint8Array.from([0, 0, 1, 0, 0, 0])).message).toBe('the ICO holds no images');
    });

    it('a directory cut off', () => {
      const icon = ico([{ data: bitmap, width: 2, height: 2, bitsPerPixel: 24 }]);
      expect(refusalOfIco(icon.subarray(0, 4)).message).toBe('the ICO is cut off: the 6-byte icon directory header would end at byte 6 but the file has only 4 bytes');
      expect(refusalOfIco(icon.subarray(0, 15)).message).toBe('the ICO is cut off: the directory of 1 image would end at byte 22 but the file has only 15 bytes');
    });

    it('an image beyond the end of the file, or running past it', () => {
      const beyond = ico([
        { data: bitmap, width: 2, height: 2, bitsPerPixel: 24 },
        { data: [], width: 2, height: 2, bitsPerPixel: 24, offset: 50_000, size: 40 },
      ]);
      expect(refusalOfIco(beyond).message).toBe(`the ICO's image 2 of 2 starts at byte 50,000, beyond the end of the file (${beyond.length} bytes)`);
      const overlong = ico([{ data: bitmap, width: 2, height: 2, bitsPerPixel: 24, size: bitmap.length + 10 }]);
      expect(refusalOfIco(overlong).message).toBe(`the ICO's image 1 of 1 is cut off: it spans bytes 22 to ${22 + bitmap.length + 10} but the file has only ${22 + bitmap.length} bytes`);
    });

    it('a bitmap cut off before its AND mask ends', () => {
      const withoutMask = bitmap.slice(0, bitmap.length - 4);
      const error = refusalOfIco(ico([{ data: withoutMask, width: 2, height: 2, bitsPerPixel: 24 }]));
      expect(error.message).toBe(`the ICO's image 1 of 1 is cut off: the transparency mask from byte 56 would end at byte 64 but that image has only 60 bytes`);
    });

    it('an RLE-compressed or oversized bitmap', () => {
      const rle = iconBitmap({ width: 2, height: 2, bitsPerPixel: 8, compression: BI_RLE8, palette: [[0, 0, 0]], colourRows: [0, 1] });
      expect(refusalOfIco(ico([{ data: rle, width: 2, height: 2, bitsPerPixel: 8 }])).message).toContain('uses RLE8 compression, which icons cannot use');
      const huge = iconBitmap({ width: 30_000, height: 2, bitsPerPixel: 24, colourRows: [] });
      expect(refusalOfIco(ico([{ data: huge, width: 0, height: 2, bitsPerPixel: 24 }])).message).toContain('30,000 × 2 pixels');
    });
  });
});

describe('damaged files', () => {
  it('are converted or refused with a MediaRejectedError, never anything else', () => {
    const random = seededRandom(20240611);
    const palette = Array.from({ length: 256 }, (_, index): Rgb => [index, index, index]);
    const samples: Array<{ kind: 'bmp' | 'ico'; bytes: Uint8Array }> = [
      { kind: 'bmp', bytes: bmp({ width: 5, height: 3, bitsPerPixel: 24, pixels: pixelRows(5, 3, 24, (x, y) => packRgb(colourAt(x, y))) }) },
      { kind: 'bmp', bytes: bmp({ width: 7, height: 2, bitsPerPixel: 8, palette, pixels: pixelRows(7, 2, 8, (x) => x * 30) }) },
      { kind: 'bmp', bytes: bmp({ width: 4, height: 2, bitsPerPixel: 16, compression: BI_BITFIELDS, masks: [0xf800, 0x07e0, 0x1f], pixels: pixelRows(4, 2, 16, (x) => x * 999) }) },
      { kind: 'bmp', bytes: bmp({ width: 3, height: 3, bitsPerPixel: 32, headerSize: 108, compression: BI_BITFIELDS, masks: [0xff0000, 0xff00, 0xff, 0xff000000], pixels: pixelRows(3, 3, 32, (x) => x * 0x40404040) }) },
      { kind: 'ico', bytes: ico([{ data: iconBitmap({ width: 3, height: 2, bitsPerPixel: 24, colourRows: pixelRows(3, 2, 24, () => 0x123456) }), width: 3, height: 2, bitsPerPixel: 24 }]) },
      { kind: 'ico', bytes: ico([{ data: iconBitmap({ width: 4, height: 4, bitsPerPixel: 4, palette: palette.slice(0, 16), colourRows: pixelRows(4, 4, 4, (x, y) => x + y) }), width: 4, height: 4, bitsPerPixel: 4 }]) },
    ];
    let convertedCount = 0;
    let refusedCount = 0;
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const sample = samples[attempt % samples.length]!;
      const bytes = sample.bytes.slice();
      let damaged: Uint8Array = bytes;
      if (random() < 0.3) {
        damaged = bytes.subarray(0, Math.floor(random() * bytes.length));
      } else {
        // Mostly the headers, where the offsets and sizes are.
        for (let change = 1 + Math.floor(random() * 4); change > 0; change -= 1) {
          const at = Math.floor(random() * Math.min(bytes.length, random() < 0.8 ? 70 : bytes.length));
          bytes[at] = Math.floor(random() * 256);
        }
      }
      try {
        const result = toSendableImage({ kind: sample.kind, bytes: damaged });
        expect([...result.bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
        convertedCount += 1;
      } catch (error) {
        if (!(error instanceof MediaRejectedError)) throw error;
        expect(error.reason).toBe('unsupported_type');
        refusedCount += 1;
      }
    }
    // Both outcomes occur, so the damage reaches the checks and not only harmless bytes.
    expect(convertedCount).toBeGreaterThan(50);
    expect(refusedCount).toBeGreaterThan(50);
  });
});
