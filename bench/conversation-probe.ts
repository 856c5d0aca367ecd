/**
 * "A message to any of them is still recorded within a second", for bench:conversations: customers of conversations
 * already open write again at the emulator, one at a time; each message goes to the engine's webhook ingress as Meta
 * sends it (a signed POST), and the figure is from the POST to the `recordedAt` the recording activity stamps on its
 * event (the worker's clock; the same machine's). Most of those workflows have left the worker's cache by then, so
 * the figure includes replaying their history.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Emulator } from '../emulator/app';
import type { Models } from '../src/db/models';
import { signBody } from '../src/security/webhook-signature';
import { customerWrites, webhookBody, type Customer } from './conversation-open';

export interface ProbeTarget {
  customer: Customer;
  /** The conversation its first message was recorded into: the probe must land in the same one. */
  conversationId: string;
}

export interface ProbeResult {
  /** The ingress's answer (200 once stored) and how long it took. */
  status: number;
  ackMs: number;
  /** POST → recordedAt; undefined when not recorded within the probe's timeout. */
  recordedMs: number | undefined;
  /** What the event became (recorded, parked, still pending...). */
  eventStatus: string;
  sameConversation: boolean;
}

export interface ProbeOptions {
  emulator: Emulator;
  models: Models;
  webhookUrl: string;
  appSecret: string;
  timeoutMs: number;
}

/** `count` distinct picks at random (all of them when there are fewer). */
export function pickAtRandom<T>(items: T[], count: number): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy.slice(0, count);
}

async function postSigned(options: ProbeOptions, raw: Buffer): Promise<number> {
  const response = await fetch(options.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(options.appSecret, raw) }, body: raw });
  await response.arrayBuffer();
  return response.status;
}

/** Reads the event by `_id` (the one lookup the local database answers through its index) until it is settled. */
async function waitForEvent(models: Models, eventKey: string, deadline: number): Promise<{ status: string; recordedAt?: Date | null; conversationId?: string | null }> {
  for (;;) {
    const event = await models.webhookEvents
      .findOne({ _id: eventKey }, { status: 1, recordedAt: 1, conversationId: 1 })
      .lean<{ status: string; recordedAt: Date | null; conversationId: string | null }>();
    if ((event && event.status !== 'pending') || Date.now() >= deadline) return event ?? { status: 'not stored' };
    await sleep(20);
  }
}

/** One probe: the customer writes, the delivery is POSTed, the event is watched until recorded. */
async function probe(options: ProbeOptions, target: ProbeTarget, index: number): Promise<ProbeResult> {
  const { entry, mid } = customerWrites(options.emulator, target.customer, `Probe ${index}: still there?`);
  const raw = webhookBody([entry]);
  const sentAt = Date.now();
  const began = performance.now();
  const status = await postSigned(options, raw);
  const ackMs = performance.now() - began;
  if (status !== 200) return { status, ackMs, recordedMs: undefined, eventStatus: 'refused', sameConversation: false };
  const event = await waitForEvent(options.models, `message:${mid}`, sentAt + options.timeoutMs);
  const recordedAt = event.status === 'recorded' ? event.recordedAt?.getTime() : undefined;
  return { status, ackMs, recordedMs: recordedAt === undefined ? undefined : recordedAt - sentAt, eventStatus: event.status, sameConversation: event.conversationId === target.conversationId };
}

/** The probes one after another, so that each is measured alone. */
export async function probeConversations(options: ProbeOptions, targets: ProbeTarget[]): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (const [index, target] of targets.entries()) {
    results.push(await probe(options, target, index));
    await sleep(100);
  }
  return results;
}
