/**
 * Meta's webhook ingress. `GET` answers the subscription handshake; `POST` checks the signature over the raw
 * bytes, stores every event of the batch with its dedupe key, answers 200, and only then hands the new events to
 * their conversation workflows. A storage failure answers 503 so that Meta delivers again; a delivery of more
 * entries than Meta ever batches answers 413, nothing stored. The storing and the
 * hand-over are the inbound intake's (src/inbound/webhook-intake.ts); this router only speaks HTTP.
 */
import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { WebhookIntake } from '../../inbound/webhook-intake';
import type { EngineMetrics, WebhookAckOutcome } from '../../metrics/engine-metrics';
import { verifySignature } from '../../security/webhook-signature';
import { errorBodySchema, HttpError } from '../errors';
import type { RouteDocumentation } from '../route-definitions';

/** Meta's delivery as the document describes it (the route reads the raw bytes: the signature is over them). */
const webhookEnvelopeSchema = z.looseObject({
  object: z.literal('instagram'),
  entry: z.array(
    z.looseObject({
      id: z.string().regex(/^\d{1,32}$/).describe('The Instagram account the events are for (Meta ids are strings of digits)'),
      time: z.number().describe('ms since the epoch'),
      messaging: z.array(z.looseObject({ sender: z.object({ id: z.string() }), recipient: z.object({ id: z.string() }), timestamp: z.number() })).optional(),
      changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })).optional(),
    }),
  ).max(1000),
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
    description:
      'Every event is stored, as its own JSON text, before the answer; what cannot be read is stored as invalid with the reason. Only a database that is down or saturated answers 503, so that Meta delivers again.',
    tags: ['webhooks'],
    auth: 'none',
    headers: z.object({ 'X-Hub-Signature-256': z.string().describe('`sha256=<hex HMAC-SHA256 of the raw body with the app secret>`') }),
    rawBody: { description: "Meta's JSON envelope, as Meta signed it", contentType: 'application/json', schema: webhookEnvelopeSchema, required: true },
    responses: {
      200: { description: 'Stored', contentType: 'text/plain', schema: z.literal('EVENT_RECEIVED') },
      400: {
        description: 'InvalidContentEncoding: the body is not what its Content-Encoding says',
        schema: errorBodySchema,
      },
      401: { description: 'InvalidSignature: missing, malformed or not matching', schema: errorBodySchema },
      413: { description: 'PayloadTooLarge, or TooManyEntries: more than the 1,000 entries Meta ever batches; nothing stored', schema: errorBodySchema },
      415: { description: 'UnsupportedEncoding: a Content-Encoding other than gzip, deflate or br', schema: errorBodySchema },
      503: { description: 'StorageUnavailable: the database is down or too slow; IngressSaturated: as many entries as the ingress stores at once are being stored, with Retry-After. Meta delivers again', schema: errorBodySchema },
    },
  },
];

/** What a refused delivery is told to wait: about the time the database takes to catch up with a burst. */
const SATURATED_RETRY_AFTER_SECONDS = 2;

export interface WebhookRouterDeps {
  intake: WebhookIntake;
  appSecret: string;
  verifyToken: string;
  maxBodyBytes: number;
  metrics: Pick<EngineMetrics, 'webhookAcknowledged'>;
}

/** What Meta makes of the answer: 2xx stored, 5xx delivered again later, anything else refused for good. */
function acknowledgementOutcome(status: number): WebhookAckOutcome {
  if (status >= 500) return 'unavailable';
  return status < 300 ? 'stored' : 'refused';
}

/**
 * Times a delivery from its arrival to the answer, the wait Meta sees. Placed before the body is read, so a body
 * refused for its size (413) is timed as well; a connection dropped before any answer is not an acknowledgement.
 */
function timeAcknowledgement(metrics: WebhookRouterDeps['metrics']): RequestHandler {
  return (_req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => metrics.webhookAcknowledged(acknowledgementOutcome(res.statusCode), Number(process.hrtime.bigint() - started) / 1e9));
    next();
  };
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

  router.post('/webhooks/instagram', timeAcknowledgement(deps.metrics), express.raw({ type: () => true, limit: deps.maxBodyBytes }), async (req, res) => {
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = verifySignature(deps.appSecret, raw, req.get('x-hub-signature-256'));
    if (!signature.ok) {
      const message = signature.reason === 'missing' ? 'X-Hub-Signature-256 header is missing' : signature.reason === 'malformed' ? 'X-Hub-Signature-256 is not of the form sha256=<64 hex digits>' : 'X-Hub-Signature-256 does not match the body';
      throw new HttpError(401, 'InvalidSignature', message);
    }

    const intake = await deps.intake.receive(raw);
    if (intake.outcome === 'too-many-entries') {
      throw new HttpError(413, 'TooManyEntries', `the delivery has ${intake.entries} entries; Meta batches at most ${intake.limit}, so nothing of it was stored`);
    }
    if (intake.outcome === 'saturated') {
      res.set('Retry-After', String(SATURATED_RETRY_AFTER_SECONDS));
      throw new HttpError(503, 'IngressSaturated', `${intake.entriesInFlight} entries are being stored already; deliver again in ${SATURATED_RETRY_AFTER_SECONDS} s`);
    }
    if (intake.outcome === 'unavailable') throw new HttpError(503, 'StorageUnavailable', 'the events could not be stored; deliver again later');
    res.status(200).type('text/plain').send('EVENT_RECEIVED');
    intake.dispatchNew();
  });

  return router;
}
