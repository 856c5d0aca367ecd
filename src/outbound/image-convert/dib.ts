/** Device-independent bitmaps: the pixel data of BMP files and of the bitmaps inside ICO files (headers, palettes, bit fields, RLE). */
import type { RgbaScanlines } from './pixels';
import { MediaRejectedError } from '../../domain/errors';
import { type Subject, count, dataView, refuse, requireBytes } from './bytes';

export const CORE_HEADER_SIZE = 12; // OS/2 BITMAPCOREHEADER
const INFO_HEADER_SIZE = 40; // BITMAPINFOHEADER
/** BITMAPINFOHEADER and its successors: V2 and V3 (Adobe, with masks in the header), V4, V5. */
const INFO_HEADER_SIZES: readonly number[] = [INFO_HEADER_SIZE, 52, 56, 108, 124];

const BI_RGB = 0;
export const BI_RLE8 = 1;
export const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_JPEG = 4;
const BI_PNG = 5;
const BI_ALPHABITFIELDS = 6;

/** One colour channel of a 16- or 32-bit pixel: which bits hold it and the largest value they can hold. */
interface Channel {
  mask: number;
  shift: number;
  max: number;
}

interface ChannelMasks {
  red: Channel;
  green: Channel;
  blue: Channel;
  /** Undefined when the pixels carry no alpha. */
  alpha: Channel | undefined;
}

export interface DibHeader {
  headerSize: number;
  width: number;
  /** Rows stored. An icon stores twice its height: the colours, then the transparency (AND) mask. */
  storedHeight: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  /** biClrUsed: 0 means "all 2^bitsPerPixel". */
  declaredPaletteEntries: number;
  /** biSizeImage: the compressed size for RLE; 0 (unknown) is allowed for uncompressed pixels. */
  imageDataSize: number;
  /** From the header or the masks that follow it; undefined unless the compression is BI_BITFIELDS or BI_ALPHABITFIELDS. */
  masks: ChannelMasks | undefined;
  /** Where the colour table starts: after the header and any masks that follow it. */
  paletteStart: number;
  /** OS/2 core headers use 3-byte (BGR) entries, all others 4 (BGR and a reserved byte). */
  paletteEntrySize: 3 | 4;
}

const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  [BI_RGB]: 'none (BI_RGB)',
  [BI_RLE8]: 'RLE8',
  [BI_RLE4]: 'RLE4',
  [BI_BITFIELDS]: 'BI_BITFIELDS',
  [BI_JPEG]: 'JPEG',
  [BI_PNG]: 'PNG',
  [BI_ALPHABITFIELDS]: 'BI_ALPHABITFIELDS',
};

export function compressionName(compression: number): string {
  return COMPRESSION_NAMES[compression] ?? `number ${compression}`;
}

export function readDibHeader(bytes: Uint8Array, start: number, subject: Subject): DibHeader {
  requireBytes(bytes, start + 4, subject, 'the bitmap header');
  const view = dataView(bytes);
  const headerSize = view.getUint32(start, true);
  if (headerSize === CORE_HEADER_SIZE) {
    requireBytes(bytes, start + CORE_HEADER_SIZE, subject, 'the 12-byte bitmap header');
    return {
      headerSize,
      width: view.getUint16(start + 4, true),
      storedHeight: view.getUint16(start + 6, true),
      topDown: false, // the core header's height is unsigned: always bottom-up
      bitsPerPixel: view.getUint16(start + 10, true),
      compression: BI_RGB,
      declaredPaletteEntries: 0,
      imageDataSize: 0,
      masks: undefined,
      paletteStart: start + CORE_HEADER_SIZE,
      paletteEntrySize: 3,
    };
  }
  if (!INFO_HEADER_SIZES.includes(headerSize)) {
    throw refuse(`${subject.name} has a ${count(headerSize)}-byte bitmap header, a layout the engine cannot read (it reads headers of 12, 40, 52, 56, 108 and 124 bytes)`);
  }
  requireBytes(bytes, start + headerSize, subject, `the ${headerSize}-byte bitmap header`);
  const height = view.getInt32(start + 8, true);
  const compression = view.getUint32(start + 16, true);
  let paletteStart = start + headerSize;
  let masks: ChannelMasks | undefined;
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    // BITMAPINFOHEADER keeps the masks just after itself; the later headers hold them inside (alpha from V3 on).
    const maskCount = headerSize > INFO_HEADER_SIZE ? (headerSize >= 56 ? 4 : 3) : compression === BI_ALPHABITFIELDS ? 4 : 3;
    requireBytes(bytes, start + INFO_HEADER_SIZE + maskCount * 4, subject, 'the colour masks');
    if (headerSize === INFO_HEADER_SIZE) paletteStart += maskCount * 4;
    const maskAt = (index: number): number => view.getUint32(start + INFO_HEADER_SIZE + index * 4, true);
    masks = {
      red: channel(maskAt(0), 'red', subject),
      green: channel(maskAt(1), 'green', subject),
      blue: channel(maskAt(2), 'blue', subject),
      alpha: maskCount === 4 ? channel(maskAt(3), 'alpha', subject) : undefined,
    };
  }
  return {
    headerSize,
    width: view.getInt32(start + 4, true),
    storedHeight: Math.abs(height),
    topDown: height < 0,
    bitsPerPixel: view.getUint16(start + 14, true),
    compression,
    declaredPaletteEntries: view.getUint32(start + 32, true),
    imageDataSize: view.getUint32(start + 20, true),
    masks,
    paletteStart,
    paletteEntrySize: 4,
  };
}

export function channel(mask: number, name: string, subject: Subject): Channel {
  if (mask === 0) return { mask: 0, shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift += 1;
  const max = mask >>> shift;
  // Contiguous bits are what every writer produces; anything else has no sensible scale.
  if ((max & (max + 1)) !== 0) throw refuse(`${subject.name} has a ${name} mask of 0x${mask.toString(16).padStart(8, '0')}, whose bits are not contiguous`);
  return { mask, shift, max };
}

/** The 8-bit value of `channel` in `pixel`, scaled from however many bits it has. */
function channelValue(pixel: number, { mask, shift, max }: Channel): number {
  if (max === 0) return 0;
  const value = (pixel & mask) >>> shift;
  return max === 255 ? value : Math.round((value * 255) / max);
}

const DEFAULT_16_BIT_MASKS: ChannelMasks = {
  red: { mask: 0x7c00, shift: 10, max: 31 },
  green: { mask: 0x03e0, shift: 5, max: 31 },
  blue: { mask: 0x001f, shift: 0, max: 31 },
  alpha: undefined, // 5-5-5 with the top bit unused
};

const DEFAULT_32_BIT_MASKS: ChannelMasks = {
  red: { mask: 0x00ff0000, shift: 16, max: 255 },
  green: { mask: 0x0000ff00, shift: 8, max: 255 },
  blue: { mask: 0x000000ff, shift: 0, max: 255 },
  // The fourth byte is "reserved" in BI_RGB, but many writers put alpha there; see AlphaUse.
  alpha: { mask: 0xff000000, shift: 24, max: 255 },
};

/** Refuses the compression and bit-depth combinations that the engine does not decode or that no valid bitmap has. */
export function checkPixelFormat(header: DibHeader, subject: Subject, allowRle: boolean): void {
  const { compression, bitsPerPixel } = header;
  const found = `${bitsPerPixel} bits per pixel with compression ${compressionName(compression)}`;
  if (compression === BI_JPEG || compression === BI_PNG) {
    const inner = compression === BI_JPEG ? 'JPG' : 'PNG';
    throw refuse(`${subject.name} holds a ${inner} image inside a bitmap header (compression ${compression}), which the engine cannot convert; save it as ${inner}`);
  }
  if (header.headerSize === CORE_HEADER_SIZE && ![1, 4, 8, 24].includes(bitsPerPixel)) {
    throw refuse(`${subject.name} has ${bitsPerPixel} bits per pixel, which an OS/2 bitmap cannot have`);
  }
  switch (compression) {
    case BI_RGB:
      if ([1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) return;
      throw refuse(`${subject.name} has ${bitsPerPixel} bits per pixel; the engine converts bitmaps of 1, 4, 8, 16, 24 and 32`);
    case BI_RLE8:
    case BI_RLE4:
      if (!allowRle) throw refuse(`${subject.name} uses ${compressionName(compression)} compression, which icons cannot use`);
      if (bitsPerPixel === (compression === BI_RLE8 ? 8 : 4)) return;
      throw refuse(`${subject.name} says it has ${found}, which is not a valid bitmap`);
    case BI_BITFIELDS:
    case BI_ALPHABITFIELDS:
      if (bitsPerPixel === 16 || bitsPerPixel === 32) return;
      throw refuse(`${subject.name} says it has ${found}; colour masks go with 16 or 32 bits per pixel only`);
    default:
      throw refuse(`${subject.name} uses compression ${compressionName(compression)}, which the engine cannot convert; save it as PNG or JPG`);
  }
}

/** Bytes per stored row: rows are padded to a multiple of 4 bytes. */
export function dibRowBytes(width: number, bitsPerPixel: number): number {
  return Math.ceil((width * bitsPerPixel) / 32) * 4;
}

/** The colour table as RGB triples: `entries` of them (at most 2^bitsPerPixel are ever used). */
export function readPalette(bytes: Uint8Array, header: DibHeader, entries: number): Uint8Array {
  const palette = new Uint8Array(entries * 3);
  for (let index = 0; index < entries; index += 1) {
    const at = header.paletteStart + index * header.paletteEntrySize;
    palette[index * 3] = bytes[at + 2]!;
    palette[index * 3 + 1] = bytes[at + 1]!;
    palette[index * 3 + 2] = bytes[at]!;
  }
  return palette;
}

/**
 * What a pixel format's alpha channel turned out to carry: `none` (no alpha channel), `all-zero` (an alpha
 * channel left at zero, the usual sign of a writer that does not use it: the image is meant to be opaque), or
 * `used` (at least one non-zero alpha value: the channel is real).
 */
type AlphaUse = 'none' | 'all-zero' | 'used';

/** Decodes uncompressed rows starting at `pixelStart` (bounds already checked) into `image`. */
export function decodeUncompressedPixels(bytes: Uint8Array, pixelStart: number, header: DibHeader, palette: Uint8Array, image: RgbaScanlines): AlphaUse {
  const { width, height } = image;
  const { bitsPerPixel, topDown } = header;
  const rowBytes = dibRowBytes(width, bitsPerPixel);
  const paletteEntries = palette.length / 3;
  const masks = header.masks ?? (bitsPerPixel === 16 ? DEFAULT_16_BIT_MASKS : DEFAULT_32_BIT_MASKS);
  const alphaChannel = masks.alpha !== undefined && masks.alpha.max > 0 ? masks.alpha : undefined;
  let sawAlpha = false;
  for (let row = 0; row < height; row += 1) {
    const y = topDown ? row : height - 1 - row;
    const rowAt = pixelStart + row * rowBytes;
    for (let x = 0; x < width; x += 1) {
      if (bitsPerPixel <= 8) {
        const bitOffset = x * bitsPerPixel;
        const byte = bytes[rowAt + (bitOffset >> 3)]!;
        const index = (byte >> (8 - bitsPerPixel - (bitOffset & 7))) & ((1 << bitsPerPixel) - 1);
        // An index past the colour table is black, as Windows shows it.
        if (index < paletteEntries) image.set(x, y, palette[index * 3]!, palette[index * 3 + 1]!, palette[index * 3 + 2]!, 255);
        else image.set(x, y, 0, 0, 0, 255);
      } else if (bitsPerPixel === 24) {
        const at = rowAt + x * 3;
        image.set(x, y, bytes[at + 2]!, bytes[at + 1]!, bytes[at]!, 255);
      } else {
        const at = rowAt + x * (bitsPerPixel / 8);
        const pixel =
          bitsPerPixel === 16
            ? bytes[at]! | (bytes[at + 1]! << 8)
            : (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
        const alpha = alphaChannel === undefined ? 255 : channelValue(pixel, alphaChannel);
        if (alpha !== 0) sawAlpha = true;
        image.set(x, y, channelValue(pixel, masks.red), channelValue(pixel, masks.green), channelValue(pixel, masks.blue), alpha);
      }
    }
  }
  if (bitsPerPixel <= 8 || bitsPerPixel === 24 || alphaChannel === undefined) return 'none';
  return sawAlpha ? 'used' : 'all-zero';
}

/**
 * Decodes RLE8 or RLE4 data (bottom-up by definition) into `image`. Pixels the stream skips (with a delta or an
 * early end of line or bitmap) stay transparent, as browsers show them. Every step consumes at least two bytes,
 * so a hostile stream ends when its bytes do.
 */
export function decodeRlePixels(bytes: Uint8Array, start: number, end: number, header: DibHeader, palette: Uint8Array, image: RgbaScanlines, subject: Subject): void {
  const { width, height } = image;
  const fourBit = header.compression === BI_RLE4;
  const paletteEntries = palette.length / 3;
  let x = 0;
  let row = 0;
  const put = (index: number): void => {
    if (x < width && row < height) {
      if (index < paletteEntries) image.set(x, height - 1 - row, palette[index * 3]!, palette[index * 3 + 1]!, palette[index * 3 + 2]!, 255);
      else image.set(x, height - 1 - row, 0, 0, 0, 255);
    }
    x += 1;
  };
  const cutOff = (): MediaRejectedError =>
    refuse(`${subject.name}'s ${compressionName(header.compression)} data ends in row ${count(row + 1)} of ${count(height)}, before its end-of-bitmap marker: the file is cut off`);
  let at = start;
  for (;;) {
    if (at + 2 > end) {
      if (row >= height) return; // every row decoded; only the end-of-bitmap marker is missing
      throw cutOff();
    }
    const first = bytes[at]!;
    const second = bytes[at + 1]!;
    at += 2;
    if (first > 0) {
      // A run: `first` pixels of one index (RLE8), or of two indexes taking turns (RLE4).
      for (let pixel = 0; pixel < first; pixel += 1) put(fourBit ? (pixel % 2 === 0 ? second >> 4 : second & 0x0f) : second);
    } else if (second === 0) {
      x = 0;
      row += 1;
    } else if (second === 1) {
      return;
    } else if (second === 2) {
      if (at + 2 > end) throw cutOff();
      x += bytes[at]!;
      row += bytes[at + 1]!;
      at += 2;
    } else {
      // Absolute mode: `second` literal indexes, padded to an even number of bytes.
      const literalBytes = fourBit ? Math.ceil(second / 2) : second;
      if (at + literalBytes > end) throw cutOff();
      for (let pixel = 0; pixel < second; pixel += 1) {
        put(fourBit ? (pixel % 2 === 0 ? bytes[at + (pixel >> 1)]! >> 4 : bytes[at + (pixel >> 1)]! & 0x0f) : bytes[at + pixel]!);
      }
      at += literalBytes + (literalBytes % 2);
    }
  }
}
