/**
 * What operators see of the flow, as Prometheus metrics: each process (api, worker) has a registry of its own, with
 * Node's process metrics and the counters of what happens in it. Labels are chosen from small closed sets (an
 * event's kind, an outcome), never ids, names or text: a series per customer or per event would grow without bound
 * and carry what the inbox keeps to itself.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { InboundEventKind } from '../domain/webhook-events';

/** How the webhook ingress answered Meta: stored (2xx), refused (4xx: signature, size), unavailable (5xx: Meta delivers again). */
export type WebhookAckOutcome = 'stored' | 'refused' | 'unavailable';
/** How an event ended in the inbox: shown, kept but not shown on purpose, or an echo of the engine's own reply. */
export type RecordedEventOutcome = 'recorded' | 'skipped' | 'matched-own-send';
/** What became of a reply: Meta took it, refused it (or it could not be tried), or nobody can tell. */
export type SendOutcome = 'sent' | 'failed' | 'unknown';

/** Everything the engine counts. Each part of it takes the few methods it uses, as a `Pick` of this. */
export interface EngineMetrics {
  webhookAcknowledged(outcome: WebhookAckOutcome, seconds: number): void;
  webhookEventsStored(kinds: readonly string[]): void;
  inboundEventsHeld(kinds: readonly string[]): void;
  inboundEventRecorded(kind: string, outcome: RecordedEventOutcome): void;
  inboundEventParked(kind: string): void;
  sendSettled(outcome: SendOutcome): void;
}

/** A process's registry, to be scraped. */
export interface MetricsRegistry {
  registry: Registry;
}

export type ApiMetrics = MetricsRegistry & Pick<EngineMetrics, 'webhookAcknowledged' | 'webhookEventsStored' | 'inboundEventsHeld' | 'inboundEventRecorded' | 'inboundEventParked'>;
export type WorkerMetrics = MetricsRegistry & Pick<EngineMetrics, 'inboundEventRecorded' | 'inboundEventParked' | 'sendSettled'>;

// A Record, so that a kind added to the domain without being added here fails the type check.
const KNOWN_KINDS: Record<InboundEventKind, true> = {
  message: true,
  echo: true,
  deleted: true,
  reaction: true,
  read: true,
  postback: true,
  referral: true,
  edit: true,
  change: true,
  unknown: true,
};
const inboundEventKinds = Object.keys(KNOWN_KINDS) as InboundEventKind[];

/** Stored documents carry the kind as a string: anything outside the domain's list is labelled `unknown`, so the set stays closed. */
export function kindLabel(kind: string): InboundEventKind {
  return Object.hasOwn(KNOWN_KINDS, kind) ? (kind as InboundEventKind) : 'unknown';
}

/** Meta gives up after about 5 s (META-API 1.7) and the ingress after 4 s: both limits are bucket bounds. */
const ACK_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 5, 10];

function newRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Counted by the worker's inbound activities and by the API's dispatcher (the echoes of replies already sent). */
function recordedEventsCounter(registry: Registry): Pick<EngineMetrics, 'inboundEventRecorded'> {
  const counter = new Counter({
    name: 'igdm_inbound_events_recorded_total',
    help: 'Webhook events applied to the inbox, once each, by kind and outcome (recorded, skipped, matched-own-send)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  return { inboundEventRecorded: (kind, outcome) => counter.inc({ kind: kindLabel(kind), outcome }) };
}

/**
 * Events set aside with their reason: by the worker when they cannot be recorded, by the API when Temporal refuses
 * every signal that would hand them over. Each process counts its own; a scrape of both sums them.
 */
function parkedEventsCounter(registry: Registry): Pick<EngineMetrics, 'inboundEventParked'> {
  const parked = eventsByKindCounter(registry, 'igdm_inbound_events_parked_total', 'Webhook events set aside because they could not be recorded or handed to their conversation, by kind');
  return { inboundEventParked: (kind) => parked([kind]) };
}

/** A counter by event kind, every kind present from the start (at 0), so a rate is defined before the first event. */
function eventsByKindCounter(registry: Registry, name: string, help: string): (kinds: readonly string[]) => void {
  const counter = new Counter({ name, help, labelNames: ['kind'] as const, registers: [registry] });
  for (const kind of inboundEventKinds) counter.inc({ kind }, 0);
  return (kinds) => {
    for (const kind of kinds) counter.inc({ kind: kindLabel(kind) });
  };
}

export function createApiMetrics(): ApiMetrics {
  const registry = newRegistry();
  const acknowledgements = new Histogram({
    name: 'igdm_webhook_ack_duration_seconds',
    help: "Time from a webhook delivery's arrival to the engine's answer, by outcome (stored, refused, unavailable)",
    labelNames: ['outcome'] as const,
    buckets: ACK_BUCKETS_SECONDS,
    registers: [registry],
  });
  for (const outcome of ['stored', 'refused', 'unavailable'] as const) acknowledgements.zero({ outcome });
  return {
    registry,
    webhookAcknowledged: (outcome, seconds) => acknowledgements.observe({ outcome }, seconds),
    webhookEventsStored: eventsByKindCounter(registry, 'igdm_webhook_events_stored_total', 'Webhook events stored by the ingress for the first time (repeats not counted), by kind'),
    inboundEventsHeld: eventsByKindCounter(registry, 'igdm_inbound_events_held_total', 'Webhook events held because their account must be re-authenticated, by kind'),
    ...recordedEventsCounter(registry),
    ...parkedEventsCounter(registry),
  };
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = newRegistry();
  const sends = new Counter({
    name: 'igdm_outbound_sends_total',
    help: 'Replies settled, by outcome (sent, failed, unknown); an unknown one an echo later confirms counts as sent too',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of ['sent', 'failed', 'unknown'] as const) sends.inc({ outcome }, 0);
  return {
    registry,
    ...recordedEventsCounter(registry),
    ...parkedEventsCounter(registry),
    sendSettled: (outcome) => sends.inc({ outcome }),
  };
}
