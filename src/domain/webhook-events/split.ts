/**
 * A webhook delivery split into events, each with its dedupe key: every messaging and standby item and every
 * `changes` item of every entry. Lenient on purpose: Meta adds fields and kinds, and an event we do not understand
 * is kept and marked, never dropped (META-API 1.3–1.7); an odd time costs the event its exact time, never the event.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { formatIssues } from '../../validation-issues';
import type { InboundEventKind } from './kinds';
import { readMetaTime, timeNote } from './meta-values';

export interface SplitEvent {
  eventKey: string;
  kind: InboundEventKind;
  igAccountId: string | null;
  /** The customer's IGSID: the sender of what customers do, the recipient of echoes. */
  customerIgsid: string | null;
  mid: string | null;
  /** Meta's timestamp (ms); for events without one, the entry's time. */
  occurredAt: number;
  payload: unknown;
  /**
   * Why an `unknown` event could not be read; for any other kind, what was odd in a field that was read leniently
   * (a time in seconds or as a date string, a missing timestamp), with the value as Meta sent it.
   */
  problem: string | null;
}

export interface SplitResult {
  events: SplitEvent[];
  /** Set when the body as a whole is not an Instagram webhook: it is then stored whole, as one invalid event. */
  envelopeProblem: string | null;
}

const idSchema = z.union([z.string().min(1), z.number()]).transform(String);
const participantSchema = z.looseObject({ id: idSchema });

const messagingItemSchema = z.looseObject({
  sender: participantSchema,
  recipient: participantSchema,
  // Read on its own (readMetaTime): an odd timestamp costs the event its exact time, never the event.
  timestamp: z.unknown().optional(),
  message: z
    .looseObject({
      mid: z.string().min(1),
      text: z.string().optional(),
      is_echo: z.boolean().optional(),
      is_deleted: z.boolean().optional(),
      is_unsupported: z.boolean().optional(),
      app_id: z.union([z.string(), z.number()]).optional(),
    })
    .optional(),
  reaction: z.looseObject({ mid: z.string().min(1), action: z.string() }).optional(),
  read: z.looseObject({ mid: z.string().min(1) }).optional(),
  postback: z.looseObject({ mid: z.string().optional(), title: z.string().optional(), payload: z.string().optional() }).optional(),
  referral: z.looseObject({ ref: z.string().optional(), source: z.string().optional() }).optional(),
  message_edit: z.looseObject({ mid: z.string().min(1), num_edit: z.union([z.number(), z.string()]).optional() }).optional(),
});

const entrySchema = z.looseObject({
  id: idSchema,
  // Read on its own (readMetaTime): an odd entry time must not cost the events of the entry (they carry their own).
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

/** Splits a parsed webhook body into events. Never throws: what it cannot read comes back marked. */
export function splitWebhookPayload(body: unknown, receivedAt: number): SplitResult {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { events: [], envelopeProblem: `not an Instagram webhook: ${describeIssues(envelope.error)}` };
  if (envelope.data.object !== 'instagram') return { events: [], envelopeProblem: `object is "${envelope.data.object}", expected "instagram"` };
  const events = envelope.data.entry.flatMap((rawEntry, entryIndex) => splitEntry(rawEntry, entryIndex, receivedAt));
  return { events, envelopeProblem: null };
}

interface EntryContext {
  igAccountId: string;
  /** The entry's time (ms), or the time of receipt when it has none that can be read. */
  entryTime: number;
  /** What was odd about the entry's time, for every event of the entry. */
  entryNote: string | null;
}

function splitEntry(rawEntry: unknown, entryIndex: number, receivedAt: number): SplitEvent[] {
  const entry = entrySchema.safeParse(rawEntry);
  if (!entry.success) return [unknownEvent(rawEntry, null, receivedAt, `entry[${entryIndex}]: ${describeIssues(entry.error)}`)];
  const { id: igAccountId, time, messaging, standby, changes } = entry.data;
  // The entry's time is only a fallback (events carry their own timestamp), so an odd one is read as well as it
  // can be and noted on the events, never a reason to set the entry aside.
  const readEntryTime = readMetaTime(time);
  const entryTime = readEntryTime?.ms ?? receivedAt;
  const entryNote = time === undefined ? null : timeNote(`entry[${entryIndex}].time`, time, readEntryTime, 'the time of receipt is used');
  const context: EntryContext = { igAccountId, entryTime, entryNote };
  const events = [...(messaging ?? []), ...(standby ?? [])].map((item) => projectMessagingItem(item, context));
  for (const change of changes ?? []) events.push(changeEvent(change, context));
  if (!messaging && !standby && !changes) {
    events.push(unknownEvent(rawEntry, igAccountId, entryTime, joinNotes(`entry[${entryIndex}] has no messaging, standby or changes`, entryNote)!));
  }
  return events;
}

/** An entry `changes` item (a comment, a mention in a post...), keyed by its content. */
function changeEvent(change: unknown, { igAccountId, entryTime, entryNote }: EntryContext): SplitEvent {
  const field = (change as { field?: unknown } | null)?.field;
  return {
    eventKey: `change:${igAccountId}:${sha256Hex(JSON.stringify(change))}`,
    kind: 'change',
    igAccountId,
    customerIgsid: null,
    mid: null,
    occurredAt: entryTime,
    payload: change,
    problem: joinNotes(typeof field === 'string' ? null : 'change without a field', entryNote),
  };
}

type MessagingItem = z.infer<typeof messagingItemSchema>;
type EventBase = Pick<SplitEvent, 'igAccountId' | 'customerIgsid' | 'occurredAt' | 'payload' | 'problem'>;

function projectMessagingItem(item: unknown, { igAccountId, entryTime, entryNote }: EntryContext): SplitEvent {
  const parsed = messagingItemSchema.safeParse(item);
  if (!parsed.success) return unknownEvent(item, igAccountId, entryTime, joinNotes(describeIssues(parsed.error), entryNote)!);
  const event = parsed.data;
  const sender = event.sender.id;
  const fromBusiness = sender === igAccountId;
  const customerIgsid = fromBusiness ? event.recipient.id : sender;
  const stamp = readMetaTime(event.timestamp);
  const occurredAt = stamp?.ms ?? entryTime;
  const problem = joinNotes(timeNote('timestamp', event.timestamp, stamp, "the entry's time is used"), entryNote);
  // Keys that name the event's time: without a time of its own, its content stands in (the entry's time changes
  // from one delivery to the next, and a redelivery must be recognised).
  const timeKey = stamp ? String(stamp.ms) : `sha256-${sha256Hex(JSON.stringify(item))}`;
  const base: EventBase = { igAccountId, customerIgsid, occurredAt, payload: item, problem };
  return eventOfItem(event, base, timeKey) ?? unknownEvent(item, igAccountId, occurredAt, joinNotes('messaging item with no known event (message, reaction, read, postback, referral, message_edit)', problem)!);
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

function unknownEvent(payload: unknown, igAccountId: string | null, occurredAt: number, problem: string): SplitEvent {
  return {
    eventKey: `unknown:${sha256Hex(JSON.stringify(payload) ?? 'undefined')}`,
    kind: 'unknown',
    igAccountId,
    customerIgsid: null,
    mid: null,
    occurredAt,
    payload,
    problem,
  };
}

function describeIssues(error: z.ZodError): string {
  return formatIssues(error.issues);
}
