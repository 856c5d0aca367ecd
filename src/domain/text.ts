/**
 * Instagram refuses text over 1,000 UTF-8 bytes (META-API 2.3; the "1000 characters" wording is the looser one).
 * Pure code without Buffer, so workflow code may use it too.
 */
export const MAX_TEXT_BYTES = 1000;

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

/**
 * Splits `text` into parts of at most `limit` UTF-8 bytes, in order, never inside a code point, and preferring to
 * cut after whitespace so words stay whole. Concatenating the parts gives back `text` exactly.
 */
export function splitTextByBytes(text: string, limit = MAX_TEXT_BYTES): string[] {
  if (!Number.isInteger(limit) || limit < 4) throw new RangeError('limit must be an integer of at least 4 bytes');
  const parts: string[] = [];
  let current = '';
  let currentBytes = 0;
  let lastBreak = -1; // index in `current` just after the latest whitespace
  let bytesAtBreak = 0;
  for (const char of text) {
    const size = codePointBytes(char.codePointAt(0) ?? 0);
    if (currentBytes + size > limit) {
      if (lastBreak > 0 && lastBreak < current.length) {
        parts.push(current.slice(0, lastBreak));
        current = current.slice(lastBreak);
        currentBytes -= bytesAtBreak;
      } else {
        parts.push(current);
        current = '';
        currentBytes = 0;
      }
      lastBreak = -1;
      bytesAtBreak = 0;
    }
    current += char;
    currentBytes += size;
    if (/\s/u.test(char)) {
      lastBreak = current.length;
      bytesAtBreak = currentBytes;
    }
  }
  if (current.length > 0 || parts.length === 0) parts.push(current);
  return parts;
}
