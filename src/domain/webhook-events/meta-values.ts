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

/** What was odd about a time that was read anyway, in words, with the value as sent. */
export function timeNote(field: string, raw: unknown, time: MetaTime | null, fallback: string): string | null {
  if (time === null) return raw === undefined ? `${field} is missing: ${fallback}` : `${field} ${JSON.stringify(raw)} is not a time: ${fallback}`;
  if (time.readAs === null) return null;
  return `${field} ${JSON.stringify(raw)} is not ms since the epoch: read as ${time.readAs} (${new Date(time.ms).toISOString()})`;
}

/** Meta's edit number (num_edit: a number, or the docs' string); 1, the first edit, when absent or unreadable. */
export function editNumberOf(value: unknown): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  return Number.isInteger(number) && number >= 1 ? number : 1;
}
