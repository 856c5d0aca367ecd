/**
 * Instagram messaging webhooks, as pure functions: split a delivery into events with their dedupe keys, and
 * project a message event into what the inbox stores. Lenient on purpose: Meta adds fields and kinds, and an
 * event we do not understand is kept and marked, never dropped (META-API 1.3–1.7).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { formatIssues } from '../validation-issues';

export const STORY_LIFETIME_MS = 24 * 60 * 60 * 1000;

export type InboundEventKind =
  | 'message'
  | 'echo'
  | 'deleted'
  | 'reaction'
  | 'read'
  | 'postback'
  | 'referral'
  | 'edit'
  /** An entry `changes` item (comments, mentions in posts...): recorded, not synced (B8). */
  | 'change'
  /** Signed by Meta but not understood. */
  | 'unknown';

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
function timeNote(field: string, raw: unknown, time: MetaTime | null, fallback: string): string | null {
  if (time === null) return raw === undefined ? `${field} is missing: ${fallback}` : `${field} ${JSON.stringify(raw)} is not a time: ${fallback}`;
  if (time.readAs === null) return null;
  return `${field} ${JSON.stringify(raw)} is not ms since the epoch: read as ${time.readAs} (${new Date(time.ms).toISOString()})`;
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

  const events: SplitEvent[] = [];
  envelope.data.entry.forEach((rawEntry, entryIndex) => {
    const entry = entrySchema.safeParse(rawEntry);
    if (!entry.success) {
      events.push(unknownEvent(rawEntry, null, receivedAt, `entry[${entryIndex}]: ${describeIssues(entry.error)}`));
      return;
    }
    const igAccountId = entry.data.id;
    // The entry's time is only a fallback (events carry their own timestamp), so an odd one is read as well as it
    // can be and noted on the events, never a reason to set the entry aside.
    const readEntryTime = readMetaTime(entry.data.time);
    const entryTime = readEntryTime?.ms ?? receivedAt;
    const entryNote = entry.data.time === undefined ? null : timeNote(`entry[${entryIndex}].time`, entry.data.time, readEntryTime, 'the time of receipt is used');
    const context: EntryContext = { igAccountId, entryTime, entryNote };
    for (const item of [...(entry.data.messaging ?? []), ...(entry.data.standby ?? [])]) events.push(projectMessagingItem(item, context));
    for (const change of entry.data.changes ?? []) {
      const field = (change as { field?: unknown } | null)?.field;
      events.push({
        eventKey: `change:${igAccountId}:${sha256Hex(JSON.stringify(change))}`,
        kind: 'change',
        igAccountId,
        customerIgsid: null,
        mid: null,
        occurredAt: entryTime,
        payload: change,
        problem: joinNotes(typeof field === 'string' ? null : 'change without a field', entryNote),
      });
    }
    if (!entry.data.messaging && !entry.data.standby && !entry.data.changes) {
      events.push(unknownEvent(rawEntry, igAccountId, entryTime, joinNotes(`entry[${entryIndex}] has no messaging, standby or changes`, entryNote)!));
    }
  });
  return { events, envelopeProblem: null };
}

interface EntryContext {
  igAccountId: string;
  /** The entry's time (ms), or the time of receipt when it has none that can be read. */
  entryTime: number;
  /** What was odd about the entry's time, for every event of the entry. */
  entryNote: string | null;
}

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
  const base = { igAccountId, customerIgsid, occurredAt, payload: item, problem };

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
  return unknownEvent(item, igAccountId, occurredAt, joinNotes('messaging item with no known event (message, reaction, read, postback, referral, message_edit)', problem)!);
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

/** Meta's edit number (num_edit: a number, or the docs' string); 1, the first edit, when absent or unreadable. */
export function editNumberOf(value: unknown): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  return Number.isInteger(number) && number >= 1 ? number : 1;
}

/** Only customer-initiated events move the 7-day window (a message, a postback, an ig.me referral). */
export function movesWindow(kind: InboundEventKind): boolean {
  return kind === 'message' || kind === 'postback' || kind === 'referral';
}

// --- message projection -----------------------------------------------------------------------------------------

export type MessageKind =
  | 'text'
  | 'image'
  | 'video'
  | 'audio'
  | 'file'
  | 'story_reply'
  | 'story_mention'
  | 'post_share'
  | 'reel_share'
  | 'story_share'
  | 'link'
  | 'postback'
  | 'unsupported';

export type AttachmentType = 'image' | 'video' | 'audio' | 'file' | 'story' | 'post' | 'reel' | 'link';

/** Media are never embedded: the inbox shows each as a link that opens it (B4). */
export interface MessageAttachment {
  type: AttachmentType;
  url: string | null;
  title: string | null;
  mediaId: string | null;
}

export interface StoryReference {
  id: string | null;
  url: string | null;
  /** A story lives 24 hours; after that its link no longer opens (B7). */
  expiresAt: number;
}

export interface MessageProjection {
  kind: MessageKind;
  text: string | null;
  attachments: MessageAttachment[];
  story: StoryReference | null;
  replyToMid: string | null;
  quickReplyPayload: string | null;
}

// Lenient field by field on purpose: one odd value (a null caption, a numeric url, a quick_reply without payload)
// must cost that value only, never the attachment or the message text around it (B4: nothing is dropped).
const optionalText = z.string().optional().catch(undefined);
const optionalId = z.union([z.string(), z.number()]).optional().catch(undefined);

const attachmentItemSchema = z.looseObject({
  type: z.string().catch(''),
  payload: z
    .looseObject({
      url: optionalText,
      title: optionalText,
      reel_video_id: optionalId,
      ig_post_media_id: optionalId,
      story_media_id: optionalId,
      story_media_url: optionalText,
      id: optionalId,
    })
    .nullish()
    .catch(null),
});

const messageBodySchema = z.looseObject({
  mid: z.string(),
  text: z.string().optional(),
  is_unsupported: z.boolean().optional().catch(undefined),
  attachments: z.array(z.unknown()).optional().catch(undefined),
  quick_reply: z.looseObject({ payload: z.string() }).optional().catch(undefined),
  reply_to: z
    .looseObject({ mid: optionalText, story: z.looseObject({ url: optionalText, id: optionalId }).optional().catch(undefined) })
    .optional()
    .catch(undefined),
});

/** How each attachment type Meta sends is shown. GIFs and stickers arrive as images (B4). */
const attachmentTypes: Record<string, { type: AttachmentType; kind: MessageKind }> = {
  image: { type: 'image', kind: 'image' },
  video: { type: 'video', kind: 'video' },
  audio: { type: 'audio', kind: 'audio' },
  file: { type: 'file', kind: 'file' },
  story_mention: { type: 'story', kind: 'story_mention' },
  share: { type: 'post', kind: 'post_share' },
  ig_post: { type: 'post', kind: 'post_share' },
  ig_reel: { type: 'reel', kind: 'reel_share' },
  reel: { type: 'reel', kind: 'reel_share' },
  ig_story: { type: 'story', kind: 'story_share' },
  story: { type: 'story', kind: 'story_share' },
  fallback: { type: 'link', kind: 'link' },
  media: { type: 'link', kind: 'link' },
};

function isSharePair(a: string | undefined, b: string): boolean {
  return (a === 'share' && b === 'ig_post') || (a === 'ig_post' && b === 'share');
}

/** Projects the `message` of a message or echo event. Unknown attachment types become links, never vanish. */
export function projectMessage(payload: unknown, occurredAt: number): MessageProjection {
  const message = messageBodySchema.safeParse((payload as { message?: unknown } | null)?.message);
  if (!message.success) {
    return { kind: 'unsupported', text: null, attachments: [], story: null, replyToMid: null, quickReplyPayload: null };
  }
  const body = message.data;
  const attachments: MessageAttachment[] = [];
  let attachmentKind: MessageKind | null = null;
  let unsupportedMedia = false;
  // Which type Meta gave each kept attachment: a share and an ig_post in one message are the same post.
  const sourceTypes = new Map<MessageAttachment, string>();
  for (const raw of body.attachments ?? []) {
    const parsed = attachmentItemSchema.safeParse(raw);
    if (!parsed.success) {
      // Not even an object: still shown (as a link with nothing to open), never dropped.
      attachments.push({ type: 'link', url: null, title: null, mediaId: null });
      attachmentKind ??= 'link';
      continue;
    }
    const { type, payload: p } = parsed.data;
    if (type === 'ephemeral') {
      // Disappearing media (vanish mode): there is nothing the inbox can show.
      unsupportedMedia = true;
      continue;
    }
    // Own properties only: a type named like an Object member ("constructor") is an unknown type, not a match.
    const known = Object.hasOwn(attachmentTypes, type) ? attachmentTypes[type]! : { type: 'link' as const, kind: 'link' as const };
    const url = p?.url ?? p?.story_media_url ?? null;
    const rawMediaId = p?.ig_post_media_id ?? p?.reel_video_id ?? p?.story_media_id ?? p?.id ?? null;
    const mediaId = rawMediaId === null ? null : String(rawMediaId);
    const title = p?.title ?? null;
    // Since 2025-11-03 a post share comes as two attachments (share, then ig_post with the caption and media id)
    // for the same post: keep one, with what either of them carries. Keeping only the first used to lose the
    // ig_post's caption and media id, since the share comes first.
    if (known.type === 'post') {
      const twin = attachments.find(
        (a) =>
          a.type === 'post' &&
          ((url !== null && a.url === url) || (mediaId !== null && a.mediaId === mediaId) || isSharePair(sourceTypes.get(a), type)),
      );
      if (twin) {
        twin.url ??= url;
        twin.title ??= title;
        twin.mediaId ??= mediaId;
        sourceTypes.set(twin, 'share+ig_post');
        continue;
      }
    }
    const attachment: MessageAttachment = { type: known.type, url, title, mediaId };
    attachments.push(attachment);
    sourceTypes.set(attachment, type);
    attachmentKind ??= known.kind;
  }
  const story = body.reply_to?.story;
  const replyToMid = body.reply_to?.mid ?? null;
  const quickReplyPayload = body.quick_reply?.payload ?? null;
  const text = body.text ?? null;
  const base = { text, attachments, replyToMid, quickReplyPayload };

  if (body.is_unsupported || (unsupportedMedia && attachments.length === 0 && text === null)) {
    return { ...base, kind: 'unsupported', story: null };
  }
  if (story) {
    return { ...base, kind: 'story_reply', story: { id: story.id === undefined ? null : String(story.id), url: story.url ?? null, expiresAt: occurredAt + STORY_LIFETIME_MS } };
  }
  if (attachmentKind === 'story_mention') {
    const mention = attachments.find((a) => a.type === 'story');
    return { ...base, kind: 'story_mention', story: { id: mention?.mediaId ?? null, url: mention?.url ?? null, expiresAt: occurredAt + STORY_LIFETIME_MS } };
  }
  if (attachmentKind) return { ...base, kind: attachmentKind, story: null };
  return { ...base, kind: 'text', story: null };
}
