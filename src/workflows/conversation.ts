/**
 * conversationWorkflow, id `ig-conversation/<igAccountId>/<igsid>`: started or signalled (signalWithStart) by the
 * ingress for each stored webhook event; records each event through an activity, in arrival order; owns the
 * conversation's 7-day window (the run ends when the window closes, and the next customer message starts a new
 * run) and its outbox: replies accepted by the `sendMessages` update go out one at a time, in order. The customer's
 * profile is fetched beside the events, so no message waits for the Profile API.
 * Only ids, kinds and timestamps travel through it; message content lives in MongoDB.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { ActivityFailure, RetryState } from '@temporalio/common';
import type { ConversationActivities, RecordedInboundEvent, RecordedInboundEvents, SendFailure } from '../activities/conversation-contract';
import { HUMAN_AGENT_WINDOW_MS, nextWindowClosesAt, sendPolicyAt } from '../domain/window';
import { failureOf, FailureType, type ReadFailure } from '../temporal/failures';
import { ChannelIdKey, ConversationStateKey, CustomerIgsidKey, IgAccountIdKey } from '../temporal/names';

export type MessageSender = 'manager' | 'bot';

export interface OutboxEntry {
  messageId: string;
  sender: MessageSender;
}

export interface ConversationWorkflowInput {
  igAccountId: string;
  igsid: string;
  channelId: string;
  /** Carried over by continue-as-new while it is the same conversation; a new conversation gets a new id. */
  conversationId?: string;
  windowClosesAt?: number;
  /** Meta's time of the customer's latest message: the 24-hour and 7-day rules count from it. */
  lastCustomerMessageAt?: number;
  pendingEventIds?: string[];
  recentEventIds?: string[];
  /** Accepted replies not sent yet, in order. */
  outbox?: OutboxEntry[];
  /** Replies already settled in this conversation: a repeated request for one sends nothing. */
  settledMessageIds?: string[];
  /** Echoes waiting for a send to settle. */
  heldEventIds?: string[];
  /** Meta asked to wait (rate limit) until this time before the next send. */
  sendNotBefore?: number;
}

export interface InboundEventSignal {
  eventId: string;
}

/** Several stored events of the conversation in Meta's order: one signal for what gathered while the last one went. */
export interface InboundEventsSignal {
  eventIds: string[];
}

export type ConversationState = 'open' | 'closed';

export interface ConversationStatus {
  conversationId: string;
  state: ConversationState;
  windowClosesAt: number | null;
  lastCustomerMessageAt: number | null;
  eventsRecorded: number;
  outbox: string[];
  sendingMessageId: string | null;
  sendNotBefore: number | null;
  /** The customer's profile is being fetched (the inbox shows the customer without it meanwhile). */
  profileFetching: boolean;
}

export interface SendMessagesRequest {
  /** The conversation the replies are for: a newer conversation of the same customer refuses them. */
  conversationId: string;
  sender: MessageSender;
  /** Stored, queued messages, in the order they must go out. */
  messageIds: string[];
}

export interface SendMessagesAccepted {
  /** How the first of them would go out now: a standard reply, or with the HUMAN_AGENT tag. */
  sendAs: 'standard' | 'human-agent';
  /** Messages ahead of these in the outbox. */
  ahead: number;
}

export const inboundEventSignal = defineSignal<[InboundEventSignal]>('inboundEvent');
export const inboundEventsSignal = defineSignal<[InboundEventsSignal]>('inboundEvents');
export const getConversationStatusQuery = defineQuery<ConversationStatus>('getConversationStatus');
export const sendMessagesUpdate = defineUpdate<SendMessagesAccepted, [SendMessagesRequest]>('sendMessages');
export const closeConversationUpdate = defineUpdate<ConversationStatus, [{ conversationId: string }]>('closeConversation');

/** Why the `sendMessages` update refuses a request (the API turns each into a 409 with this sentence). */
export const SendRefusal = {
  ConversationClosed: 'ConversationClosed',
  CustomerNeverWrote: 'CustomerNeverWrote',
  WindowClosed: 'WindowClosed',
  BotOutsideStandardWindow: 'BotOutsideStandardWindow',
} as const;

/** How many recent event ids a run remembers, to ignore a second dispatch of the same event cheaply. */
const RECENT_EVENT_IDS = 500;
const SETTLED_MESSAGE_IDS = 500;
/** After an unknown outcome, how long the echo of the send may take to arrive and settle it. */
const ECHO_RECONCILE_MS = 60_000;
/** Meta's rate limits without an announced wait. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * Runs from before this change fetched the profile inside `recordInboundEvent`; replaying them must not schedule
 * the separate fetch their histories do not have.
 */
const PROFILE_BESIDE_EVENTS_PATCH = 'profile-fetch-beside-events';
/**
 * Runs from before this change continued as new only when no event was pending: a long burst for one customer grew
 * one run far past the suggested history size. Replaying them must keep recording where they did.
 */
const CONTINUE_WITH_PENDING_PATCH = 'continue-as-new-with-pending-events';

/**
 * A run continues as new only once it handled an event or settled a send: a run whose carried-over ids alone passed
 * the suggested history size would otherwise continue as new for ever without doing anything. Runs from before
 * this change continued as soon as Temporal suggested it.
 */
const CONTINUE_AFTER_PROGRESS_PATCH = 'continue-as-new-after-progress';

/** Runs from before this change recorded each event with its own activity task. */
const RECORD_IN_BATCHES_PATCH = 'record-events-in-batches';
/** Events recorded by one local activity call: a few database writes each, well inside its time limit. */
const RECORD_BATCH_SIZE = 50;

const { recordInboundEvents } = proxyLocalActivities<ConversationActivities>({
  // Run by the worker beside the workflow task. A burst of 50 events takes well under a second.
  startToCloseTimeout: '10 seconds',
  // Few attempts: when the batch keeps failing, its first event is recorded alone with the retries below.
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 3 },
});

/**
 * Parked events can be replayed (src/inbound/parked-events.ts): a parked event is no longer remembered among the
 * recent ones, so its replay is taken, and a second dispatch of the event being recorded is not queued behind it.
 * Runs from before remembered a parked event (a replay would have been ignored) and queued such a dispatch.
 */
const REPLAYABLE_PARKED_EVENTS_PATCH = 'replayable-parked-events';

// Bounded: an event that cannot be recorded is parked after this, so it never blocks the ones behind it.
const RECORD_RETRY = { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 } as const;

const { recordInboundEvent } = proxyActivities<ConversationActivities>({
  // A few database writes: 10 s is ample, and bounds how long a crashed worker holds an event.
  startToCloseTimeout: '10 seconds',
  retry: RECORD_RETRY,
});

const { refreshCustomerProfile } = proxyActivities<ConversationActivities>({
  // The activity gives the Graph call 3 s: a slow Profile API ends as a failure recorded on the customer, not a timeout.
  startToCloseTimeout: '5 seconds',
  // Bounded: the customer is shown without a profile meanwhile, and a later message asks for it again.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 4 },
});

const { sendMessage } = proxyActivities<ConversationActivities>({
  // The Graph client gives up after its own timeout (10 s by default); the rest is two database writes.
  startToCloseTimeout: '30 seconds',
  // Transient errors only: the activity marks everything retrying cannot fix as non-retryable.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6 },
});

// Bookkeeping in the database: retried until the database answers, so a send's outcome is never lost.
const { closeConversation, parkInboundEvent, recordSendFailure, settleUnknownSend, reportAccountProblem } = proxyActivities<ConversationActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function conversationWorkflow(input: ConversationWorkflowInput): Promise<ConversationStatus> {
  const conversationId = input.conversationId ?? uuid4();
  const pending: string[] = [...(input.pendingEventIds ?? [])];
  const recent: string[] = [...(input.recentEventIds ?? [])];
  const held: string[] = [...(input.heldEventIds ?? [])];
  const outbox: OutboxEntry[] = [...(input.outbox ?? [])];
  const settled: string[] = [...(input.settledMessageIds ?? [])];
  let windowClosesAt = input.windowClosesAt;
  let lastCustomerMessageAt = input.lastCustomerMessageAt ?? (input.windowClosesAt === undefined ? undefined : input.windowClosesAt - HUMAN_AGENT_WINDOW_MS);
  let sendNotBefore = input.sendNotBefore;
  let state: ConversationState = 'open';
  let eventsRecorded = 0;
  /** The message whose send is in flight: echoes with unknown mids wait for it to settle. */
  let sending: string | undefined;
  /** Messages an echo confirmed after their send's outcome was unknown. */
  const confirmedByEcho: string[] = [];
  /** Set when the conversation must end now (a manager closed it, or Meta said the window is closed). */
  let closeRequestedAt: number | undefined;
  /** The scope of the send in flight: a close cancels it, which stops its retries (an attempt under way finishes). */
  let sendScope: CancellationScope | undefined;
  let closing = false;
  let stopping = false;
  /** The customer's profile fetch in flight, if any. One at a time: the one running reads the newest profile anyway. */
  let profileFetch: Promise<void> | undefined;
  /** The events whose recording is under way (one event's attempts may take two minutes before it is parked). */
  const recording = new Set<string>();
  /** Whether this run handled an event or settled a send yet. */
  let progressed = false;

  const status = (): ConversationStatus => ({
    conversationId,
    state,
    windowClosesAt: windowClosesAt ?? null,
    lastCustomerMessageAt: lastCustomerMessageAt ?? null,
    eventsRecorded,
    outbox: outbox.map((entry) => entry.messageId),
    sendingMessageId: sending ?? null,
    sendNotBefore: sendNotBefore ?? null,
    profileFetching: profileFetch !== undefined,
  });

  const takeEvent = (eventId: string): void => {
    if (recent.includes(eventId) || pending.includes(eventId) || held.includes(eventId)) return;
    // The sweeper dispatches again a claim that looks stale while the attempts run: queued, the event would be
    // tried all over again once parked.
    if (recording.has(eventId) && patched(REPLAYABLE_PARKED_EVENTS_PATCH)) return;
    pending.push(eventId);
  };
  setHandler(inboundEventSignal, ({ eventId }) => takeEvent(eventId));
  setHandler(inboundEventsSignal, ({ eventIds }) => eventIds.forEach(takeEvent));
  setHandler(getConversationStatusQuery, status);
  setHandler(
    sendMessagesUpdate,
    ({ sender, messageIds }) => {
      const ahead = outbox.length;
      for (const messageId of messageIds) {
        if (!settled.includes(messageId) && !outbox.some((entry) => entry.messageId === messageId)) outbox.push({ messageId, sender });
      }
      return { sendAs: sendPolicyAt(lastCustomerMessageAt, Date.now()).kind === 'human-agent' ? 'human-agent' : 'standard', ahead };
    },
    { validator: refuseSendIfNotAllowed },
  );
  setHandler(
    closeConversationUpdate,
    async () => {
      closeRequestedAt ??= Date.now();
      sendScope?.cancel();
      await condition(() => state === 'closed');
      return status();
    },
    {
      validator: (request: { conversationId: string }) => {
        if (request.conversationId !== conversationId) throw ApplicationFailure.nonRetryable('this conversation has already ended', SendRefusal.ConversationClosed);
      },
    },
  );

  function refuseSendIfNotAllowed(request: SendMessagesRequest): void {
    if (request.conversationId !== conversationId || closing || state === 'closed' || closeRequestedAt !== undefined) {
      throw ApplicationFailure.nonRetryable('the conversation is closed: a new one opens when the customer writes again', SendRefusal.ConversationClosed);
    }
    if (lastCustomerMessageAt === undefined) {
      throw ApplicationFailure.nonRetryable('the customer has not written to this account yet: Instagram lets a business reply only after the customer wrote', SendRefusal.CustomerNeverWrote);
    }
    const policy = sendPolicyAt(lastCustomerMessageAt, Date.now());
    if (policy.kind === 'closed') throw ApplicationFailure.nonRetryable(windowClosedSentence, SendRefusal.WindowClosed);
    if (policy.kind === 'human-agent' && request.sender === 'bot') throw ApplicationFailure.nonRetryable(botSentence, SendRefusal.BotOutsideStandardWindow);
  }

  upsertSearchAttributes([
    { key: ChannelIdKey, value: input.channelId },
    { key: IgAccountIdKey, value: input.igAccountId },
    { key: CustomerIgsidKey, value: input.igsid },
    { key: ConversationStateKey, value: state },
  ]);
  upsertMemo({ title: `Instagram conversation ${input.igAccountId} ↔ ${input.igsid}`, conversationId });

  const next = (carry: Partial<ConversationWorkflowInput>): ConversationWorkflowInput => ({
    igAccountId: input.igAccountId,
    igsid: input.igsid,
    channelId: input.channelId,
    pendingEventIds: [...held, ...pending],
    recentEventIds: recent.slice(-RECENT_EVENT_IDS),
    ...carry,
  });

  // --- the outbox: one send at a time, in the order accepted ----------------------------------------------------

  const releaseHeldEchoes = (): void => {
    pending.unshift(...held.splice(0));
  };

  const remember = (messageId: string): void => {
    settled.push(messageId);
    if (settled.length > SETTLED_MESSAGE_IDS) settled.shift();
  };

  async function fail(entry: OutboxEntry, failure: SendFailure): Promise<void> {
    await recordSendFailure({ messageId: entry.messageId, status: 'failed', failure });
  }

  /** Sends the first message of the outbox. False when it must be tried again later (a rate limit). */
  async function sendFirst(entry: OutboxEntry): Promise<boolean> {
    // The rules are checked again at send time: a message may wait in the outbox past the 24-hour mark.
    const policy = sendPolicyAt(lastCustomerMessageAt, Date.now());
    if (policy.kind === 'closed') {
      await fail(entry, { type: FailureType.WindowClosed, message: windowClosedSentence });
      closeRequestedAt ??= Date.now();
      return true;
    }
    if (policy.kind === 'human-agent' && entry.sender === 'bot') {
      await fail(entry, { type: SendRefusal.BotOutsideStandardWindow, message: botSentence });
      return true;
    }
    sending = entry.messageId;
    const scope = new CancellationScope();
    sendScope = scope;
    try {
      await scope.run(() =>
        sendMessage({
          messageId: entry.messageId,
          conversationId,
          igAccountId: input.igAccountId,
          igsid: input.igsid,
          ...(policy.kind === 'human-agent' ? { tag: 'HUMAN_AGENT' as const } : {}),
        }),
      );
      return true;
    } catch (error) {
      // Cancelled by a close between attempts: nothing went out; the close fails the message with its reason.
      if (isCancellation(error)) return false;
      const failure = failureOf(error);
      sending = undefined;
      releaseHeldEchoes();
      return settleFailedSend(entry, failure);
    } finally {
      sending = undefined;
      sendScope = undefined;
      releaseHeldEchoes();
    }
  }

  async function settleFailedSend(entry: OutboxEntry, failure: ReadFailure): Promise<boolean> {
    const shown: SendFailure = { type: failure.type, message: failure.message, ...failure.details };
    switch (failure.type) {
      case FailureType.RateLimited:
        sendNotBefore = Date.now() + (failure.details.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS);
        return false;
      case FailureType.UnknownOutcome:
        // Never sent again silently: the echo Meta delivers for a message that went out settles it.
        await condition(() => confirmedByEcho.includes(entry.messageId) || closeRequestedAt !== undefined, ECHO_RECONCILE_MS);
        if (!confirmedByEcho.includes(entry.messageId)) {
          await settleUnknownSend({ messageId: entry.messageId });
        }
        return true;
      case FailureType.WindowClosed:
        await fail(entry, shown);
        closeRequestedAt ??= Date.now();
        return true;
      case FailureType.TokenInvalid:
      case FailureType.MessagesAccessOff:
        // The account is stopped first: whoever sees the failed message then also sees why nothing more goes out.
        await reportAccountProblem({ igAccountId: input.igAccountId, type: failure.type, message: failure.message, ...(failure.details.reason ? { reason: failure.details.reason } : {}) });
        await fail(entry, shown);
        return true;
      default:
        await fail(entry, shown);
        return true;
    }
  }

  async function runOutbox(): Promise<void> {
    for (;;) {
      await condition(() => outbox.length > 0 || closing || stopping);
      if (closing) {
        // Accepted but not sent when the conversation ended: each fails with the reason.
        for (const entry of outbox.splice(0)) {
          await fail(entry, { type: SendRefusal.ConversationClosed, message: 'the conversation closed before this message could be sent' });
          remember(entry.messageId);
        }
        return;
      }
      if (stopping) return;
      if (closeRequestedAt !== undefined) {
        // Nothing more goes out; the close fails what is left, with the reason.
        await condition(() => closing);
        continue;
      }
      const waitMs = (sendNotBefore ?? 0) - Date.now();
      if (waitMs > 0) {
        // Meta's rate limit: a durable timer, so the wait outlasts a worker restart; other conversations go on.
        if (!(await condition(() => stopping || closeRequestedAt !== undefined, waitMs))) sendNotBefore = undefined;
        continue;
      }
      const entry = outbox[0]!;
      if (await sendFirst(entry)) {
        outbox.shift();
        remember(entry.messageId);
        progressed = true;
      }
    }
  }

  const outboxStopped = runOutbox();

  // --- the customer's profile: fetched beside the events, never ahead of them -----------------------------------

  function fetchProfileBesideEvents(): void {
    if (profileFetch !== undefined) return;
    profileFetch = refreshCustomerProfile({ igAccountId: input.igAccountId, igsid: input.igsid })
      .catch((error: unknown) => {
        // The activity recorded it on the customer; the conversation goes on, and a later message asks again.
        log.warn('profile fetch failed', { igsid: input.igsid, failure: failureOf(error).type });
      })
      .finally(() => {
        profileFetch = undefined;
      });
  }

  /** Hands the conversation, with every pending event, to a fresh run; settles what must not be cut off first. */
  async function continueAsNewNow(): Promise<never> {
    stopping = true;
    await outboxStopped;
    // A pending activity does not follow continue-as-new (its retries stop, its outcome is lost), and
    // allHandlersFinished counts only signal and update handlers: the fetch is awaited by name.
    if (profileFetch !== undefined) await profileFetch;
    await condition(allHandlersFinished);
    return continueAsNew<typeof conversationWorkflow>(
      next({ conversationId, windowClosesAt, lastCustomerMessageAt, outbox, settledMessageIds: settled, heldEventIds: [], sendNotBefore }),
    );
  }

  // --- the inbound events and the window ------------------------------------------------------------------------

  /** An event a batch stopped at: recorded next, alone, with retries and then parking. */
  let recordAlone: string | undefined;

  const recordingInput = () => ({
    igAccountId: input.igAccountId,
    igsid: input.igsid,
    conversationId,
    workflowId: workflowInfo().workflowId,
    firstOfConversation: eventsRecorded === 0 && input.conversationId === undefined,
    holdUnknownEchoes: sending !== undefined,
  });

  const rememberEvent = (eventId: string): void => {
    recent.push(eventId);
    if (recent.length > RECENT_EVENT_IDS) recent.shift();
  };

  /** Takes in what recording an event answered; 'again' when it must be asked again now. */
  function takeRecorded(eventId: string, recorded: RecordedInboundEvent): 'done' | 'again' {
    if (recorded.outcome === 'own-send-unsettled') {
      // The send it may belong to is still in flight; if it settled meanwhile, ask again at once.
      if (sending === undefined) return 'again';
      held.push(eventId);
      return 'done';
    }
    if (recorded.settledMessageId !== undefined) confirmedByEcho.push(recorded.settledMessageId);
    // Started, not awaited: the next events are recorded while the Profile API answers, however slowly.
    if (recorded.profileDue === true && patched(PROFILE_BESIDE_EVENTS_PATCH)) fetchProfileBesideEvents();
    eventsRecorded += 1;
    if (recorded.movesWindow) {
      windowClosesAt = nextWindowClosesAt(windowClosesAt, recorded.occurredAt);
      lastCustomerMessageAt = Math.max(lastCustomerMessageAt ?? 0, recorded.occurredAt);
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
      if (takeRecorded(eventId, recorded) === 'again') pending.unshift(eventId);
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
    const batch = pending.splice(0, RECORD_BATCH_SIZE);
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
    pending.unshift(...again, ...rest);
  }

  /** Temporal suggests a fresh run, and this one did something (else the next would be told the same at once). */
  const shouldContinueAsNew = (): boolean => workflowInfo().continueAsNewSuggested && (progressed || !patched(CONTINUE_AFTER_PROGRESS_PATCH));

  for (;;) {
    // A long burst must not grow one run without bound: the pending events go to the next run, in their order.
    if (pending.length > 0 && closeRequestedAt === undefined && workflowInfo().continueAsNewSuggested && patched(CONTINUE_WITH_PENDING_PATCH) && shouldContinueAsNew()) {
      return continueAsNewNow();
    }
    // Once the conversation is to close, what comes next belongs to the next conversation.
    if (closeRequestedAt === undefined && pending.length > 0) {
      const alone = recordAlone;
      recordAlone = undefined;
      if (alone === undefined && patched(RECORD_IN_BATCHES_PATCH)) await recordPendingBatch();
      else await recordOneEvent(pending.shift()!, alone === undefined ? 0 : 1);
      progressed = true;
      continue;
    }

    if (shouldContinueAsNew()) return continueAsNewNow();

    // A run that saw no customer message (only echoes, reads, reactions) still ends after the same 7 days.
    const closesAt = windowClosesAt ?? workflowInfo().runStartTime.getTime() + HUMAN_AGENT_WINDOW_MS;
    if (closeRequestedAt === undefined && (await condition(() => pending.length > 0 || closeRequestedAt !== undefined, Math.max(1, closesAt - Date.now())))) continue;

    closing = true;
    await outboxStopped;
    await closeConversation({ conversationId, igAccountId: input.igAccountId, igsid: input.igsid, closedAt: closeRequestedAt ?? closesAt });
    state = 'closed';
    upsertSearchAttributes([{ key: ConversationStateKey, value: state }]);
    // Settled after the close, which it must not delay; before the run ends, as for continue-as-new above.
    if (profileFetch !== undefined) await profileFetch;
    await condition(allHandlersFinished);
    // An event that came in while the close ran opens the next conversation instead of vanishing.
    if (pending.length > 0 || held.length > 0) return continueAsNew<typeof conversationWorkflow>(next({}));
    return status();
  }
}

/** How many times the record activity ran: as its last attempt said, or every attempt when each of them timed out. */
function attemptsOf(error: unknown): number | undefined {
  const said = failureOf(error).attempt;
  if (said !== undefined) return said;
  return error instanceof ActivityFailure && error.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED ? RECORD_RETRY.maximumAttempts : undefined;
}

const windowClosedSentence =
  'Instagram closes the conversation 7 days after the customer\'s last message: this reply can no longer be sent; it can be sent when the customer writes again';
const botSentence =
  'more than 24 hours passed since the customer\'s last message: Instagram then accepts only a human agent\'s reply (HUMAN_AGENT tag, up to 7 days), so the bot cannot send; a manager can';
