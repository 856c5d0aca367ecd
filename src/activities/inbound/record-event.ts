/**
 * Records one stored webhook event: reads it by its key, answers a second dispatch of an event already dealt with
 * without changing anything, and otherwise hands it to the recorder of its kind and marks it recorded. Kinds the
 * inbox does not show (entry changes, events not understood) are marked skipped, never dropped.
 */
import type { Models } from '../../db/models';
import type { LinkedAccount } from '../../db/models/linked-account';
import type { WebhookEvent } from '../../db/models/webhook-event';
import { movesWindow, readStoredPayload, type InboundEventKind } from '../../domain/webhook-events';
import { FailureType } from '../../temporal/failures';
import type { RecordedInboundEvent, RecordInboundEventInput } from '../conversation-contract';
import { ActivityError } from '../failures';
import type { LoadAccount } from './account-cache';
import type { CustomerProfiles } from './customer-profile';
import type { EventOutcomes } from './event-outcomes';

/** One stored event being applied, with the answer when all goes as usual (`recorded`). */
export interface EventToApply {
  event: WebhookEvent;
  input: RecordInboundEventInput;
  account: LinkedAccount;
  /** The event as Meta sent it, read from its stored text (or, stored before, its object). */
  payload: Record<string, unknown>;
  recorded: RecordedInboundEvent;
}

export type RecordKind = (target: EventToApply) => Promise<RecordedInboundEvent>;

/** Every kind the inbox shows has its recorder; the others are skipped. */
export type KindRecorders = Record<Exclude<InboundEventKind, 'change' | 'unknown'>, RecordKind>;

export interface EventRecorderDeps {
  models: Pick<Models, 'webhookEvents'>;
  loadAccount: LoadAccount;
  customers: Pick<CustomerProfiles, 'ensureCustomer'>;
  outcomes: Pick<EventOutcomes, 'skip' | 'markRecorded'>;
  recorders: KindRecorders;
}

export function createEventRecorder(deps: EventRecorderDeps) {
  const { models, outcomes, recorders } = deps;

  function apply(event: WebhookEvent, input: RecordInboundEventInput, account: LinkedAccount): Promise<RecordedInboundEvent> {
    const kind = event.kind as InboundEventKind;
    const recorded: RecordedInboundEvent = { kind, occurredAt: event.occurredAt.getTime(), movesWindow: movesWindow(kind), outcome: 'recorded' };
    // Own properties only: a stored kind named like an Object member is not a kind the inbox shows.
    const record = Object.hasOwn(recorders, kind) ? recorders[kind as keyof KindRecorders] : undefined;
    if (!record) return outcomes.skip(event, input, `events of kind ${kind} are not shown in the inbox`);
    // The ingress read it within the same bounds before dispatching it: a payload that does not read now was damaged
    // since, and fails like any fault, so that it is retried and then parked with the reason, never skipped.
    const payload = readStoredPayload(event.payload);
    if (payload === null) throw new Error(`the stored payload of ${event._id} is not a JSON object within the bounds of an event`);
    return record({ event, input, account, payload, recorded });
  }

  /**
   * A second dispatch of an event already applied (a retry after a crash, a sweeper's re-dispatch): the same
   * answer, nothing changed; whether the profile is due is asked again, since the first answer may have been lost.
   */
  async function answerAgain(event: WebhookEvent, outcome: 'recorded' | 'skipped', input: RecordInboundEventInput): Promise<RecordedInboundEvent> {
    const moves = outcome === 'recorded' && movesWindow(event.kind as InboundEventKind);
    const answer: RecordedInboundEvent = { kind: event.kind, occurredAt: event.occurredAt.getTime(), movesWindow: moves, outcome };
    if (!moves) return answer;
    // Only a hint: an account unlinked since must not turn an applied event into a failed one.
    const account = await deps.loadAccount(input.igAccountId).catch(() => undefined);
    return { ...answer, profileDue: account !== undefined && (await deps.customers.ensureCustomer(account, input.igsid, input.firstOfConversation)) };
  }

  return async function recordInboundEvent(input: RecordInboundEventInput): Promise<RecordedInboundEvent> {
    const event = await models.webhookEvents.findOne({ _id: input.eventId }).lean<WebhookEvent>();
    if (!event) throw new ActivityError(FailureType.EventNotFound, `no stored webhook event ${input.eventId}`);
    if (event.status === 'recorded' || event.status === 'skipped') return answerAgain(event, event.status, input);
    const account = await deps.loadAccount(input.igAccountId);
    const result = await apply(event, input, account);
    if (result.outcome === 'recorded' || result.outcome === 'matched-own-send') await outcomes.markRecorded(event, input, result.outcome);
    return result;
  };
}
