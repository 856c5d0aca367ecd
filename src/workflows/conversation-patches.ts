/**
 * The changes to conversationWorkflow made while runs were in flight, each behind `patched(name)`: a running
 * workflow recorded before the change replays the old way. A name stays until no run from before it can be left.
 */

/**
 * Runs from before this change fetched the profile inside `recordInboundEvent`; replaying them must not schedule
 * the separate fetch their histories do not have.
 */
export const PROFILE_BESIDE_EVENTS_PATCH = 'profile-fetch-beside-events';

/**
 * Runs from before this change continued as new only when no event was pending: a long burst for one customer grew
 * one run far past the suggested history size. Replaying them must keep recording where they did.
 */
export const CONTINUE_WITH_PENDING_PATCH = 'continue-as-new-with-pending-events';

/**
 * A run continues as new only once it handled an event or settled a send: a run whose carried-over ids alone passed
 * the suggested history size would otherwise continue as new for ever without doing anything. Runs from before
 * this change continued as soon as Temporal suggested it.
 */
export const CONTINUE_AFTER_PROGRESS_PATCH = 'continue-as-new-after-progress';

/** Runs from before this change recorded each event with its own activity task. */
export const RECORD_IN_BATCHES_PATCH = 'record-events-in-batches';

/**
 * Parked events can be replayed (src/inbound/parked-events.ts): a parked event is no longer remembered among the
 * recent ones, so its replay is taken, and a second dispatch of the event being recorded is not queued behind it.
 * Runs from before remembered a parked event (a replay would have been ignored) and queued such a dispatch.
 */
export const REPLAYABLE_PARKED_EVENTS_PATCH = 'replayable-parked-events';

/**
 * The ingress records a customer's messages to an open conversation itself, without its workflow; the window it
 * moves is the database's. When the window's timer fires, the conversation is closed in the database first, and
 * only if no such message moved the window (else the run waits for the new end); the outbox is failed after that.
 * Runs from before failed the outbox first and closed the conversation whatever the database said.
 */
export const CONDITIONAL_CLOSE_PATCH = 'close-only-if-window-passed';
