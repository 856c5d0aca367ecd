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

export interface WebhookIntakeDeps {
  models: Pick<Models, 'webhookEvents'>;
  dispatcher: Pick<InboundDispatcher, 'dispatch'>;
  logger: Pick<Logger, 'error' | 'warn'>;
  metrics: Pick<EngineMetrics, 'webhookEventsStored'>;
  /** How long storing a delivery may take before it counts as not stored: under the 5 s Meta waits (META-API 1.7). */
  storeTimeoutMs?: number;
}

/** Stored: call `dispatchNew` once Meta has its answer. Not stored: Meta must deliver again. */
export type IntakeResult = { stored: true; dispatchNew(): void } | { stored: false };

export interface WebhookIntake {
  receive(raw: Buffer): Promise<IntakeResult>;
}

export function createWebhookIntake(deps: WebhookIntakeDeps): WebhookIntake {
  const storeTimeoutMs = deps.storeTimeoutMs ?? 4000;

  /** The events that were not stored before, or null when the delivery could not be stored. */
  async function store(events: StoredEvent[]): Promise<StoredEvent[] | null> {
    try {
      // Mongoose holds operations back while the connection is down (10 s by default) and the driver waits 5 s for
      // a server: longer than Meta waits, so Meta saw a timeout instead of our 503. Fail at once when not
      // connected, and give up on a slow insert before Meta does. An insert that still lands after the 503 is
      // harmless: the redelivery is deduplicated and the sweeper dispatches what is pending.
      if (deps.models.webhookEvents.db.readyState !== ConnectionStates.connected) throw new Error('database not connected');
      return await withTimeout(insertNewEvents(deps.models.webhookEvents, events), storeTimeoutMs, 'storing webhook events');
    } catch (error) {
      deps.logger.error('webhook events could not be stored; Meta will deliver again', { error: (error as Error).message, events: events.length });
      return null;
    }
  }

  /** Not awaited by anyone: a failure leaves the events pending, and the sweeper retries them. */
  function dispatchNew(inserted: StoredEvent[]): void {
    const toDispatch: DispatchableEvent[] = inserted.filter((event) => event.status === 'pending');
    if (toDispatch.length === 0) return;
    deps.dispatcher.dispatch(toDispatch, { claimed: true }).catch((error: unknown) => {
      deps.logger.warn('dispatch after acknowledgement failed; the sweeper retries', { error: (error as Error).message });
    });
  }

  return {
    async receive(raw) {
      const inserted = await store(storedEventsOf(raw, new Date()));
      if (inserted === null) return { stored: false };
      deps.metrics.webhookEventsStored(inserted.map((event) => event.kind));
      return { stored: true, dispatchNew: () => dispatchNew(inserted) };
    },
  };
}
