/** What a file really is by its first bytes (headers and names can lie), and Instagram's image limits (META-API 2.3, SPEC C3). */

export type ImageKind = 'jpeg' | 'png' | 'ico' | 'bmp' | 'gif' | 'webp' | 'heic' | 'avif' | 'tiff' | 'svg';
export type SendableImageKind = 'jpeg' | 'png' | 'ico' | 'bmp';
export type VideoKind = 'mp4' | 'mov' | 'webm' | 'mkv' | 'avi' | 'ogg';
export type AudioKind = 'mp3' | 'aac' | 'm4a' | 'wav' | 'flac' | 'ogg';
export type OtherFileKind = 'pdf' | 'html' | 'xml' | 'zip' | 'gzip';

/** A file recognised by its signature. Only images matter for sending; the rest is named so a refusal can say what it got. */
export type SniffedFile =
  | { category: 'image'; kind: ImageKind }
  | { category: 'video'; kind: VideoKind }
  | { category: 'audio'; kind: AudioKind }
  | { category: 'other'; kind: OtherFileKind };

export const SENDABLE_IMAGE_KINDS: readonly ImageKind[] = ['jpeg', 'png', 'ico', 'bmp'];

/** "8MB" read the stricter way (decimal megabytes), so nothing we accept is refused by Meta. */
export const MAX_IMAGE_BYTES = 8_000_000;

/** The Content-Type an image of each sendable kind is stored and served with. */
export const IMAGE_CONTENT_TYPES: Readonly<Record<SendableImageKind, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
};

const KIND_LABELS: Readonly<Record<ImageKind | VideoKind | AudioKind | OtherFileKind, string>> = {
  jpeg: 'JPG',
  png: 'PNG',
  ico: 'ICO',
  bmp: 'BMP',
  gif: 'GIF',
  webp: 'WebP',
  heic: 'HEIC',
  avif: 'AVIF',
  tiff: 'TIFF',
  svg: 'SVG',
  mp4: 'MP4',
  mov: 'MOV',
  webm: 'WebM',
  mkv: 'MKV',
  avi: 'AVI',
  ogg: 'OGG',
  mp3: 'MP3',
  aac: 'AAC',
  m4a: 'M4A',
  wav: 'WAV',
  flac: 'FLAC',
  pdf: 'PDF',
  html: 'HTML',
  xml: 'XML',
  zip: 'ZIP',
  gzip: 'GZIP',
};

/** The name people know a kind by, for messages: "JPG", "WebP", "MP4". */
export function describeFileKind(kind: SniffedFile['kind']): string {
  return KIND_LABELS[kind];
}

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((value, index) => bytes[offset + index] === value);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, Math.min(end, bytes.length)));
}

function startsWithText(bytes: Uint8Array, text: string, offset = 0): boolean {
  return ascii(bytes, offset, offset + text.length) === text;
}

/** The image kind of `bytes`, or undefined when they are not an image (or nothing known). */
export function sniffImageKind(bytes: Uint8Array): ImageKind | undefined {
  const sniffed = sniffFileKind(bytes);
  return sniffed?.category === 'image' ? sniffed.kind : undefined;
}

export function isSendableImageKind(kind: ImageKind | undefined): kind is SendableImageKind {
  return kind !== undefined && SENDABLE_IMAGE_KINDS.includes(kind);
}

/** What `bytes` are by their signature, or undefined when no known signature matches. */
export function sniffFileKind(bytes: Uint8Array): SniffedFile | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { category: 'image', kind: 'jpeg' };
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { category: 'image', kind: 'png' };
  if (startsWithText(bytes, 'GIF8')) return { category: 'image', kind: 'gif' };
  // ICO: reserved 0, type 1 (icon), then a non-zero image count.
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00]) && bytes.length >= 6 && (bytes[4] !== 0 || bytes[5] !== 0)) return { category: 'image', kind: 'ico' };
  if (startsWithText(bytes, 'BM') && bytes.length >= 14) return { category: 'image', kind: 'bmp' };
  if (startsWithText(bytes, 'II*\0') || startsWithText(bytes, 'MM\0*')) return { category: 'image', kind: 'tiff' };
  if (startsWithText(bytes, 'RIFF')) return sniffRiff(bytes);
  if (startsWithText(bytes, 'ftyp', 4)) return sniffIsoMedia(bytes);
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    // Matroska and WebM share the EBML header; its DocType says which.
    return { category: 'video', kind: ascii(bytes, 0, 64).includes('webm') ? 'webm' : 'mkv' };
  }
  if (startsWithText(bytes, 'OggS')) {
    // An Ogg stream's first page names its codec; only Vorbis, Opus, FLAC and Speex make it plain audio.
    const head = ascii(bytes, 0, 64);
    const audio = ['vorbis', 'OpusHead', 'FLAC', 'Speex'].some((codec) => head.includes(codec));
    return audio ? { category: 'audio', kind: 'ogg' } : { category: 'video', kind: 'ogg' };
  }
  if (startsWithText(bytes, 'ID3') || startsWith(bytes, [0xff, 0xfb]) || startsWith(bytes, [0xff, 0xf3]) || startsWith(bytes, [0xff, 0xf2])) {
    return { category: 'audio', kind: 'mp3' };
  }
  if (startsWith(bytes, [0xff, 0xf1]) || startsWith(bytes, [0xff, 0xf9])) return { category: 'audio', kind: 'aac' };
  if (startsWithText(bytes, 'fLaC')) return { category: 'audio', kind: 'flac' };
  if (startsWithText(bytes, '%PDF')) return { category: 'other', kind: 'pdf' };
  if (startsWithText(bytes, 'PK\x03\x04')) return { category: 'other', kind: 'zip' };
  if (startsWith(bytes, [0x1f, 0x8b])) return { category: 'other', kind: 'gzip' };
  return sniffMarkup(bytes);
}

function sniffRiff(bytes: Uint8Array): SniffedFile | undefined {
  const form = ascii(bytes, 8, 12);
  if (form === 'WEBP') return { category: 'image', kind: 'webp' };
  if (form === 'AVI ') return { category: 'video', kind: 'avi' };
  if (form === 'WAVE') return { category: 'audio', kind: 'wav' };
  return undefined;
}

/** ISO base media files (MP4, MOV, M4A, HEIC, AVIF) all start with an `ftyp` box; its brands tell them apart. */
function sniffIsoMedia(bytes: Uint8Array): SniffedFile {
  const majorBrand = ascii(bytes, 8, 12);
  const boxSize = ((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  const compatibleBrands = ascii(bytes, 16, Math.min(Math.max(boxSize, 16), 256));
  if (majorBrand === 'avif' || majorBrand === 'avis') return { category: 'image', kind: 'avif' };
  if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis'].includes(majorBrand)) return { category: 'image', kind: 'heic' };
  if (majorBrand === 'mif1' || majorBrand === 'msf1') {
    return { category: 'image', kind: compatibleBrands.includes('avif') ? 'avif' : 'heic' };
  }
  if (majorBrand === 'qt  ') return { category: 'video', kind: 'mov' };
  if (['M4A ', 'M4B ', 'M4P '].includes(majorBrand)) return { category: 'audio', kind: 'm4a' };
  return { category: 'video', kind: 'mp4' };
}

/** HTML, SVG and other XML, after an optional byte order mark and leading whitespace. */
function sniffMarkup(bytes: Uint8Array): SniffedFile | undefined {
  const head = ascii(bytes, 0, 512)
    .replace(/^\u00ef\u00bb\u00bf/, '')
    .trimStart()
    .toLowerCase();
  if (['<!doctype html', '<html', '<head', '<body', '<script', '<!--'].some((tag) => head.startsWith(tag))) return { category: 'other', kind: 'html' };
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return { category: 'image', kind: 'svg' };
  if (head.startsWith('<?xml')) return { category: 'other', kind: 'xml' };
  return undefined;
}
