/**
 * A webhook delivery as the documents the ingress stores: one per event, under its dedupe key, in the status it
 * starts in, each holding its own JSON text as Meta sent it. Stored as text, never as an object: Meta's keys never
 * become database keys, so no key (a NUL, a "$"), no array in an array and no depth can make a delivery unstorable.
 * Pure; webhook-intake.ts writes them.
 */
import { isUtf8 } from 'node:buffer';
import type { WebhookEvent, WebhookEventStatus } from '../db/models/webhook-event';
import { sha256Hex, splitWebhookDelivery, type SplitEvent } from '../domain/webhook-events';

export type StoredEvent = Omit<WebhookEvent, 'conversationId' | 'dispatchedAt' | 'recordedAt' | 'skipReason'> & { dispatchedAt?: Date };

/** The documents to store, or a delivery refused whole before anything is stored. */
export type DeliveryEvents = { outcome: 'events'; events: StoredEvent[] } | { outcome: 'too-many-entries'; entries: number; limit: number };

/** Every event of one delivery, ready to insert; a pending one is already claimed for the dispatch that follows. */
export function storedEventsOf(raw: Buffer, receivedAt: Date): DeliveryEvents {
  // Not UTF-8 cannot be JSON; kept as base64, since as text its bytes would be lost.
  if (!isUtf8(raw)) return { outcome: 'events', events: [toStored(wholeBodyEvent(raw, raw.toString('base64'), receivedAt.getTime(), 'body is not UTF-8 (kept as base64)'), receivedAt)] };
  const text = raw.toString('utf8');
  const split = splitWebhookDelivery(text, receivedAt.getTime());
  if (split.outcome === 'too-many-entries') return split;
  const events = split.outcome === 'events' ? split.events : [wholeBodyEvent(raw, text, receivedAt.getTime(), split.problem)];
  return { outcome: 'events', events: events.map((event) => toStored(event, receivedAt)) };
}

/** A body that is not an Instagram webhook at all is kept whole, as one invalid event. */
function wholeBodyEvent(raw: Buffer, payload: string, receivedAt: number, problem: string): SplitEvent {
  return { eventKey: `body:${sha256Hex(raw)}`, kind: 'unknown', igAccountId: null, customerIgsid: null, mid: null, occurredAt: receivedAt, payload, problem };
}

/** Kinds the inbox never dispatches: recorded as they came, with the reason. */
function initialStatus(event: SplitEvent): WebhookEventStatus {
  if (event.kind === 'unknown') return 'invalid';
  if (event.kind === 'change') return 'skipped';
  return 'pending';
}

function toStored(event: SplitEvent, receivedAt: Date): StoredEvent {
  return {
    _id: event.eventKey,
    eventKey: event.eventKey,
    status: initialStatus(event),
    kind: event.kind,
    igAccountId: event.igAccountId,
    customerIgsid: event.customerIgsid,
    mid: event.mid,
    occurredAt: new Date(event.occurredAt),
    receivedAt,
    payload: event.payload,
    problem: event.kind === 'change' ? null : event.problem,
    // Claimed for the dispatch that follows the answer; the sweeper takes it over if that one fails or never runs.
    ...(initialStatus(event) === 'pending' ? { dispatchedAt: receivedAt, dispatchAttempts: 1 } : { dispatchAttempts: 0 }),
  };
}
