/** ICO files: the icon directory, and the largest image in it (an embedded PNG, or a bitmap with its AND mask). */
import { RgbaScanlines } from './pixels';
import { ICO_FILE, type Subject, checkDimensions, count, dataView, icoImage, refuse, requireBytes } from './bytes';
import { CORE_HEADER_SIZE, checkPixelFormat, decodeUncompressedPixels, dibRowBytes, readDibHeader, readPalette } from './dib';
import { PNG_SIGNATURE, encodePng } from './png';

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
export function iconAsPng(bytes: Uint8Array): Uint8Array {
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
