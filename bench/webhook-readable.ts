/**
 * When each message became readable, and whether the inbox shows every one once and in order.
 *
 * Readable: the recording activity inserts the message, moves its conversation, then stamps the webhook event
 * `recorded` with `recordedAt` (the worker's clock, which is this machine's), so `recordedAt` − the moment the POST
 * left is the webhook-to-readable latency, whatever the polling interval. The wait polls only a count of the
 * messages collection (no document is read) until it covers what is owed; then the stamps are read by `_id`, the
 * one lookup the local database answers without a scan, so the wait barely loads the engine's database.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Models } from '../src/db/models';
import { pool } from './lib';
import type { SentMessage } from './webhook-load';
import type { Customer, WebhookStack } from './webhook-stack';

const READ_CHUNK = 1_000;

export interface Readability {
  /** mid → `recordedAt` (Date.now() ms) of every acknowledged message found recorded. */
  recordedAt: Map<string, number>;
  /** Acknowledged messages not recorded when the wait ended, by their event's status ('absent': not stored at all). */
  unrecorded: Map<string, number>;
  /** Date.now() when the wait ended. */
  endedAt: number;
}

const eventKey = (mid: string): string => `message:${mid}`;

/** Reads the stamps of `pending` mids into `recordedAt`, removing those found from `pending`. */
async function readStamps(models: Models, pending: Set<string>, recordedAt: Map<string, number>): Promise<void> {
  const mids = [...pending];
  for (let at = 0; at < mids.length; at += READ_CHUNK) {
    const keys = mids.slice(at, at + READ_CHUNK).map(eventKey);
    // By `_id` alone: with any other field in the filter, the local database would scan the collection.
    const events = await models.webhookEvents.find({ _id: { $in: keys } }, { status: 1, recordedAt: 1 }).lean<Array<{ _id: string; status: string; recordedAt: Date | null }>>();
    for (const event of events) {
      if (event.status !== 'recorded' || !event.recordedAt) continue;
      const mid = event._id.slice('message:'.length);
      recordedAt.set(mid, event.recordedAt.getTime());
      pending.delete(mid);
    }
  }
}

async function statusesOf(models: Models, mids: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let at = 0; at < mids.length; at += READ_CHUNK) {
    const keys = mids.slice(at, at + READ_CHUNK).map(eventKey);
    const events = await models.webhookEvents.find({ _id: { $in: keys } }, { status: 1 }).lean<Array<{ status: string }>>();
    for (const event of events) counts.set(event.status, (counts.get(event.status) ?? 0) + 1);
    const absent = keys.length - events.length;
    if (absent > 0) counts.set('absent', (counts.get('absent') ?? 0) + absent);
  }
  return counts;
}

/**
 * Waits until every acknowledged message of `messages` is recorded, or `timeoutMs` passes. `storedBefore` is the
 * count of the messages collection before the load began.
 */
export async function waitUntilReadable(stack: WebhookStack, messages: SentMessage[], storedBefore: number, options: { pollMs: number; timeoutMs: number }): Promise<Readability> {
  const pending = new Set(messages.filter((message) => message.acked).map((message) => message.mid));
  const owed = pending.size;
  const recordedAt = new Map<string, number>();
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    stack.assertRunning();
    const stored = (await stack.models.messages.estimatedDocumentCount()) - storedBefore;
    const late = performance.now() > deadline;
    if (stored >= owed || late) await readStamps(stack.models, pending, recordedAt);
    if (pending.size === 0 || late) break;
    await sleep(options.pollMs);
  }
  const unrecorded = pending.size === 0 ? new Map<string, number>() : await statusesOf(stack.models, [...pending]);
  return { recordedAt, unrecorded, endedAt: Date.now() };
}

/** recordedAt − sentAt of each acknowledged message that was recorded, ms. */
export function readableLatencies(messages: SentMessage[], readability: Readability): number[] {
  const latencies: number[] = [];
  for (const message of messages) {
    const at = readability.recordedAt.get(message.mid);
    if (message.acked && at !== undefined) latencies.push(at - message.sentAt);
  }
  return latencies;
}

export interface InboxCheck {
  conversations: number;
  /** Messages of the scenario the inbox shows (acknowledged or not: an unacknowledged one may have been stored). */
  shown: number;
  missing: number;
  duplicated: number;
  /** Conversations whose acknowledged messages are not in the order they were generated in. */
  outOfOrder: number;
}

interface InboxPage {
  messages?: Array<{ mid: string | null }>;
  nextCursor?: string | null;
}

async function inboxGet<T>(stack: WebhookStack, route: string): Promise<T> {
  const response = await fetch(`${stack.apiUrl}${route}`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
  if (!response.ok) throw new Error(`GET ${route} answered ${response.status}`);
  return (await response.json()) as T;
}

/** Reads conversations back through the inbox API, as an inbox client would; each customer's conversation id is kept. */
export function createInboxReader(stack: WebhookStack, customers: Customer[]) {
  const conversationIds = new Map<number, string>();

  async function conversationOf(customer: number): Promise<string | undefined> {
    const known = conversationIds.get(customer);
    if (known) return known;
    const answer = await inboxGet<{ conversations?: Array<{ conversationId: string }> }>(stack, `/v1/customers/${stack.igAccountId}/${customers[customer]!.igsid}`);
    const id = answer.conversations?.[0]?.conversationId;
    if (id) conversationIds.set(customer, id);
    return id;
  }

  /** The newest page of the first customer's conversation, as an inbox client opens it. */
  async function readRoute(): Promise<string> {
    const conversationId = await conversationOf(0);
    if (!conversationId) throw new Error('the first customer has no conversation to read');
    return `/v1/conversations/${conversationId}/messages?limit=50`;
  }

  /** Every mid the conversation shows, in the inbox's order, page after page. */
  async function midsOf(conversationId: string): Promise<string[]> {
    const mids: string[] = [];
    let cursor: string | null | undefined;
    do {
      const query = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await inboxGet<InboxPage>(stack, `/v1/conversations/${conversationId}/messages?${query}`);
      for (const message of page.messages ?? []) if (message.mid) mids.push(message.mid);
      cursor = page.nextCursor;
    } while (cursor);
    return mids;
  }

  /** Each acknowledged message of `messages` shown once, in the order of generation, in its customer's conversation. */
  async function check(messages: SentMessage[]): Promise<InboxCheck> {
    const result: InboxCheck = { conversations: 0, shown: 0, missing: 0, duplicated: 0, outOfOrder: 0 };
    const sent = new Set(messages.map((message) => message.mid));
    const owed = new Map<number, string[]>();
    for (const message of [...messages].sort((a, b) => a.seq - b.seq)) {
      if (!message.acked) continue;
      const list = owed.get(message.customer) ?? [];
      list.push(message.mid);
      owed.set(message.customer, list);
    }
    const involved = [...new Set(messages.map((message) => message.customer))];
    await pool(involved.length, 4, async (index) => {
      const customer = involved[index]!;
      const expected = owed.get(customer) ?? [];
      const conversationId = await conversationOf(customer);
      if (!conversationId) {
        result.missing += expected.length;
        return;
      }
      result.conversations += 1;
      const shown = (await midsOf(conversationId)).filter((mid) => sent.has(mid));
      result.shown += shown.length;
      const seen = new Set<string>();
      for (const mid of shown) {
        if (seen.has(mid)) result.duplicated += 1;
        else seen.add(mid);
      }
      result.missing += expected.filter((mid) => !seen.has(mid)).length;
      const expectedSet = new Set(expected);
      const order = [...seen].filter((mid) => expectedSet.has(mid));
      if (order.join('\n') !== expected.filter((mid) => seen.has(mid)).join('\n')) result.outOfOrder += 1;
    });
    return result;
  }

  return { check, readRoute };
}

export type InboxReader = ReturnType<typeof createInboxReader>;
