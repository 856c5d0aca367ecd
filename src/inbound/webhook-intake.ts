/**
 * What the webhook ingress does with a signed delivery: store every event under its dedupe key before Meta gets
 * its answer, then hand the new ones to the dispatcher. The route answers; this module decides what is kept.
 */
import { ConnectionStates } from 'mongoose';
import { withTimeout } from '../async';
import type { Models } from '../db/models';
import type { Logger } from '../logger';
import type { EngineMetrics } from '../metrics/engine-metrics';
import { storedEventsOf, type StoredEvent } from './delivery-events';
import type { DispatchableEvent, InboundDispatcher } from './dispatcher';
import { insertNewEvents } from './insert-new-events';
import { createIntakeAdmission } from './intake-admission';

/** A hand-over after the answer that failed is tried again after this pause, this many times in all. */
const DISPATCH_RETRY_DELAY_MS = 1000;
const DISPATCH_ATTEMPTS = 30;
/** How long the keys of events whose insert failed are kept, waiting for Meta's redelivery (see `unconfirmed`). */
const UNCONFIRMED_KEPT_MS = 10 * 60 * 1000;

export interface WebhookIntakeDeps {
  models: Pick<Models, 'webhookEvents'>;
  dispatcher: Pick<InboundDispatcher, 'dispatch'>;
  logger: Pick<Logger, 'error' | 'warn'>;
  metrics: Pick<EngineMetrics, 'webhookEventsStored'>;
  /** How long storing a delivery may take before it counts as not stored: under the 5 s Meta waits (META-API 1.7). */
  storeTimeoutMs?: number;
  /** Entries stored at once; past it a delivery is refused without a write (see intake-admission.ts). */
  maxEntriesInFlight: number;
}

/**
 * Stored: call `dispatchNew` once Meta has its answer. Unavailable: not stored, Meta must deliver again. Too many
 * entries: refused whole, nothing stored.
 */
export type IntakeResult =
  | { outcome: 'stored'; dispatchNew(): void }
  | { outcome: 'unavailable' }
  /** Refused without a write: as many entries as the bound are being stored. Meta delivers it again. */
  | { outcome: 'saturated'; entriesInFlight: number }
  | { outcome: 'too-many-entries'; entries: number; limit: number };

export interface WebhookIntake {
  receive(raw: Buffer): Promise<IntakeResult>;
}

export function createWebhookIntake(deps: WebhookIntakeDeps): WebhookIntake {
  const storeTimeoutMs = deps.storeTimeoutMs ?? 4000;
  const admission = createIntakeAdmission({ maxEntriesInFlight: deps.maxEntriesInFlight });

  /**
   * Keys of events whose insert was sent but failed or timed out, and when. The insert may have landed all the same
   * (after the 503, or in a database that died before it answered): stored, claimed for a hand-over that never came,
   * which the sweeper would only take once the claim is stale (minutes). Meta delivers them again; then they are found
   * stored, and handed over at once. Kept in this process only: a redelivery to another replica leaves them to the
   * sweeper.
   */
  const unconfirmed = new Map<string, number>();

  function rememberUnconfirmed(events: StoredEvent[]): void {
    const now = Date.now();
    for (const [key, at] of unconfirmed) {
      if (now - at <= UNCONFIRMED_KEPT_MS) break;
      unconfirmed.delete(key);
    }
    for (const event of events) {
      if (event.status !== 'pending') continue;
      // Moved to the end, so that the oldest come first.
      unconfirmed.delete(event.eventKey);
      unconfirmed.set(event.eventKey, now);
    }
  }

  /** The events that were not stored before, or null when the delivery could not be stored. */
  async function store(events: StoredEvent[]): Promise<StoredEvent[] | null> {
    let sent = false;
    try {
      // Mongoose holds operations back while the connection is down (10 s by default) and the driver waits 5 s for
      // a server: longer than Meta waits, so Meta saw a timeout instead of our 503. Fail at once when not
      // connected, and give up on a slow insert before Meta does.
      if (deps.models.webhookEvents.db.readyState !== ConnectionStates.connected) throw new Error('database not connected');
      sent = true;
      return await withTimeout(insertNewEvents(deps.models.webhookEvents, events), storeTimeoutMs, 'storing webhook events');
    } catch (error) {
      if (sent) rememberUnconfirmed(events);
      deps.logger.error('webhook events could not be stored; Meta will deliver again', { error: (error as Error).message, events: events.length });
      return null;
    }
  }

  /**
   * Not awaited by anyone. The events are stored claimed by this process, and the sweeper leaves a claim alone until
   * it is stale (minutes): a hand-over that fails (the database gone just after the answer) is tried again here, so
   * that the events go as soon as it is back. Once the attempts are spent, or if this process stops, the sweeper's
   * stale-claim round takes them over.
   */
  function dispatchNew(events: StoredEvent[]): void {
    const toDispatch: DispatchableEvent[] = events.filter((event) => event.status === 'pending');
    if (toDispatch.length === 0) return;
    void (async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await deps.dispatcher.dispatch(toDispatch, { claimed: true });
          return;
        } catch (error) {
          const spent = attempt >= DISPATCH_ATTEMPTS;
          if (attempt === 1 || spent) {
            const next = spent ? 'the sweeper takes the events over once their claim is stale' : 'trying again';
            deps.logger.warn(`dispatch after acknowledgement failed; ${next}`, { attempt, error: (error as Error).message });
          }
          if (spent) return;
          // Unref'd: a retry never keeps a stopping process alive (the sweeper covers what it leaves).
          await new Promise((resolve) => setTimeout(resolve, DISPATCH_RETRY_DELAY_MS).unref());
        }
      }
    })();
  }

  return {
    async receive(raw) {
      const delivery = storedEventsOf(raw, new Date());
      if (delivery.outcome === 'too-many-entries') return delivery;
      const { events } = delivery;
      const release = admission.tryAdmit(events.length);
      if (!release) return { outcome: 'saturated', entriesInFlight: admission.inFlight().entries };
      const inserted = await store(events).finally(release);
      if (inserted === null) return { outcome: 'unavailable' };
      deps.metrics.webhookEventsStored(inserted.map((event) => event.kind));
      // Found stored, after an insert of ours that failed: nobody handed them over.
      const insertedKeys = new Set(inserted.map((event) => event.eventKey));
      const unclaimed = [...new Map(events.filter((event) => unconfirmed.has(event.eventKey) && !insertedKeys.has(event.eventKey)).map((event) => [event.eventKey, event])).values()];
      for (const event of events) unconfirmed.delete(event.eventKey);
      return { outcome: 'stored', dispatchNew: () => dispatchNew([...inserted, ...unclaimed]) };
    },
  };
}
