/**
 * The load of `npm run bench:webhooks`: Instagram webhook deliveries as Meta sends them, signed with the app secret
 * over the raw bytes, POSTed over loopback on keep-alive connections. Closed loop: N in flight, each answer sends
 * the next. Open loop: each POST leaves at its time on a fixed schedule, whatever the answers, so a slow engine
 * meets the same load as a fast one (a closed loop would slow down with it and hide its latency).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessagingEvent, WebhookPayload } from '../emulator/webhook-schema';
import { signBody } from '../src/security/webhook-signature';
import type { Customer } from './webhook-stack';

/** A POST not answered in this long counts as unanswered; Meta itself gives up after 5 s. */
const ANSWER_TIMEOUT_MS = 10_000;

export interface SentMessage {
  mid: string;
  /** Index of its customer. */
  customer: number;
  /** Its place in the run's order of generation, which is also the order of its Meta timestamp. */
  seq: number;
  /** Date.now() when its POST was sent: the same clock as the worker's `recordedAt`. */
  sentAt: number;
  /** Its delivery was answered 200: the engine owes it to the inbox. Any other answer, Meta delivers again. */
  acked: boolean;
}

export interface Delivery {
  body: Buffer;
  signature: string;
  messages: SentMessage[];
}

export interface LoadResult {
  messages: SentMessage[];
  deliveries: number;
  /** POST → 200, ms, of the deliveries answered 200. */
  ackMs: number[];
  /** Answers by status; 0 is no answer (a network error, or none within ANSWER_TIMEOUT_MS). */
  statuses: Map<number, number>;
  /** Date.now() of the first POST. */
  startedAt: number;
  /** Date.now() when the load stopped sending (open loop: the end of its schedule). */
  windowEndedAt: number;
  /** Date.now() of the last answer. */
  answeredAt: number;
  /** Open loop: how late each POST left against its schedule, ms (the generator keeping up or not). */
  lateMs: number[];
}

export interface MessageSource {
  /** One delivery of `entries` single-message entries, the next customers in turn. */
  delivery(tag: string, entries: number): Delivery;
}

export function createMessageSource(options: { runId: string; igAccountId: string; appSecret: string; customers: Customer[] }): MessageSource {
  const { igAccountId, customers } = options;
  let seq = 0;
  let lastTimestamp = 0;
  return {
    delivery(tag, entries) {
      const messages: SentMessage[] = [];
      const entry: WebhookPayload['entry'] = [];
      for (let i = 0; i < entries; i += 1, seq += 1) {
        const customer = seq % customers.length;
        // Strictly increasing, so a conversation must show its messages in the order they were generated.
        lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
        const mid = `bench.${options.runId}.${tag}.${seq}`;
        const text = `Hello @demo.shop, is order #${100000 + seq} on its way? (${tag} message ${seq})`;
        const event: MessagingEvent = { sender: { id: customers[customer]!.igsid }, recipient: { id: igAccountId }, timestamp: lastTimestamp, message: { mid, text } };
        entry.push({ id: igAccountId, time: lastTimestamp, messaging: [event] });
        messages.push({ mid, customer, seq, sentAt: 0, acked: false });
      }
      const payload: WebhookPayload = { object: 'instagram', entry };
      const body = Buffer.from(JSON.stringify(payload), 'utf8');
      return { body, signature: signBody(options.appSecret, body), messages };
    },
  };
}

export interface Poster {
  post(delivery: Delivery): Promise<{ status: number; ms: number }>;
  close(): void;
}

/** node:http with keep-alive: less work per request than fetch, so the generator takes less of the machine. */
export function createPoster(url: string, maxSockets = Infinity): Poster {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return {
    post(delivery) {
      const started = performance.now();
      return new Promise((resolve) => {
        const answered = (status: number): void => resolve({ status, ms: performance.now() - started });
        const request = http.request(
          {
            agent,
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': delivery.body.length, 'x-hub-signature-256': delivery.signature },
            timeout: ANSWER_TIMEOUT_MS,
          },
          (response) => {
            response.resume();
            response.once('end', () => answered(response.statusCode ?? 0));
            response.once('error', () => answered(0));
          },
        );
        request.once('timeout', () => request.destroy(new Error('no answer in time')));
        request.once('error', () => answered(0));
        request.end(delivery.body);
      });
    },
    close: () => agent.destroy(),
  };
}

function emptyResult(): LoadResult {
  const now = Date.now();
  return { messages: [], deliveries: 0, ackMs: [], statuses: new Map(), startedAt: now, windowEndedAt: now, answeredAt: now, lateMs: [] };
}

async function send(poster: Poster, delivery: Delivery, result: LoadResult): Promise<void> {
  const sentAt = Date.now();
  for (const message of delivery.messages) {
    message.sentAt = sentAt;
    result.messages.push(message);
  }
  result.deliveries += 1;
  const answer = await poster.post(delivery);
  result.statuses.set(answer.status, (result.statuses.get(answer.status) ?? 0) + 1);
  result.answeredAt = Math.max(result.answeredAt, Date.now());
  if (answer.status !== 200) return;
  result.ackMs.push(answer.ms);
  for (const message of delivery.messages) message.acked = true;
}

/** `concurrency` single-message deliveries in flight for `durationMs`: as many acknowledgements as the target gives. */
export async function closedLoop(poster: Poster, source: MessageSource, options: { tag: string; concurrency: number; durationMs: number }): Promise<LoadResult> {
  const result = emptyResult();
  const endAt = performance.now() + options.durationMs;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < endAt) await send(poster, source.delivery(options.tag, 1), result);
    }),
  );
  result.windowEndedAt = Date.now();
  return result;
}

/**
 * `rate` single-message deliveries a second for `durationMs`, the i-th due at start + i / rate. Whatever is due
 * leaves at once, answered or not; when the generator was late (a busy machine), it catches up and says how late.
 * `onWindowEnd` runs when the last POST has left, before its answers come.
 */
export async function openLoop(poster: Poster, source: MessageSource, options: { tag: string; rate: number; durationMs: number; onWindowEnd?: () => void }): Promise<LoadResult> {
  const result = emptyResult();
  const total = Math.max(1, Math.round((options.rate * options.durationMs) / 1000));
  const intervalMs = 1000 / options.rate;
  const began = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let next = 0; next < total; ) {
    const now = performance.now();
    for (; next < total && began + next * intervalMs <= now; next += 1) {
      result.lateMs.push(now - (began + next * intervalMs));
      inFlight.push(send(poster, source.delivery(options.tag, 1), result));
    }
    if (next < total) await sleep(Math.max(0, began + next * intervalMs - performance.now()));
  }
  // The window is the schedule's length, or longer if the last POST left late.
  await sleep(Math.max(0, began + total * intervalMs - performance.now()));
  result.windowEndedAt = Date.now();
  options.onWindowEnd?.();
  await Promise.all(inFlight);
  return result;
}

/** One delivery of `entries` entries (Meta batches up to 1,000). */
export async function oneBatch(poster: Poster, source: MessageSource, options: { tag: string; entries: number }): Promise<LoadResult> {
  const result = emptyResult();
  await send(poster, source.delivery(options.tag, options.entries), result);
  result.windowEndedAt = result.answeredAt;
  return result;
}
