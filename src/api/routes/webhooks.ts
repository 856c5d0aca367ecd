/**
 * Meta's webhook ingress. `GET` answers the subscription handshake; `POST` checks the signature over the raw
 * bytes, stores every event of the batch with its dedupe key, answers 200, and only then hands the new events to
 * their conversation workflows. A storage failure answers 503 so that Meta delivers again.
 */
import express, { Router } from 'express';
import { ConnectionStates } from 'mongoose';
import { z } from 'zod';
import { withTimeout } from '../../async';
import type { Models } from '../../db/models';
import type { WebhookEvent, WebhookEventStatus } from '../../db/models/webhook-event';
import { sha256Hex, splitWebhookPayload, type SplitEvent } from '../../domain/webhook-events';
import type { DispatchableEvent, InboundDispatcher } from '../../inbound/dispatcher';
import type { Logger } from '../../logger';
import { verifySignature } from '../../security/webhook-signature';
import { errorBodySchema, HttpError } from '../errors';
import type { RouteDocumentation } from '../route-definitions';

/** Meta's delivery as the document describes it (the route reads the raw bytes: the signature is over them). */
const webhookEnvelopeSchema = z.looseObject({
  object: z.literal('instagram'),
  entry: z.array(
    z.looseObject({
      id: z.string().describe('The Instagram account the events are for'),
      time: z.number().describe('ms since the epoch'),
      messaging: z.array(z.looseObject({ sender: z.object({ id: z.string() }), recipient: z.object({ id: z.string() }), timestamp: z.number() })).optional(),
      changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })).optional(),
    }),
  ),
});

/** The two webhook routes, declared for the API document; they are served by `createWebhookRouter` below. */
export const webhookRouteDocs: RouteDocumentation[] = [
  {
    method: 'get',
    path: '/webhooks/instagram',
    operationId: 'webhookHandshake',
    summary: "Meta's subscription handshake",
    tags: ['webhooks'],
    auth: 'none',
    query: z.object({
      'hub.mode': z.literal('subscribe'),
      'hub.verify_token': z.string().describe('Must equal META_WEBHOOK_VERIFY_TOKEN'),
      'hub.challenge': z.string().min(1),
    }),
    responses: {
      200: { description: 'The challenge, echoed', contentType: 'text/plain', schema: z.string() },
      400: { description: 'InvalidHandshake: not a subscription request', schema: errorBodySchema },
      403: { description: 'VerifyTokenMismatch', schema: errorBodySchema },
    },
  },
  {
    method: 'post',
    path: '/webhooks/instagram',
    operationId: 'webhookDelivery',
    summary: "Meta's signed event delivery",
    description: 'Every event is stored before the answer; a delivery that cannot be stored answers 503 so that Meta delivers it again.',
    tags: ['webhooks'],
    auth: 'none',
    headers: z.object({ 'X-Hub-Signature-256': z.string().describe('`sha256=<hex HMAC-SHA256 of the raw body with the app secret>`') }),
    rawBody: { description: "Meta's JSON envelope, as Meta signed it", contentType: 'application/json', schema: webhookEnvelopeSchema, required: true },
    responses: {
      200: { description: 'Stored', contentType: 'text/plain', schema: z.literal('EVENT_RECEIVED') },
      401: { description: 'InvalidSignature: missing, malformed or not matching', schema: errorBodySchema },
      413: { description: 'PayloadTooLarge', schema: errorBodySchema },
      503: { description: 'StorageUnavailable: Meta delivers again', schema: errorBodySchema },
    },
  },
];

export interface WebhookRouterDeps {
  models: Pick<Models, 'webhookEvents'>;
  dispatcher: InboundDispatcher;
  logger: Logger;
  appSecret: string;
  verifyToken: string;
  maxBodyBytes: number;
  /** How long storing a delivery may take before the answer is 503: under the 5 s Meta waits (META-API 1.7). */
  storeTimeoutMs?: number;
}

type StoredEvent = Omit<WebhookEvent, 'conversationId' | 'dispatchedAt' | 'recordedAt' | 'skipReason'> & { dispatchedAt?: Date };

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

export function createWebhookRouter(deps: WebhookRouterDeps): Router {
  const router = Router();

  router.get('/webhooks/instagram', (req, res) => {
    const mode = req.query['hub.mode'];
    const token = req.query['hub.verify_token'];
    const challenge = req.query['hub.challenge'];
    if (mode !== 'subscribe' || typeof challenge !== 'string' || challenge === '') {
      throw new HttpError(400, 'InvalidHandshake', 'expected hub.mode=subscribe with a hub.challenge');
    }
    if (token !== deps.verifyToken) throw new HttpError(403, 'VerifyTokenMismatch', 'hub.verify_token does not match this app');
    res.status(200).type('text/plain').send(challenge);
  });

  router.post('/webhooks/instagram', express.raw({ type: () => true, limit: deps.maxBodyBytes }), async (req, res) => {
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = verifySignature(deps.appSecret, raw, req.get('x-hub-signature-256'));
    if (!signature.ok) {
      const message = signature.reason === 'missing' ? 'X-Hub-Signature-256 header is missing' : signature.reason === 'malformed' ? 'X-Hub-Signature-256 is not of the form sha256=<64 hex digits>' : 'X-Hub-Signature-256 does not match the body';
      throw new HttpError(401, 'InvalidSignature', message);
    }

    const receivedAt = new Date();
    const stored = splitDelivery(raw, receivedAt.getTime()).map((event) => toStored(event, receivedAt));
    let inserted: StoredEvent[];
    try {
      // Mongoose holds operations back while the connection is down (10 s by default) and the driver waits 5 s for
      // a server: longer than Meta waits, so Meta saw a timeout instead of our 503. Fail at once when not
      // connected, and give up on a slow insert before Meta does. An insert that still lands after the 503 is
      // harmless: the redelivery is deduplicated and the sweeper dispatches what is pending.
      if (deps.models.webhookEvents.db.readyState !== ConnectionStates.connected) throw new Error('database not connected');
      inserted = await withTimeout(insertNew(deps.models.webhookEvents, stored), deps.storeTimeoutMs ?? 4000, 'storing webhook events');
    } catch (error) {
      deps.logger.error('webhook events could not be stored; Meta will deliver again', { error: (error as Error).message, events: stored.length });
      throw new HttpError(503, 'StorageUnavailable', 'the events could not be stored; deliver again later');
    }
    res.status(200).type('text/plain').send('EVENT_RECEIVED');

    const toDispatch: DispatchableEvent[] = inserted.filter((event) => event.status === 'pending');
    if (toDispatch.length > 0) {
      deps.dispatcher.dispatch(toDispatch, { claimed: true }).catch((error: unknown) => {
        deps.logger.warn('dispatch after acknowledgement failed; the sweeper retries', { error: (error as Error).message });
      });
    }
  });

  return router;
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

/**
 * Inserts every event, skipping those already stored (a second delivery, or the same event twice in one batch).
 * Returns the ones that are new. Any other write error fails the whole call, so that Meta delivers again.
 */
async function insertNew(model: Models['webhookEvents'], events: StoredEvent[]): Promise<StoredEvent[]> {
  const unique = [...new Map(events.map((event) => [event.eventKey, event])).values()];
  if (unique.length === 0) return [];
  try {
    // The raw collection: mongoose's insertMany would cast and validate each of up to 1,000 documents first.
    await model.collection.insertMany(unique as unknown as Array<Record<string, unknown>>, { ordered: false });
    return unique;
  } catch (error) {
    const writeErrors = (error as { writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } }).writeErrors;
    const failures = writeErrors === undefined ? [] : Array.isArray(writeErrors) ? writeErrors : [writeErrors];
    if (failures.length === 0 || failures.some((failure) => failure.code !== 11000)) throw error;
    const duplicates = new Set(failures.map((failure) => failure.index));
    return unique.filter((_, index) => !duplicates.has(index));
  }
}
