/**
 * Opening conversations as the engine opens them, for bench:conversations: a customer writes at the Meta emulator
 * (in this process), the message is stored as the webhook ingress stores an event (the same documents, claimed for
 * dispatch; inserted here in bulk, a thousand to a delivery), and the API's dispatcher signals its conversation
 * workflow (signalWithStart), which records the message and then waits on its 7-day window.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Emulator } from '../emulator/app';
import type { IgUser } from '../emulator/state-records';
import type { Models } from '../src/db/models';
import { storedEventsOf } from '../src/inbound/delivery-events';
import type { DispatchableEvent, InboundDispatcher } from '../src/inbound/dispatcher';
import { insertNewEvents } from '../src/inbound/insert-new-events';
import { pool } from './lib';
import type { Account } from './seed-accounts';

export interface Customer {
  igAccountId: string;
  igUserId: string;
  /** The id the account sees the customer by: its conversation is `ig-conversation/<igAccountId>/<igsid>`. */
  igsid: string;
}

/** One `entry` of an Instagram webhook body, with the one messaging event the customer's action made. */
export interface WebhookEntry {
  id: string;
  time: number;
  messaging: unknown[];
}

/** Meta's delivery of some entries, as bytes (the signature and the ingress read the raw body). */
export function webhookBody(entries: WebhookEntry[]): Buffer {
  return Buffer.from(JSON.stringify({ object: 'instagram', entry: entries }), 'utf8');
}

/**
 * `count` Instagram users at the emulator, spread over the accounts, each with the id its account sees it by.
 * Written into the emulator's state: its addIgUser checks the username against every user, which is quadratic at
 * 100,000.
 */
export function addCustomers(emulator: Emulator, accounts: Account[], count: number, runTag: string): Customer[] {
  return Array.from({ length: count }, (_, index) => {
    const user: IgUser = { id: `97${runTag}${String(index).padStart(9, '0')}`, username: `bench.customer.${runTag}.${index}`, name: `Customer ${index}`, profilePic: '', usernameHistory: [] };
    emulator.state.igUsers.set(user.id, user);
    const igAccountId = accounts[index % accounts.length]!.igAccountId;
    return { igAccountId, igUserId: user.id, igsid: emulator.state.scopedId(igAccountId, user.id) };
  });
}

/** The customer writes `text` at the emulator (which gives the Profile API its consent); Meta's entry for it. */
export function customerWrites(emulator: Emulator, customer: Customer, text: string): { entry: WebhookEntry; mid: string } {
  const acted = emulator.app.messaging.customerAct(customer.igAccountId, customer.igUserId, { kind: 'text', text });
  // Nothing subscribed the app to the Page: the emulator delivers nothing itself, the benchmark does.
  if (acted.queuedFor > 0 || acted.mid === undefined) throw new Error('the emulator would deliver this message itself: the app is subscribed to the Page');
  return { mid: acted.mid, entry: { id: customer.igAccountId, time: acted.timestamp, messaging: [acted.event] } };
}

const DELIVERY_SIZE = 1_000;

/** Every customer's first message, stored as the ingress stores it; answers the events in the customers' order. */
export async function storeFirstMessages(models: Models, emulator: Emulator, customers: Customer[]): Promise<DispatchableEvent[]> {
  const events: DispatchableEvent[] = [];
  for (let start = 0; start < customers.length; start += DELIVERY_SIZE) {
    const batch = customers.slice(start, start + DELIVERY_SIZE);
    const raw = webhookBody(batch.map((customer, offset) => customerWrites(emulator, customer, `Hello, is order #${start + offset} on its way?`).entry));
    const delivery = storedEventsOf(raw, new Date());
    if (delivery.outcome !== 'events') throw new Error(`a delivery of ${batch.length} first messages was refused: ${delivery.entries} entries`);
    const stored = delivery.events;
    const inserted = await insertNewEvents(models.webhookEvents, stored);
    if (inserted.length !== batch.length || stored.some((event, offset) => event.customerIgsid !== batch[offset]!.igsid)) {
      throw new Error(`a delivery of ${batch.length} first messages was stored as ${inserted.length} new events`);
    }
    // The payloads stay in the database: 100,000 of them need not stay in this process.
    events.push(...stored.map(({ eventKey, igAccountId, customerIgsid, occurredAt, kind, mid }) => ({ eventKey, igAccountId, customerIgsid, occurredAt, kind, mid })));
  }
  return events;
}

/**
 * How many messages the engine has recorded since the watch began: the messages collection's own count, read every
 * `everyMs` (a filtered count would read every document, and polling so would load the database more than the
 * engine does). The recording activity inserts the message just before it marks its event `recorded`.
 */
export interface RecordedCounter {
  count(): number;
  /** Resolves at the next reading. */
  changed(): Promise<void>;
  stop(): void;
}

export async function watchRecorded(models: Models, everyMs: number): Promise<RecordedCounter> {
  const baseline = await models.messages.estimatedDocumentCount();
  let count = 0;
  let stopped = false;
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const resolve of waiters.splice(0)) resolve();
  };
  void (async () => {
    while (!stopped) {
      count = (await models.messages.estimatedDocumentCount().catch(() => baseline + count)) - baseline;
      wake();
      await sleep(everyMs);
    }
  })();
  return {
    count: () => count,
    changed: () => new Promise<void>((resolve) => waiters.push(resolve)),
    stop() {
      stopped = true;
      wake();
    },
  };
}

export interface OpenResult {
  /** When each conversation's event was handed to the dispatcher (ms since the epoch); NaN when it was not dispatched. */
  signalledAt: number[];
  /** How long each successful dispatch (its signalWithStart) took. */
  signalMs: number[];
  /** Events not dispatched, by the dispatcher's reason. */
  failures: Map<string, number>;
}

/**
 * Dispatches every event, one conversation per call as the ingress does, keeping at most `limit` conversations
 * being opened at once (signalled, first message not yet recorded): the figure per conversation is then its own
 * opening, not its place in a queue of all N.
 */
export async function openConversations(
  dispatcher: InboundDispatcher,
  events: DispatchableEvent[],
  options: { limit: number; recorded: RecordedCounter; deadline: number },
): Promise<OpenResult> {
  const { limit, recorded, deadline } = options;
  const result: OpenResult = { signalledAt: new Array<number>(events.length).fill(NaN), signalMs: [], failures: new Map() };
  const notDispatched = (reason: string): void => {
    result.failures.set(reason, (result.failures.get(reason) ?? 0) + 1);
  };
  let opening = 0;
  await pool(events.length, limit, async (index) => {
    while (opening - recorded.count() >= limit && Date.now() < deadline) await Promise.race([recorded.changed(), sleep(1_000)]);
    // Past the deadline, the rest is left: the worker is not keeping up, and the printout says how many.
    if (Date.now() >= deadline) return notDispatched('timeout');
    opening += 1;
    result.signalledAt[index] = Date.now();
    const began = performance.now();
    const report = await dispatcher.dispatch([events[index]!], { claimed: true }).catch(() => undefined);
    if (report?.dispatched === 1) {
      result.signalMs.push(performance.now() - began);
      return;
    }
    opening -= 1;
    result.signalledAt[index] = NaN;
    notDispatched(report === undefined ? 'threw' : (Object.entries(report).find(([, count]) => count > 0)?.[0] ?? 'nothing dispatched'));
  });
  return result;
}

export interface RecordedEvent {
  recordedAt: number;
  conversationId: string;
}

/**
 * When each event was recorded and into which conversation, once the count says they are all there: one read of the
 * accounts' events (a scan: the local database answers `_id: {$in: [...]}` by scanning too, once per query, so reading
 * them by `_id` a few hundred at a time costs more); read again until `deadline` while some are not marked yet.
 */
export async function readRecorded(models: Models, events: DispatchableEvent[], deadline: number): Promise<Map<string, RecordedEvent>> {
  const accountIds = [...new Set(events.map((event) => event.igAccountId))];
  const wanted = new Set(events.map((event) => event.eventKey));
  for (;;) {
    const documents = await models.webhookEvents
      .find({ igAccountId: { $in: accountIds } }, { status: 1, recordedAt: 1, conversationId: 1 })
      .lean<Array<{ _id: string; status: string; recordedAt: Date | null; conversationId: string | null }>>();
    const found = new Map<string, RecordedEvent>();
    for (const document of documents) {
      if (!wanted.has(document._id) || document.status !== 'recorded' || !document.recordedAt || !document.conversationId) continue;
      found.set(document._id, { recordedAt: document.recordedAt.getTime(), conversationId: document.conversationId });
    }
    if (found.size === wanted.size || Date.now() >= deadline) return found;
    await sleep(2_000);
  }
}
