/** Turns an image the product accepts (SPEC C3: JPG, PNG, ICO, BMP) into one Meta accepts (META-API 2.3: PNG or JPEG only): BMP and ICO become PNG. */
import { deflateSync } from 'node:zlib';
import { MediaRejectedError } from '../domain/errors';
import { describeFileKind, MAX_IMAGE_BYTES, type SniffedFile } from '../domain/media';

export interface SendableImage {
  bytes: Uint8Array;
  contentType: 'image/png' | 'image/jpeg';
  /** True when `bytes` are not the ones given: a BMP or ICO turned into PNG, or the PNG an ICO carried. */
  converted: boolean;
}

/** The largest side decoded. With MAX_CONVERTED_PIXELS it keeps a small file from making the engine allocate gigabytes. */
export const MAX_CONVERTED_SIDE = 8_192;
/** The largest image decoded: 4 bytes a pixel, so at most 64 MB of pixels on a small machine. */
export const MAX_CONVERTED_PIXELS = 16_777_216;

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

function refuse(message: string): MediaRejectedError {
  return new MediaRejectedError('unsupported_type', message);
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

// ---- Decoded pixels ----

/**
 * Decoded pixels, top row first, already laid out as PNG scanlines (a filter byte of 0, "None", then RGBA) so
 * encoding needs no second copy of what may be hundreds of megabytes.
 */
class RgbaScanlines {
  readonly stride: number;
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.stride = 1 + width * 4;
    this.data = new Uint8Array(this.stride * height); // zeros: filter bytes "None", pixels transparent black
  }

  /** Where pixel (0, y) starts in `data`. */
  rowStart(y: number): number {
    return y * this.stride + 1;
  }

  set(x: number, y: number, red: number, green: number, blue: number, alpha: number): void {
    const at = this.rowStart(y) + x * 4;
    this.data[at] = red;
    this.data[at + 1] = green;
    this.data[at + 2] = blue;
    this.data[at + 3] = alpha;
  }

  makeOpaque(): void {
    for (let y = 0; y < this.height; y += 1) {
      const end = this.rowStart(y) + this.width * 4;
      for (let at = this.rowStart(y) + 3; at < end; at += 4) this.data[at] = 255;
    }
  }

  isOpaque(): boolean {
    for (let y = 0; y < this.height; y += 1) {
      const end = this.rowStart(y) + this.width * 4;
      for (let at = this.rowStart(y) + 3; at < end; at += 4) if (this.data[at] !== 255) return false;
    }
    return true;
  }

  /** The same pixels as RGB scanlines, compacted in place (each byte moves to a lower or equal index, so none is overwritten before it is read). */
  toRgbScanlines(): Uint8Array {
    const rgbStride = 1 + this.width * 3;
    for (let y = 0; y < this.height; y += 1) {
      let from = this.rowStart(y);
      let to = y * rgbStride;
      this.data[to++] = 0;
      for (let x = 0; x < this.width; x += 1, from += 4, to += 3) {
        const red = this.data[from]!;
        const green = this.data[from + 1]!;
        const blue = this.data[from + 2]!;
        this.data[to] = red;
        this.data[to + 1] = green;
        this.data[to + 2] = blue;
      }
    }
    return this.data.subarray(0, rgbStride * this.height);
  }
}

// ---- PNG encoding ----

const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_COLOUR_RGB = 2;
const PNG_COLOUR_RGBA = 6;

function encodePng(image: RgbaScanlines): Uint8Array {
  const opaque = image.isOpaque();
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header[8] = 8; // bits per channel
  header[9] = opaque ? PNG_COLOUR_RGB : PNG_COLOUR_RGBA;
  // Bytes 10-12 stay 0: deflate compression, adaptive filtering (every row uses "None"), no interlacing.
  const scanlines = opaque ? image.toRgbScanlines() : image.data;
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(scanlines)), pngChunk('IEND', new Uint8Array(0))]);
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  chunk.set(data, 8);
  // The CRC covers the chunk type and data, not the length.
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

const CRC_TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte += 1) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    table[byte] = crc >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG (and zlib) define it: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---- Reading bytes safely ----

/** How refusals name what is being decoded: "the BMP is cut off: … but the file has only …". */
interface Subject {
  name: string;
  container: string;
}

const BMP_FILE: Subject = { name: 'the BMP', container: 'the file' };
const ICO_FILE: Subject = { name: 'the ICO', container: 'the file' };

function icoImage(index: number, total: number): Subject {
  return { name: `the ICO's image ${index + 1} of ${total}`, container: 'that image' };
}

/** Refuses unless `bytes` reach at least up to `end`, naming the structure (`what`) that would be read beyond them. */
function requireBytes(bytes: Uint8Array, end: number, subject: Subject, what: string): void {
  if (end > bytes.length) {
    throw refuse(`${subject.name} is cut off: ${what} would end at byte ${count(end)} but ${subject.container} has only ${count(bytes.length)} bytes`);
  }
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkDimensions(width: number, height: number, subject: Subject): void {
  if (width <= 0 || height <= 0) throw refuse(`${subject.name} says it is ${width} × ${height} pixels, which is not an image`);
  if (width > MAX_CONVERTED_SIDE || height > MAX_CONVERTED_SIDE || width * height > MAX_CONVERTED_PIXELS) {
    throw refuse(
      `${subject.name} is ${count(width)} × ${count(height)} pixels; the engine converts images of at most ` +
        `${count(MAX_CONVERTED_SIDE)} × ${count(MAX_CONVERTED_SIDE)} (${count(MAX_CONVERTED_PIXELS)} pixels)`,
    );
  }
}

// ---- Device-independent bitmaps (BMP files and the images inside ICO files) ----

const CORE_HEADER_SIZE = 12; // OS/2 BITMAPCOREHEADER
const INFO_HEADER_SIZE = 40; // BITMAPINFOHEADER
/** BITMAPINFOHEADER and its successors: V2 and V3 (Adobe, with masks in the header), V4, V5. */
const INFO_HEADER_SIZES: readonly number[] = [INFO_HEADER_SIZE, 52, 56, 108, 124];

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
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

interface DibHeader {
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

function compressionName(compression: number): string {
  return COMPRESSION_NAMES[compression] ?? `number ${compression}`;
}

function readDibHeader(bytes: Uint8Array, start: number, subject: Subject): DibHeader {
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

function channel(mask: number, name: string, subject: Subject): Channel {
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
function checkPixelFormat(header: DibHeader, subject: Subject, allowRle: boolean): void {
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
function dibRowBytes(width: number, bitsPerPixel: number): number {
  return Math.ceil((width * bitsPerPixel) / 32) * 4;
}

/** The colour table as RGB triples: `entries` of them (at most 2^bitsPerPixel are ever used). */
function readPalette(bytes: Uint8Array, header: DibHeader, entries: number): Uint8Array {
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
function decodeUncompressedPixels(bytes: Uint8Array, pixelStart: number, header: DibHeader, palette: Uint8Array, image: RgbaScanlines): AlphaUse {
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
function decodeRlePixels(bytes: Uint8Array, start: number, end: number, header: DibHeader, palette: Uint8Array, image: RgbaScanlines, subject: Subject): void {
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

// ---- BMP ----

const BMP_FILE_HEADER_SIZE = 14;

function decodeBmp(bytes: Uint8Array): RgbaScanlines {
  requireBytes(bytes, BMP_FILE_HEADER_SIZE, BMP_FILE, 'the 14-byte file header');
  if (bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw refuse('the file is not a BMP: it does not start with "BM"');
  const pixelOffset = dataView(bytes).getUint32(10, true);
  const header = readDibHeader(bytes, BMP_FILE_HEADER_SIZE, BMP_FILE);
  checkDimensions(header.width, header.storedHeight, BMP_FILE);
  checkPixelFormat(header, BMP_FILE, true);
  const rle = header.compression === BI_RLE8 || header.compression === BI_RLE4;
  if (rle && header.topDown) throw refuse(`the BMP is top-down (negative height) and ${compressionName(header.compression)}-compressed, which is not a valid bitmap`);
  if (pixelOffset >= bytes.length) {
    throw refuse(`the BMP says its pixels start at byte ${count(pixelOffset)}, beyond the end of the file (${count(bytes.length)} bytes)`);
  }
  const palette = header.bitsPerPixel <= 8 ? readBmpPalette(bytes, header, pixelOffset) : new Uint8Array(0);

  if (rle) {
    const end = header.imageDataSize === 0 ? bytes.length : pixelOffset + header.imageDataSize;
    requireBytes(bytes, end, BMP_FILE, `the ${count(header.imageDataSize)} bytes of compressed pixels from byte ${count(pixelOffset)}`);
    const image = new RgbaScanlines(header.width, header.storedHeight);
    decodeRlePixels(bytes, pixelOffset, end, header, palette, image, BMP_FILE);
    return image;
  }
  const pixelBytes = dibRowBytes(header.width, header.bitsPerPixel) * header.storedHeight;
  requireBytes(bytes, pixelOffset + pixelBytes, BMP_FILE, `the ${count(pixelBytes)} bytes of pixels from byte ${count(pixelOffset)}`);
  const image = new RgbaScanlines(header.width, header.storedHeight);
  const alpha = decodeUncompressedPixels(bytes, pixelOffset, header, palette, image);
  if (alpha === 'all-zero') image.makeOpaque();
  return image;
}

/** A BMP's colour table: the entries declared, but only as many as fit before the pixels (writers overstate it). */
function readBmpPalette(bytes: Uint8Array, header: DibHeader, pixelOffset: number): Uint8Array {
  const possible = 1 << header.bitsPerPixel;
  const declared = header.declaredPaletteEntries === 0 ? possible : Math.min(header.declaredPaletteEntries, possible);
  const room = Math.floor(Math.max(0, Math.min(pixelOffset, bytes.length) - header.paletteStart) / header.paletteEntrySize);
  const entries = Math.min(declared, room);
  if (entries === 0) throw refuse(`the BMP has ${header.bitsPerPixel} bits per pixel but no colour table before its pixels (at byte ${count(pixelOffset)})`);
  return readPalette(bytes, header, entries);
}

// ---- ICO ----

const ICON_DIRECTORY_SIZE = 6;
const ICON_ENTRY_SIZE = 16;
const PNG_IHDR_END = 33; // signature, IHDR length and type, 13 bytes of IHDR data, CRC

interface IconEntry {
  index: number;
  bytes: Uint8Array;
  isPng: boolean;
  /** From the image's own header where it has one: the directory cannot say more than 256. */
  width: number;
  height: number;
  bitsPerPixel: number;
}

/** The ICO's largest image as PNG: the embedded PNG itself, or its bitmap converted. */
function iconAsPng(bytes: Uint8Array): Uint8Array {
  const entries = readIconDirectory(bytes);
  const largest = entries.reduce((best, entry) => {
    const area = entry.width * entry.height;
    const bestArea = best.width * best.height;
    return area > bestArea || (area === bestArea && entry.bitsPerPixel > best.bitsPerPixel) ? entry : best;
  });
  const subject = icoImage(largest.index, entries.length);
  // A copy, so the result does not keep the whole ICO alive.
  if (largest.isPng) return largest.bytes.slice();
  return encodePng(decodeIconBitmap(largest.bytes, subject));
}

function readIconDirectory(bytes: Uint8Array): IconEntry[] {
  requireBytes(bytes, ICON_DIRECTORY_SIZE, ICO_FILE, 'the 6-byte icon directory header');
  const view = dataView(bytes);
  const reserved = view.getUint16(0, true);
  const type = view.getUint16(2, true);
  if (reserved !== 0 || (type !== 1 && type !== 2)) {
    const firstBytes = Array.from(bytes.subarray(0, 4), (byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(' ');
    throw refuse(`the file is not an ICO: it starts with ${firstBytes}, not 00 00 01 00`);
  }
  const total = view.getUint16(4, true);
  if (total === 0) throw refuse('the ICO holds no images');
  requireBytes(bytes, ICON_DIRECTORY_SIZE + total * ICON_ENTRY_SIZE, ICO_FILE, `the directory of ${total} image${total === 1 ? '' : 's'}`);
  return Array.from({ length: total }, (_, index) => {
    const at = ICON_DIRECTORY_SIZE + index * ICON_ENTRY_SIZE;
    const size = view.getUint32(at + 8, true);
    const offset = view.getUint32(at + 12, true);
    const name = icoImage(index, total).name;
    if (size === 0) throw refuse(`${name} is empty (0 bytes)`);
    if (offset >= bytes.length) throw refuse(`${name} starts at byte ${count(offset)}, beyond the end of the file (${count(bytes.length)} bytes)`);
    if (offset + size > bytes.length) {
      throw refuse(`${name} is cut off: it spans bytes ${count(offset)} to ${count(offset + size)} but the file has only ${count(bytes.length)} bytes`);
    }
    const image = bytes.subarray(offset, offset + size);
    return describeIconImage(index, image, {
      width: bytes[at] || 256, // 0 in the directory means 256
      height: bytes[at + 1] || 256,
      bitsPerPixel: view.getUint16(at + 6, true),
    });
  });
}

function describeIconImage(index: number, image: Uint8Array, directory: { width: number; height: number; bitsPerPixel: number }): IconEntry {
  const view = dataView(image);
  if (PNG_SIGNATURE.every((byte, at) => image[at] === byte)) {
    if (image.length < PNG_IHDR_END) return { index, bytes: image, isPng: true, ...directory };
    const channels: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
    const bitsPerPixel = image[24]! * (channels[image[25]!] ?? 1);
    return { index, bytes: image, isPng: true, width: view.getUint32(16), height: view.getUint32(20), bitsPerPixel };
  }
  // A header too short to read is ranked by the directory; it is refused if it turns out to be the one chosen.
  if (image.length >= 4 && view.getUint32(0, true) === CORE_HEADER_SIZE && image.length >= CORE_HEADER_SIZE) {
    return { index, bytes: image, isPng: false, width: view.getUint16(4, true), height: Math.floor(view.getUint16(6, true) / 2), bitsPerPixel: view.getUint16(10, true) };
  }
  if (image.length >= 16) {
    return {
      index,
      bytes: image,
      isPng: false,
      width: view.getInt32(4, true),
      height: Math.floor(Math.abs(view.getInt32(8, true)) / 2),
      bitsPerPixel: view.getUint16(14, true),
    };
  }
  return { index, bytes: image, isPng: false, ...directory };
}

/**
 * An icon's bitmap: a BMP without its file header, whose height counts the colour rows and then as many rows of
 * 1-bit AND mask (1 = transparent). The mask gives the transparency unless 32-bit pixels carry a real alpha channel.
 */
function decodeIconBitmap(bytes: Uint8Array, subject: Subject): RgbaScanlines {
  const header = readDibHeader(bytes, 0, subject);
  const height = Math.floor(header.storedHeight / 2);
  checkDimensions(header.width, height, subject);
  checkPixelFormat(header, subject, false);
  const { width, bitsPerPixel } = header;
  // The colours follow a colour table of exactly the declared size (no file header says where they start).
  const paletteEntries = bitsPerPixel <= 8 ? header.declaredPaletteEntries || 1 << bitsPerPixel : 0;
  const pixelStart = header.paletteStart + paletteEntries * header.paletteEntrySize;
  requireBytes(bytes, pixelStart, subject, `the colour table of ${count(paletteEntries)} entries`);
  const palette = readPalette(bytes, header, Math.min(paletteEntries, bitsPerPixel <= 8 ? 1 << bitsPerPixel : 0));
  const colourBytes = dibRowBytes(width, bitsPerPixel) * height;
  requireBytes(bytes, pixelStart + colourBytes, subject, `the ${count(colourBytes)} bytes of pixels from byte ${count(pixelStart)}`);

  const image = new RgbaScanlines(width, height);
  const alpha = decodeUncompressedPixels(bytes, pixelStart, header, palette, image);
  if (alpha === 'used') return image;
  const maskStart = pixelStart + colourBytes;
  const maskRowBytes = dibRowBytes(width, 1);
  requireBytes(bytes, maskStart + maskRowBytes * height, subject, `the transparency mask from byte ${count(maskStart)}`);
  if (alpha === 'all-zero') image.makeOpaque();
  for (let row = 0; row < height; row += 1) {
    const y = header.topDown ? row : height - 1 - row;
    const rowAt = maskStart + row * maskRowBytes;
    for (let x = 0; x < width; x += 1) {
      // Mask 1 over coloured pixels would invert the screen behind them; a PNG can only make them transparent.
      if ((bytes[rowAt + (x >> 3)]! >> (7 - (x & 7))) & 1) image.set(x, y, 0, 0, 0, 0);
    }
  }
  return image;
}
