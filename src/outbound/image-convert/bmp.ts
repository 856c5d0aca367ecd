/** BMP files: the file header, then a device-independent bitmap. */
import { RgbaScanlines } from './pixels';
import { BMP_FILE, checkDimensions, count, dataView, refuse, requireBytes } from './bytes';
import { BI_RLE4, BI_RLE8, type DibHeader, checkPixelFormat, compressionName, decodeRlePixels, decodeUncompressedPixels, dibRowBytes, readDibHeader, readPalette } from './dib';

const BMP_FILE_HEADER_SIZE = 14;

export function decodeBmp(bytes: Uint8Array): RgbaScanlines {
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
