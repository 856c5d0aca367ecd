/**
 * Values Meta writes in more than one way, read faithfully: times (documented as ms since the epoch, also seen as
 * seconds, strings of digits and date strings) and an edit's number. What was odd about a time read anyway is said
 * in words, with the value as sent, so it can be kept on the event.
 */

/**
 * Below this, a number cannot be Meta's milliseconds (it would be before March 1973) and is read as seconds: as
 * seconds it reaches the year 5138.
 */
const SECONDS_BELOW = 1e11;

/** A time Meta sent, in ms, and how it was written when it was not the documented ms number. */
export interface MetaTime {
  ms: number;
  /** null for ms since the epoch, as documented (META-API 1.3). */
  readAs: 'seconds' | 'a date string' | 'a string of digits' | null;
}

/**
 * Reads one of Meta's times faithfully: ms since the epoch as documented, seconds (recognised by magnitude), a
 * string of digits, or an ISO 8601 date. Anything else is null: the caller falls back and says so.
 */
export function readMetaTime(value: unknown): MetaTime | null {
  if (typeof value === 'number') return fromNumber(value, null);
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return fromNumber(Number(text), 'a string of digits');
  // A date first: Date.parse alone would also read "1" or "May" as dates.
  if (!/^\d{4}-\d{2}-\d{2}([T ]|$)/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) && ms >= 0 ? { ms, readAs: 'a date string' } : null;
}

function fromNumber(value: number, readAs: MetaTime['readAs']): MetaTime | null {
  if (!Number.isFinite(value) || value < 0) return null;
  if (value < SECONDS_BELOW) return { ms: Math.round(value * 1000), readAs: 'seconds' };
  return { ms: Math.round(value), readAs };
}

/** Instagram began in October 2010: no event of it happened before. */
const EARLIEST_EVENT_MS = Date.UTC(2010, 9, 1);
/**
 * How far a time may lie ahead of its receipt. Clocks drift and the emulator's clock runs days ahead in tests; a year
 * covers both, and still refuses a time that would keep a conversation's window open for ever.
 */
const LATEST_AHEAD_OF_RECEIPT_MS = 366 * 24 * 60 * 60 * 1000;

/** One of Meta's times on an event, read and judged. */
export interface EventTime {
  /** The time to use (ms), or null when the value is missing, unreadable or out of range: the caller falls back. */
  ms: number | null;
  /** The value read as ms even when out of range: the same for every delivery, so it may name the event. */
  readMs: number | null;
  /** What was odd about the value, in words, with the value as sent; null when it is as documented. */
  note: string | null;
}

/** A value as sent, short enough for a note: long strings cut, arrays and objects named, never walked. */
function shown(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw.length > 64 ? `${raw.slice(0, 64)}…` : raw);
  if (typeof raw === 'number') return Object.is(raw, -0) ? '-0' : String(raw);
  if (Array.isArray(raw)) return 'an array';
  return raw !== null && typeof raw === 'object' ? 'an object' : String(raw);
}

function isoOrNot(ms: number): string {
  return Number.isFinite(new Date(ms).getTime()) ? new Date(ms).toISOString() : 'not a date';
}

/**
 * Reads one of Meta's times (`readMetaTime`) and keeps it only within a sane range: after Instagram began and not
 * far ahead of its receipt. 0, -0 or 9e15 would otherwise date a message 1970 or not at all.
 */
export function readEventTime(field: string, raw: unknown, receivedAt: number, fallback: string): EventTime {
  if (raw === undefined) return { ms: null, readMs: null, note: `${field} is missing: ${fallback}` };
  const time = readMetaTime(raw);
  if (time === null) return { ms: null, readMs: null, note: `${field} ${shown(raw)} is not a time: ${fallback}` };
  if (time.ms < EARLIEST_EVENT_MS || time.ms > receivedAt + LATEST_AHEAD_OF_RECEIPT_MS) {
    return { ms: null, readMs: time.ms, note: `${field} ${shown(raw)} is out of range (${isoOrNot(time.ms)}): ${fallback}` };
  }
  const note = time.readAs === null ? null : `${field} ${shown(raw)} is not ms since the epoch: read as ${time.readAs} (${isoOrNot(time.ms)})`;
  return { ms: time.ms, readMs: time.ms, note };
}

/** Meta's edit number (num_edit: a number, or the docs' string); 1, the first edit, when absent or unreadable. */
export function editNumberOf(value: unknown): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  return Number.isInteger(number) && number >= 1 ? number : 1;
}
