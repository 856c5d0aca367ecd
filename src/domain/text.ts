/** Instagram's 1,000-byte text limit, and splitting long text to fit; no Node built-ins, so workflow code may use it. */

/** META-API 2.3 says "1,000 bytes or less" and, looser, "less than 1000 characters": the bytes are enforced. */
export const MAX_TEXT_BYTES = 1000;

/** The largest UTF-8 encoding of one code point: any limit below this could not hold every character. */
const MIN_SPLIT_LIMIT = 4;

function codePointBytes(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

/** Bytes `text` takes as UTF-8. A lone surrogate counts as 3 bytes, as the replacement character it becomes. */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (const char of text) bytes += codePointBytes(char.codePointAt(0) ?? 0);
  return bytes;
}

export function exceedsTextLimit(text: string, limit = MAX_TEXT_BYTES): boolean {
  return utf8ByteLength(text) > limit;
}

/** A URL is one word for splitting: a part that ends inside it would send the customer a broken link. */
const URL_PATTERN = /https?:\/\/\S+/giu;
/** Whitespace a line may break after: not the no-break spaces, which writers put where words must stay together. */
const BREAKABLE_WHITESPACE = /^[^\S\u00a0\u2007\u202f]+$/u;

// A fixed locale, so the parts do not depend on the machine's default language (its word rules are Unicode's).
const graphemeSegmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
const wordSegmenter = new Intl.Segmenter('en', { granularity: 'word' });

/** A place where `text` may be cut: a code unit index, the UTF-8 bytes before it, and how good a cut it makes. */
interface CutPoint {
  index: number;
  bytesBefore: number;
  afterWhitespace: boolean;
  atWordBoundary: boolean;
}

/**
 * Splits `text` into parts of at most `limit` UTF-8 bytes, in order; joining them gives back `text` exactly.
 * Cuts fall only between grapheme clusters (never inside an emoji sequence, a flag, a syllable or a combining
 * sequence), preferably after whitespace, else at a word boundary, and never inside a URL unless the URL alone
 * is longer than `limit`. Whitespace at a cut stays at the end of the earlier part when it fits.
 * A text within the limit is one part; no part is empty (so the empty text has no parts).
 * The one exception to grapheme cuts: a single cluster longer than `limit` (only pathological stacks of
 * combining marks get there) is cut between code points, because the byte limit is Instagram's hard rule.
 */
export function splitText(text: string, limit = MAX_TEXT_BYTES): string[] {
  if (!Number.isInteger(limit) || limit < MIN_SPLIT_LIMIT) {
    throw new RangeError(`limit must be an integer of at least ${MIN_SPLIT_LIMIT} bytes`);
  }
  if (text === '') return [];
  if (utf8ByteLength(text) <= limit) return [text];

  const cutPoints = findCutPoints(text, limit);
  const parts: string[] = [];
  let start = 0; // index into cutPoints where the current part begins
  const last = cutPoints.length - 1;
  while (cutPoints[last]!.bytesBefore - cutPoints[start]!.bytesBefore > limit) {
    let furthest = start;
    while (cutPoints[furthest + 1]!.bytesBefore - cutPoints[start]!.bytesBefore <= limit) furthest += 1;
    const cut = chooseCut(cutPoints, start, furthest, limit);
    parts.push(text.slice(cutPoints[start]!.index, cutPoints[cut]!.index));
    start = cut;
  }
  parts.push(text.slice(cutPoints[start]!.index));
  return parts;
}

/**
 * The best cut in (start, furthest]. A cut after whitespace wins when it keeps the part at least half full
 * (otherwise text without spaces, such as Japanese, would come out in slivers); then any word boundary; then
 * the furthest grapheme boundary, which is where a word longer than the limit has to be cut.
 */
function chooseCut(cutPoints: readonly CutPoint[], start: number, furthest: number, limit: number): number {
  const halfFull = cutPoints[start]!.bytesBefore + limit / 2;
  for (let candidate = furthest; candidate > start && cutPoints[candidate]!.bytesBefore >= halfFull; candidate -= 1) {
    if (cutPoints[candidate]!.afterWhitespace) return candidate;
  }
  for (let candidate = furthest; candidate > start; candidate -= 1) {
    if (cutPoints[candidate]!.atWordBoundary) return candidate;
  }
  return furthest;
}

/** Every grapheme boundary of `text` (including 0 and text.length), each marked with the cut it would make. */
function findCutPoints(text: string, limit: number): CutPoint[] {
  const urlRanges = [...text.matchAll(URL_PATTERN)].map((match) => ({ start: match.index, end: match.index + match[0].length }));
  const wordBoundaries = new Set<number>();
  let url = 0; // both come in text order, so one pass over the URLs serves every boundary
  // Dictionary-based word breaking (Thai, CJK) may see a word differently across a window edge: that only moves
  // a preferred cut, never the grapheme boundaries every cut is taken from.
  for (const { index } of segmentInWindows(wordSegmenter, text, 2)) {
    while (url < urlRanges.length && urlRanges[url]!.end <= index) url += 1;
    const range = urlRanges[url];
    if (range === undefined || index <= range.start) wordBoundaries.add(index);
  }
  wordBoundaries.add(text.length);

  const cutPoints: CutPoint[] = [{ index: 0, bytesBefore: 0, afterWhitespace: false, atWordBoundary: true }];
  let bytesBefore = 0;
  for (const { segment, index } of segmentInWindows(graphemeSegmenter, text, 1)) {
    const segmentBytes = utf8ByteLength(segment);
    if (segmentBytes > limit) {
      // Only reachable by a cluster longer than any real character: cut it between code points.
      for (const piece of splitCodePoints(segment, limit)) {
        bytesBefore += utf8ByteLength(piece);
        cutPoints.push({ index: cutPoints[cutPoints.length - 1]!.index + piece.length, bytesBefore, afterWhitespace: false, atWordBoundary: false });
      }
      continue;
    }
    bytesBefore += segmentBytes;
    const end = index + segment.length;
    cutPoints.push({ index: end, bytesBefore, afterWhitespace: BREAKABLE_WHITESPACE.test(segment), atWordBoundary: wordBoundaries.has(end) });
  }
  return cutPoints;
}

/** Code units segmented at a time: measured fastest around here (each step costs more in a longer slice). */
const SEGMENT_WINDOW = 256;

/**
 * `segmenter.segment(text)`, window by window. V8's segment iterator gets slower the longer the whole string is
 * (a 40,000-character text took a second to walk grapheme by grapheme), so it is walked over short slices.
 * A slice's last segments may continue past its end, so the next window starts where the last
 * `segmentsToRedo` begin. Windows start only at segment boundaries, and Unicode's grapheme rules look back no
 * further than the cluster they are in, so every boundary found this way is one of the whole text.
 */
function segmentInWindows(segmenter: Intl.Segmenter, text: string, segmentsToRedo: number): Array<{ segment: string; index: number }> {
  const segments: Array<{ segment: string; index: number }> = [];
  let windowStart = 0;
  let windowSize = SEGMENT_WINDOW;
  for (;;) {
    const windowEnd = Math.min(text.length, windowStart + windowSize);
    const found = [...segmenter.segment(text.slice(windowStart, windowEnd))];
    if (windowEnd === text.length) {
      for (const { segment, index } of found) segments.push({ segment, index: windowStart + index });
      return segments;
    }
    if (found.length <= segmentsToRedo) {
      windowSize *= 2; // one segment fills the window (a very long word): look further
      continue;
    }
    const kept = found.length - segmentsToRedo;
    for (const { segment, index } of found.slice(0, kept)) segments.push({ segment, index: windowStart + index });
    windowStart += found[kept]!.index;
    windowSize = SEGMENT_WINDOW;
  }
}

function splitCodePoints(segment: string, limit: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  let pieceBytes = 0;
  for (const char of segment) {
    const size = codePointBytes(char.codePointAt(0) ?? 0);
    if (pieceBytes + size > limit) {
      pieces.push(piece);
      piece = '';
      pieceBytes = 0;
    }
    piece += char;
    pieceBytes += size;
  }
  pieces.push(piece);
  return pieces;
}
