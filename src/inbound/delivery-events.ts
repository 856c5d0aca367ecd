/**
 * A webhook delivery as the documents the ingress stores: one per event, under its dedupe key, in the status it
 * starts in. Pure; webhook-intake.ts writes them.
 */
import type { WebhookEvent, WebhookEventStatus } from '../db/models/webhook-event';
import { sha256Hex, splitWebhookPayload, type SplitEvent } from '../domain/webhook-events';

export type StoredEvent = Omit<WebhookEvent, 'conversationId' | 'dispatchedAt' | 'recordedAt' | 'skipReason'> & { dispatchedAt?: Date };

/** Every event of one delivery, ready to insert; a pending one is already claimed for the dispatch that follows. */
export function storedEventsOf(raw: Buffer, receivedAt: Date): StoredEvent[] {
  return splitDelivery(raw, receivedAt.getTime()).map((event) => toStored(event, receivedAt));
}

/** The events of one delivery; a body that is not an Instagram webhook at all is kept whole, as one invalid event. */
function splitDelivery(raw: Buffer, receivedAt: number): SplitEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    return [wholeBodyEvent(raw, receivedAt, `body is not JSON: ${(error as Error).message}`)];
  }
  const split = splitWebhookPayload(body, receivedAt);
  if (split.envelopeProblem !== null) return [wholeBodyEvent(raw, receivedAt, split.envelopeProblem)];
  return split.events;
}

function wholeBodyEvent(raw: Buffer, receivedAt: number, problem: string): SplitEvent {
  return {
    eventKey: `body:${sha256Hex(raw)}`,
    kind: 'unknown',
    igAccountId: null,
    customerIgsid: null,
    mid: null,
    occurredAt: receivedAt,
    payload: raw.toString('utf8'),
    problem,
  };
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
    payload: storableKeys(event.payload),
    problem: event.kind === 'change' ? null : event.problem,
    // Claimed for the dispatch that follows the answer; the sweeper takes it over if that one fails or never runs.
    ...(initialStatus(event) === 'pending' ? { dispatchedAt: receivedAt, dispatchAttempts: 1 } : { dispatchAttempts: 0 }),
  };
}

/**
 * The payload with every key the database refuses made storable: FerretDB (and MongoDB before 5.0) refuse keys that
 * start with "$" or contain ".", and such a refusal used to answer 503 on every redelivery until Meta unsubscribed
 * the app. Those two characters become their full-width forms (＄, ．); every other key and value stays as sent.
 */
function storableKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(storableKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key.replace(/^\$/, '\uff04').replaceAll('.', '\uff0e'), storableKeys(inner)]));
}
