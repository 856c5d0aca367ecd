/**
 * The stored webhook event's status once its conversation dealt with it, written by `_id`: recorded, skipped (not
 * shown on purpose, with the reason) or parked (it could not be recorded, with the reason and the attempts). Each
 * event is counted once, when first recorded, skipped or parked.
 */
import type { Models } from '../../db/models';
import type { WebhookEvent } from '../../db/models/webhook-event';
import type { Logger } from '../../logger';
import type { EngineMetrics } from '../../metrics/engine-metrics';
import type { ParkInboundEventInput, RecordedInboundEvent, RecordInboundEventInput } from '../conversation-contract';

export interface EventOutcomeDeps {
  models: Pick<Models, 'webhookEvents'>;
  metrics: Pick<EngineMetrics, 'inboundEventRecorded' | 'inboundEventParked'>;
  logger: Logger;
  now: () => number;
}

export function createEventOutcomes(deps: EventOutcomeDeps) {
  const { models, now } = deps;

  /** An event the inbox does not show on purpose (an account setting, a kind it does not sync): why, in words. */
  async function skip(event: WebhookEvent, input: RecordInboundEventInput, reason: string): Promise<RecordedInboundEvent> {
    await models.webhookEvents.updateOne(
      { _id: event._id },
      { $set: { status: 'skipped', skipReason: reason, conversationId: input.conversationId, recordedAt: new Date(now()) } },
    );
    deps.metrics.inboundEventRecorded(event.kind, 'skipped');
    return { kind: event.kind, occurredAt: event.occurredAt.getTime(), movesWindow: false, outcome: 'skipped' };
  }

  async function markRecorded(event: WebhookEvent, input: RecordInboundEventInput, outcome: 'recorded' | 'matched-own-send'): Promise<void> {
    await models.webhookEvents.updateOne(
      { _id: event._id },
      { $set: { status: 'recorded', conversationId: input.conversationId, recordedAt: new Date(now()) } },
    );
    deps.metrics.inboundEventRecorded(event.kind, outcome);
  }

  async function parkInboundEvent(input: ParkInboundEventInput): Promise<void> {
    // The document as it was: its kind for the count, and whether a retry of this activity parked it already.
    const recordAttempts = input.attempts ?? null;
    const before = await models.webhookEvents
      .findOneAndUpdate({ _id: input.eventId }, { $set: { status: 'parked', problem: input.reason, recordAttempts } }, { projection: { kind: 1, status: 1 } })
      .lean<Pick<WebhookEvent, 'kind' | 'status'>>();
    if (before && before.status !== 'parked') deps.metrics.inboundEventParked(before.kind);
    deps.logger.warn('inbound event parked', { eventId: input.eventId, reason: input.reason, attempts: recordAttempts });
  }

  return { skip, markRecorded, parkInboundEvent };
}

export type EventOutcomes = ReturnType<typeof createEventOutcomes>;
