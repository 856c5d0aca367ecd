/**
 * The recording of the conversation's inbound events, in arrival order: batches in one local activity, an event a
 * batch stopped at alone with retries, and one that still cannot be recorded parked so it never blocks the events
 * behind it. Customer messages move the window; the customer's profile is fetched beside the events.
 */
import { log, patched, workflowInfo } from '@temporalio/workflow';
import { ActivityFailure, RetryState } from '@temporalio/common';
import type { RecordedInboundEvent, RecordedInboundEvents } from '../activities/conversation-contract';
import { nextWindowClosesAt } from '../domain/window';
import { failureOf } from '../temporal/failures';
import { parkInboundEvent, recordInboundEvent, recordInboundEvents, RECORD_RETRY, refreshCustomerProfile } from './conversation-activities';
import { PROFILE_BESIDE_EVENTS_PATCH, RECORD_IN_BATCHES_PATCH, REPLAYABLE_PARKED_EVENTS_PATCH } from './conversation-patches';
import { RECENT_EVENT_IDS, type ConversationRun } from './conversation-run';

/** Events recorded by one local activity call: a few database writes each, well inside its time limit. */
const RECORD_BATCH_SIZE = 50;

export interface EventRecorder {
  /** The inbound event signals' handler: queues an event unless it is known already (a second dispatch of it). */
  take: (eventId: string) => void;
  /** Records the next of the pending events: a batch of them, or the one a batch stopped at, alone. */
  recordNext: () => Promise<void>;
}

export function createEventRecorder(run: ConversationRun): EventRecorder {
  /** The events whose recording is under way (one event's attempts may take two minutes before it is parked). */
  const recording = new Set<string>();
  /** An event a batch stopped at: recorded next, alone, with retries and then parking. */
  let recordAlone: string | undefined;

  const take = (eventId: string): void => {
    if (run.recent.includes(eventId) || run.pending.includes(eventId) || run.held.includes(eventId)) return;
    // The sweeper dispatches again a claim that looks stale while the attempts run: queued, the event would be
    // tried all over again once parked.
    if (recording.has(eventId) && patched(REPLAYABLE_PARKED_EVENTS_PATCH)) return;
    run.pending.push(eventId);
  };

  // Not async, so that awaiting it takes the same microtask steps as awaiting the recording itself: commands of
  // concurrent handlers keep the order recorded histories have.
  const recordNext = (): Promise<void> => {
    const alone = recordAlone;
    recordAlone = undefined;
    if (alone === undefined && patched(RECORD_IN_BATCHES_PATCH)) return recordPendingBatch();
    return recordOneEvent(run.pending.shift()!, alone === undefined ? 0 : 1);
  };

  // --- the customer's profile: fetched beside the events, never ahead of them -----------------------------------

  function fetchProfileBesideEvents(): void {
    if (run.profileFetch !== undefined) return;
    run.profileFetch = refreshCustomerProfile({ igAccountId: run.input.igAccountId, igsid: run.input.igsid })
      .catch((error: unknown) => {
        // The activity recorded it on the customer; the conversation goes on, and a later message asks again.
        log.warn('profile fetch failed', { igsid: run.input.igsid, failure: failureOf(error).type });
      })
      .finally(() => {
        run.profileFetch = undefined;
      });
  }

  // --- the events and the window --------------------------------------------------------------------------------

  const recordingInput = () => ({
    igAccountId: run.input.igAccountId,
    igsid: run.input.igsid,
    conversationId: run.conversationId,
    workflowId: workflowInfo().workflowId,
    firstOfConversation: run.eventsRecorded === 0 && run.input.conversationId === undefined,
    holdUnknownEchoes: run.sending !== undefined,
  });

  const rememberEvent = (eventId: string): void => {
    run.recent.push(eventId);
    if (run.recent.length > RECENT_EVENT_IDS) run.recent.shift();
  };

  /** Takes in what recording an event answered; 'again' when it must be asked again now. */
  function takeRecorded(eventId: string, recorded: RecordedInboundEvent): 'done' | 'again' {
    if (recorded.outcome === 'own-send-unsettled') {
      // The send it may belong to is still in flight; if it settled meanwhile, ask again at once.
      if (run.sending === undefined) return 'again';
      run.held.push(eventId);
      return 'done';
    }
    if (recorded.settledMessageId !== undefined) run.confirmedByEcho.push(recorded.settledMessageId);
    // Started, not awaited: the next events are recorded while the Profile API answers, however slowly.
    if (recorded.profileDue === true && patched(PROFILE_BESIDE_EVENTS_PATCH)) fetchProfileBesideEvents();
    run.eventsRecorded += 1;
    if (recorded.movesWindow) {
      run.windowClosesAt = nextWindowClosesAt(run.windowClosesAt, recorded.occurredAt);
      run.lastCustomerMessageAt = Math.max(run.lastCustomerMessageAt ?? 0, recorded.occurredAt);
    }
    rememberEvent(eventId);
    return 'done';
  }

  /** One event that cannot be recorded never fails the run nor blocks the events after it: it is set aside. */
  async function parkEvent(eventId: string, reason: string, attempts: number | undefined): Promise<void> {
    // A replay may come as soon as the event is parked: from here on it is taken.
    recording.delete(eventId);
    await parkInboundEvent({ eventId, reason, ...(attempts === undefined ? {} : { attempts }) });
    // A parked event is forgotten, so that its replay is recorded.
    if (!patched(REPLAYABLE_PARKED_EVENTS_PATCH)) rememberEvent(eventId);
  }

  /**
   * One event through the activity with bounded retries; one that still cannot be recorded is parked.
   * `triedBefore`: attempts a batch already made, counted in what the park says.
   */
  async function recordOneEvent(eventId: string, triedBefore = 0): Promise<void> {
    recording.add(eventId);
    try {
      const recorded = await recordInboundEvent({ eventId, ...recordingInput() });
      if (takeRecorded(eventId, recorded) === 'again') run.pending.unshift(eventId);
    } catch (error) {
      const attempts = attemptsOf(error);
      await parkEvent(eventId, failureOf(error).message, attempts === undefined ? undefined : attempts + triedBefore);
    } finally {
      recording.delete(eventId);
    }
  }

  /**
   * The pending events, up to a batch, in one local activity: a burst costs Temporal one marker per batch rather
   * than an activity task per event. It stops at an event that fails; that one is then recorded alone.
   */
  async function recordPendingBatch(): Promise<void> {
    const batch = run.pending.splice(0, RECORD_BATCH_SIZE);
    for (const eventId of batch) recording.add(eventId);
    let answer: RecordedInboundEvents;
    try {
      answer = await recordInboundEvents({ eventIds: batch, ...recordingInput() });
    } catch {
      // The call itself failed (the database, a timeout): its first event goes alone, with the full retries.
      answer = { results: [], stoppedAt: { eventId: batch[0]!, reason: 'the batch could not be recorded', retryable: true } };
    } finally {
      for (const eventId of batch) recording.delete(eventId);
    }
    const again = answer.results.flatMap((recorded, index) => (takeRecorded(batch[index]!, recorded) === 'again' ? [batch[index]!] : []));
    const stopped = answer.stoppedAt;
    const rest = batch.slice(answer.results.length);
    if (stopped !== undefined && !stopped.retryable) {
      // Trying again cannot help: parked now, as the event's own activity would have been after one attempt.
      rest.shift();
      await parkEvent(stopped.eventId, stopped.reason, 1);
    } else {
      recordAlone = stopped?.eventId;
    }
    run.pending.unshift(...again, ...rest);
  }

  return { take, recordNext };
}

/** How many times the record activity ran: as its last attempt said, or every attempt when each of them timed out. */
function attemptsOf(error: unknown): number | undefined {
  const said = failureOf(error).attempt;
  if (said !== undefined) return said;
  return error instanceof ActivityFailure && error.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED ? RECORD_RETRY.maximumAttempts : undefined;
}
