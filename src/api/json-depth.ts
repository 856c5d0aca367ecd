/**
 * How deeply a JSON body nests, judged on its bytes before anything parses or walks it: a body of a few kilobytes
 * can nest thousands of levels deep, and recursive code over it (key escaping, hashing, logging) overflows the
 * stack. One pass, no recursion; the body need not be valid JSON.
 */
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../domain/json-bytes';
import { HttpError } from './errors';

/** Far deeper than any body of this API (three levels) or any delivery of Meta's (about ten). */
export const MAX_JSON_DEPTH = 64;


/** Whether more than `maxDepth` objects and arrays are open at once somewhere in `bytes` (UTF-8 JSON). */
export function jsonNestsDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const byte of bytes) {
    if (inString) {
      if (escaped) escaped = false;
      else if (byte === BACKSLASH) escaped = true;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
  return false;
}

/** Refuses (400, naming the limit) a body that nests deeper than the limit. */
export function assertJsonDepth(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): void {
  if (jsonNestsDeeperThan(bytes, maxDepth)) throw new HttpError(400, 'JsonTooDeep', `the JSON body nests objects and arrays more than ${maxDepth} levels deep`);
}
