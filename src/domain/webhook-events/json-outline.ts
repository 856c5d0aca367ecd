/**
 * Where each entry of a webhook body, and each item of its event lists, sits in the body's text, and how deeply it
 * nests: so that every event keeps its exact bytes as Meta signed them, and an item nested too deep to read is
 * recognised without recursing into it. The text must already be valid JSON (JSON.parse accepted it): this only
 * finds boundaries. Iterative below the few levels it names, so any depth is safe.
 */
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../json-bytes';

/** A JSON value in its text: `text.slice(start, end)`, nesting `depth` arrays or objects deep (0 for a scalar). */
export interface JsonSlice {
  start: number;
  end: number;
  depth: number;
}

export type EventListName = 'messaging' | 'standby' | 'changes';

export interface EntrySlices {
  entry: JsonSlice;
  /** The items of each event list the entry has as an array. */
  lists: Partial<Record<EventListName, JsonSlice[]>>;
}

const EVENT_LISTS: ReadonlySet<string> = new Set<EventListName>(['messaging', 'standby', 'changes']);

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

function skipWhitespace(text: string, at: number): number {
  let i = at;
  while (isWhitespace(text.charCodeAt(i))) i += 1;
  return i;
}

function unexpectedEnd(): Error {
  return new Error('the JSON text ends inside a value');
}

/** The index after the closing quote of the string that opens at `open`. */
function endOfString(text: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const close = text.indexOf('"', from);
    if (close < 0) throw unexpectedEnd();
    let backslashes = 0;
    while (text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return close + 1;
    from = close + 1;
  }
}

/** Any value, skipped without building it: where it ends and how deep it nests. */
export function skipValue(text: string, start: number): JsonSlice {
  let i = start;
  let depth = 0;
  let deepest = 0;
  do {
    if (i >= text.length) throw unexpectedEnd();
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      i = endOfString(text, i);
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth += 1;
      deepest = Math.max(deepest, depth);
      i += 1;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
      i += 1;
    } else if (depth === 0) {
      // A number, true, false or null on its own.
      while (i < text.length && !isWhitespace(text.charCodeAt(i)) && text.charCodeAt(i) !== COMMA && text.charCodeAt(i) !== CLOSE_BRACE && text.charCodeAt(i) !== CLOSE_BRACKET) i += 1;
    } else {
      i += 1;
    }
  } while (depth > 0);
  return { start, end: i, depth: deepest };
}

/** Calls `visit` with each key and the position of its value; `visit` answers where the value ends. */
function forEachMember(text: string, open: number, visit: (key: string, valueAt: number) => number): number {
  let i = skipWhitespace(text, open + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return i + 1;
  for (;;) {
    const keyEnd = endOfString(text, i);
    const quoted = text.slice(i, keyEnd);
    const key = quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
    // After the key: optional whitespace, the colon, optional whitespace.
    i = visit(key, skipWhitespace(text, skipWhitespace(text, keyEnd) + 1));
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) === CLOSE_BRACE) return i + 1;
    i = skipWhitespace(text, i + 1);
  }
}

/** The slices of the items of the array that opens at `open`. */
function itemsOf(text: string, open: number): { items: JsonSlice[]; end: number; depth: number } {
  const items: JsonSlice[] = [];
  let i = skipWhitespace(text, open + 1);
  let deepest = 0;
  if (text.charCodeAt(i) === CLOSE_BRACKET) return { items, end: i + 1, depth: 1 };
  for (;;) {
    const item = skipValue(text, i);
    items.push(item);
    deepest = Math.max(deepest, item.depth);
    i = skipWhitespace(text, item.end);
    if (text.charCodeAt(i) === CLOSE_BRACKET) return { items, end: i + 1, depth: deepest + 1 };
    i = skipWhitespace(text, i + 1);
  }
}

/** One entry: its own slice and, for each event list that is an array, the slices of its items. */
function entrySlices(text: string, start: number): EntrySlices {
  if (text.charCodeAt(start) !== OPEN_BRACE) return { entry: skipValue(text, start), lists: {} };
  const lists: EntrySlices['lists'] = {};
  let deepest = 0;
  const end = forEachMember(text, start, (key, at) => {
    if (EVENT_LISTS.has(key) && text.charCodeAt(at) === OPEN_BRACKET) {
      const list = itemsOf(text, at);
      // A repeated key: the last one counts, as for JSON.parse.
      lists[key as EventListName] = list.items;
      deepest = Math.max(deepest, list.depth);
      return list.end;
    }
    if (EVENT_LISTS.has(key)) delete lists[key as EventListName];
    const value = skipValue(text, at);
    deepest = Math.max(deepest, value.depth);
    return value.end;
  });
  return { entry: { start, end, depth: deepest + 1 }, lists };
}

/**
 * The entries of a body whose top level is an object with an `entry` array, in order; an empty list for any other
 * body (the caller has found its envelope wrong already).
 */
export function locateEntries(text: string): EntrySlices[] {
  const root = skipWhitespace(text, 0);
  if (text.charCodeAt(root) !== OPEN_BRACE) return [];
  let entries: EntrySlices[] = [];
  forEachMember(text, root, (key, at) => {
    if (key !== 'entry' || text.charCodeAt(at) !== OPEN_BRACKET) {
      if (key === 'entry') entries = [];
      return skipValue(text, at).end;
    }
    entries = [];
    let i = skipWhitespace(text, at + 1);
    if (text.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
    for (;;) {
      const slices = entrySlices(text, i);
      entries.push(slices);
      i = skipWhitespace(text, slices.entry.end);
      if (text.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
      i = skipWhitespace(text, i + 1);
    }
  });
  return entries;
}

/** How deep a JSON text nests, without parsing it (any depth is safe). */
export function depthOf(text: string): number {
  return skipValue(text, skipWhitespace(text, 0)).depth;
}
