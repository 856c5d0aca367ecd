/**
 * A webhook delivery split into events, each with its dedupe key: every messaging and standby item and every
 * `changes` item of every entry. Lenient on purpose: Meta adds fields and kinds, and an event we do not understand
 * is kept and marked, never dropped (META-API 1.3–1.7); an odd time costs the event its exact time, never the event.
 * Each event keeps its own JSON text exactly as it was in the delivery: whatever it contains (keys with NUL, arrays
 * in arrays, any depth), it is stored as text, and its fields are read only within bounds of depth and size.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { formatIssues } from '../../validation-issues';
import { locateEntries, type EntrySlices, type JsonSlice } from './json-outline';
import type { InboundEventKind } from './kinds';
import { readEventTime } from './meta-values';

export interface SplitEvent {
  eventKey: string;
  kind: InboundEventKind;
  igAccountId: string | null;
  /** The customer's IGSID: the sender of what customers do, the recipient of echoes. */
  customerIgsid: string | null;
  mid: string | null;
  /** Meta's timestamp (ms); for events without a sane one, the entry's time (or else the time of receipt). */
  occurredAt: number;
  /** The event's JSON text exactly as it was in the delivery: one messaging item, one change, or one entry. */
  payload: string;
  /**
   * Why an `unknown` event could not be read; for any other kind, what was odd in a field that was read leniently
   * (a time in seconds or as a date string, a missing or out-of-range timestamp), with the value as Meta sent it.
   */
  problem: string | null;
}

export type SplitResult =
  | { outcome: 'events'; events: SplitEvent[] }
  /** The body as a whole is not an Instagram webhook: the caller keeps it whole, as one invalid event. */
  | { outcome: 'not-a-webhook'; problem: string }
  /** More entries than Meta ever batches: refused before anything is stored. */
  | { outcome: 'too-many-entries'; entries: number; limit: number };

/** Meta batches at most 1,000 entries in one delivery (META-API 7). */
export const MAX_ENTRIES_PER_DELIVERY = 1000;
/** Meta's items nest a few levels (message.attachments[].payload.url): far deeper is not an event Meta sends. */
export const MAX_EVENT_DEPTH = 32;
/** An event's JSON text: Meta's largest items (texts of 1,000 bytes, escaped; a few attachment links) are far smaller. */
export const MAX_EVENT_CHARS = 256 * 1024;
/** Meta's ids are strings of digits (an IGSID or account id has 15 to 17); twice that is room enough. */
const META_ID = /^\d{1,32}$/;
/** Meta's mids are base64 strings of about 100 to 200 characters. */
const MAX_MID_CHARS = 512;
/** What else goes into an event's key (a reaction's action, an edit's number) is a word or a number. */
const MAX_KEY_PART_CHARS = 32;

/** What a value that should have been a string is, in words, without showing it. */
function kindOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

// A number where Meta sends a string is refused, not converted: past 2^53 it is a different id already.
const idSchema = z
  .string({ error: (issue) => (issue.input === undefined ? undefined : `expected an id as a string of digits, not ${kindOfValue(issue.input)}`) })
  .regex(META_ID, 'expected an id of 1 to 32 digits');
const participantSchema = z.looseObject({ id: idSchema });
const midSchema = z.string().min(1).max(MAX_MID_CHARS);

const messagingItemSchema = z.looseObject({
  sender: participantSchema,
  recipient: participantSchema,
  // Read on its own (readEventTime): an odd timestamp costs the event its exact time, never the event.
  timestamp: z.unknown().optional(),
  message: z
    .looseObject({
      mid: midSchema,
      text: z.string().optional(),
      is_echo: z.boolean().optional(),
      is_deleted: z.boolean().optional(),
      is_unsupported: z.boolean().optional(),
      app_id: z.union([z.string(), z.number()]).optional(),
    })
    .optional(),
  reaction: z.looseObject({ mid: midSchema, action: z.string().max(MAX_KEY_PART_CHARS) }).optional(),
  read: z.looseObject({ mid: midSchema }).optional(),
  postback: z.looseObject({ mid: midSchema.optional(), title: z.string().optional(), payload: z.string().optional() }).optional(),
  referral: z.looseObject({ ref: z.string().optional(), source: z.string().optional() }).optional(),
  message_edit: z.looseObject({ mid: midSchema, num_edit: z.union([z.number(), z.string().max(MAX_KEY_PART_CHARS)]).optional() }).optional(),
});

const entrySchema = z.looseObject({
  id: idSchema,
  // Read on its own (readEventTime): an odd entry time must not cost the events of the entry (they carry their own).
  time: z.unknown().optional(),
  messaging: z.array(z.unknown()).optional(),
  standby: z.array(z.unknown()).optional(),
  changes: z.array(z.unknown()).optional(),
});

const envelopeSchema = z.looseObject({ object: z.string(), entry: z.array(z.unknown()) });

export function sha256Hex(value: string | Uint8Array): string {
  return createHash('sha256').update(value).digest('hex');
}

function joinNotes(...notes: Array<string | null>): string | null {
  const present = notes.filter((note): note is string => note !== null);
  return present.length > 0 ? present.join('; ') : null;
}

/** A value of the delivery with its own text, and the words that place it in the delivery (`entry[0].messaging[2]`). */
interface Located {
  value: unknown;
  text: string;
  slice: JsonSlice;
  where: string;
}

/**
 * A name for a value's content, the same in every delivery. Within the bounds, the hash of its JSON form (as events
 * were always keyed, so that redeliveries of events stored before still match); beyond them, of its text.
 */
function contentHash(located: Located): string {
  return sha256Hex(isWithinBounds(located.slice) ? JSON.stringify(located.value) : located.text);
}

function isWithinBounds(slice: JsonSlice): boolean {
  return slice.depth <= MAX_EVENT_DEPTH && slice.end - slice.start <= MAX_EVENT_CHARS;
}

/** Why an event's text is not read, or null when it may be. */
function boundsProblem({ slice, where }: Located): string | null {
  if (slice.depth > MAX_EVENT_DEPTH) return `${where} nests ${slice.depth} levels deep; an event may nest at most ${MAX_EVENT_DEPTH}`;
  const chars = slice.end - slice.start;
  return chars > MAX_EVENT_CHARS ? `${where} is ${chars} characters long; an event may be at most ${MAX_EVENT_CHARS}` : null;
}

/** Splits the text of a signed delivery into events. Never throws: what it cannot read comes back marked. */
export function splitWebhookDelivery(text: string, receivedAt: number): SplitResult {
  let body: unknown;
  try {
    // JSON.parse reads any depth without recursing; nothing below recurses into what it gives beyond the bounds.
    body = JSON.parse(text);
  } catch (error) {
    return { outcome: 'not-a-webhook', problem: `body is not JSON: ${(error as Error).message}` };
  }
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { outcome: 'not-a-webhook', problem: `not an Instagram webhook: ${describeIssues(envelope.error)}` };
  if (envelope.data.object !== 'instagram') return { outcome: 'not-a-webhook', problem: `object is ${JSON.stringify(envelope.data.object.slice(0, 64))}, expected "instagram"` };
  const entries = envelope.data.entry;
  if (entries.length > MAX_ENTRIES_PER_DELIVERY) return { outcome: 'too-many-entries', entries: entries.length, limit: MAX_ENTRIES_PER_DELIVERY };
  const located = locateEntries(text);
  const events = entries.flatMap((rawEntry, entryIndex) => splitEntry(rawEntry, located[entryIndex], text, entryIndex, receivedAt));
  return { outcome: 'events', events };
}

interface EntryContext {
  igAccountId: string;
  /** The entry's time (ms), or the time of receipt when it has none that can be read. */
  entryTime: number;
  /** What was odd about the entry's time, for every event of the entry. */
  entryNote: string | null;
  receivedAt: number;
}

function splitEntry(rawEntry: unknown, slices: EntrySlices | undefined, text: string, entryIndex: number, receivedAt: number): SplitEvent[] {
  const where = `entry[${entryIndex}]`;
  // Located from the same text JSON.parse accepted, so always found; an empty slice would only mark it unreadable.
  const entrySlice = slices?.entry ?? { start: 0, end: 0, depth: 0 };
  const located: Located = { value: rawEntry, text: text.slice(entrySlice.start, entrySlice.end), slice: entrySlice, where };
  const entry = entrySchema.safeParse(rawEntry);
  if (!entry.success) return [unknownEvent(located, null, receivedAt, `${where}: ${describeIssues(entry.error)}`)];
  const { id: igAccountId, time, messaging, standby, changes } = entry.data;
  // The entry's time is only a fallback (events carry their own timestamp), so an odd one is read as well as it
  // can be and noted on the events, never a reason to set the entry aside.
  const entryTime = readEventTime(`${where}.time`, time, receivedAt, 'the time of receipt is used');
  const context: EntryContext = { igAccountId, entryTime: entryTime.ms ?? receivedAt, entryNote: time === undefined ? null : entryTime.note, receivedAt };
  const itemsOf = (list: 'messaging' | 'standby' | 'changes', values: unknown[] | undefined): Located[] =>
    (values ?? []).map((value, index) => {
      const slice = slices?.lists[list]?.[index] ?? { start: 0, end: 0, depth: 0 };
      return { value, text: text.slice(slice.start, slice.end), slice, where: `${where}.${list}[${index}]` };
    });
  const events = [...itemsOf('messaging', messaging), ...itemsOf('standby', standby)].map((item) => readBounded(item, context, projectMessagingItem));
  for (const change of itemsOf('changes', changes)) events.push(readBounded(change, context, changeEvent));
  if (!messaging && !standby && !changes) {
    events.push(unknownEvent(located, igAccountId, context.entryTime, joinNotes(`${where} has no messaging, standby or changes`, context.entryNote)!));
  }
  return events;
}

/** An item within the bounds is read; one beyond them is kept unread, as an unknown event that says why. */
function readBounded(item: Located, context: EntryContext, read: (item: Located, context: EntryContext) => SplitEvent): SplitEvent {
  const problem = boundsProblem(item);
  return problem === null ? read(item, context) : unknownEvent(item, context.igAccountId, context.entryTime, joinNotes(problem, context.entryNote)!);
}

/** An entry `changes` item (a comment, a mention in a post...), keyed by its content. */
function changeEvent(change: Located, { igAccountId, entryTime, entryNote }: EntryContext): SplitEvent {
  const field = (change.value as { field?: unknown } | null)?.field;
  return {
    eventKey: `change:${igAccountId}:${contentHash(change)}`,
    kind: 'change',
    igAccountId,
    customerIgsid: null,
    mid: null,
    occurredAt: entryTime,
    payload: change.text,
    problem: joinNotes(typeof field === 'string' ? null : 'change without a field', entryNote),
  };
}

type MessagingItem = z.infer<typeof messagingItemSchema>;
type EventBase = Pick<SplitEvent, 'igAccountId' | 'customerIgsid' | 'occurredAt' | 'payload' | 'problem'>;

function projectMessagingItem(item: Located, { igAccountId, entryTime, entryNote, receivedAt }: EntryContext): SplitEvent {
  const parsed = messagingItemSchema.safeParse(item.value);
  if (!parsed.success) return unknownEvent(item, igAccountId, entryTime, joinNotes(describeIssues(parsed.error), entryNote)!);
  const event = parsed.data;
  const sender = event.sender.id;
  const fromBusiness = sender === igAccountId;
  const customerIgsid = fromBusiness ? event.recipient.id : sender;
  const stamp = readEventTime('timestamp', event.timestamp, receivedAt, "the entry's time is used");
  const problem = joinNotes(stamp.note, entryNote);
  // Keys that name the event's time: without a time of its own, its content stands in (the entry's time changes
  // from one delivery to the next, and a redelivery must be recognised). A time out of range still names it.
  const timeKey = stamp.readMs === null ? `sha256-${contentHash(item)}` : String(stamp.readMs);
  const base: EventBase = { igAccountId, customerIgsid, occurredAt: stamp.ms ?? entryTime, payload: item.text, problem };
  return (
    eventOfItem(event, base, timeKey) ??
    unknownEvent(item, igAccountId, base.occurredAt, joinNotes('messaging item with no known event (message, reaction, read, postback, referral, message_edit)', problem)!)
  );
}

/** The event a messaging item carries, by the first field present; null when it carries none the engine knows. */
function eventOfItem(event: MessagingItem, base: EventBase, timeKey: string): SplitEvent | null {
  const sender = event.sender.id;
  if (event.message) {
    const { mid } = event.message;
    if (event.message.is_echo) return { ...base, kind: 'echo', eventKey: `echo:${mid}`, mid, customerIgsid: event.recipient.id };
    if (event.message.is_deleted) return { ...base, kind: 'deleted', eventKey: `deleted:${mid}`, mid };
    return { ...base, kind: 'message', eventKey: `message:${mid}`, mid };
  }
  if (event.reaction) {
    const { mid, action } = event.reaction;
    return { ...base, kind: 'reaction', eventKey: `reaction:${sender}:${mid}:${action}:${timeKey}`, mid };
  }
  if (event.read) return { ...base, kind: 'read', eventKey: `read:${sender}:${event.read.mid}`, mid: event.read.mid };
  if (event.postback) {
    const mid = event.postback.mid ?? null;
    return { ...base, kind: 'postback', eventKey: mid ? `postback:${mid}` : `postback:${sender}:${timeKey}`, mid };
  }
  if (event.message_edit) {
    const { mid, num_edit: numEdit } = event.message_edit;
    return { ...base, kind: 'edit', eventKey: `edit:${mid}:${String(numEdit ?? timeKey)}`, mid };
  }
  if (event.referral) return { ...base, kind: 'referral', eventKey: `referral:${sender}:${timeKey}`, mid: null };
  return null;
}

function unknownEvent(located: Located, igAccountId: string | null, occurredAt: number, problem: string): SplitEvent {
  return {
    eventKey: `unknown:${contentHash(located)}`,
    kind: 'unknown',
    igAccountId,
    customerIgsid: null,
    mid: null,
    occurredAt,
    payload: located.text,
    problem,
  };
}

function describeIssues(error: z.ZodError): string {
  return formatIssues(error.issues);
}
