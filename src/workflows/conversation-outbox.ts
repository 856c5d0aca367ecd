/**
 * The conversation's outbox: replies accepted by the `sendMessages` update go out one at a time, in the order
 * accepted. Transient errors are retried by the activity; a rate limit waits on a durable timer; a send whose outcome
 * is unknown is never sent again silently, but settled by its echo (or marked unknown when none comes).
 */
import { ApplicationFailure, CancellationScope, condition, isCancellation } from '@temporalio/workflow';
import type { SendFailure } from '../activities/conversation-contract';
import { sendPolicyAt } from '../domain/window';
import { failureOf, FailureType, type ReadFailure } from '../temporal/failures';
import { recordSendFailure, reportAccountProblem, sendMessage, settleUnknownSend } from './conversation-activities';
import { SendRefusal, type OutboxEntry, type SendMessagesAccepted, type SendMessagesRequest } from './conversation-api';
import type { ConversationRun } from './conversation-run';

const SETTLED_MESSAGE_IDS = 500;
/** After an unknown outcome, how long the echo of the send may take to arrive and settle it. */
const ECHO_RECONCILE_MS = 60_000;
/** Meta's rate limits without an announced wait. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

export interface Outbox {
  /** The `sendMessages` validator: refuses replies the conversation cannot take (closed, or outside the window). */
  refuseIfNotAllowed: (request: SendMessagesRequest) => void;
  /** The `sendMessages` handler: queues the replies not queued or settled yet. */
  accept: (request: SendMessagesRequest) => SendMessagesAccepted;
  /** Stops the retries of the send in flight (an attempt under way finishes); nothing went out if none succeeded. */
  cancelSend: () => void;
  /** Starts sending; call once, after the handlers are registered. */
  start: () => void;
  /** Settles the send in flight and stops; the rest stays in the outbox, for the next run. */
  stop: () => Promise<void>;
  /** Settles the send in flight, fails every message left with the reason, and stops. */
  close: () => Promise<void>;
}

export function createOutbox(run: ConversationRun): Outbox {
  /** The scope of the send in flight: a close cancels it, which stops its retries (an attempt under way finishes). */
  let sendScope: CancellationScope | undefined;
  let closing = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;

  /**
   * The customer's latest message as far as anyone knows: the run's, or the conversation's as the API read it with the
   * request (the ingress records messages to an open conversation without telling its workflow).
   */
  const lastCustomerMessageAt = (request: SendMessagesRequest): number | undefined =>
    request.lastCustomerMessageAt === undefined ? run.lastCustomerMessageAt : Math.max(run.lastCustomerMessageAt ?? request.lastCustomerMessageAt, request.lastCustomerMessageAt);

  function refuseIfNotAllowed(request: SendMessagesRequest): void {
    if (request.conversationId !== run.conversationId || closing || run.state === 'closed' || run.closeRequestedAt !== undefined) {
      throw ApplicationFailure.nonRetryable('the conversation is closed: a new one opens when the customer writes again', SendRefusal.ConversationClosed);
    }
    const customerWroteAt = lastCustomerMessageAt(request);
    if (customerWroteAt === undefined) {
      throw ApplicationFailure.nonRetryable('the customer has not written to this account yet: Instagram lets a business reply only after the customer wrote', SendRefusal.CustomerNeverWrote);
    }
    const policy = sendPolicyAt(customerWroteAt, Date.now());
    if (policy.kind === 'closed') throw ApplicationFailure.nonRetryable(windowClosedSentence, SendRefusal.WindowClosed);
    if (policy.kind === 'human-agent' && request.sender === 'bot') throw ApplicationFailure.nonRetryable(botSentence, SendRefusal.BotOutsideStandardWindow);
  }

  function accept(request: SendMessagesRequest): SendMessagesAccepted {
    const { sender, messageIds } = request;
    run.lastCustomerMessageAt = lastCustomerMessageAt(request);
    const ahead = run.outbox.length;
    for (const messageId of messageIds) {
      if (!run.settled.includes(messageId) && !run.outbox.some((entry) => entry.messageId === messageId)) run.outbox.push({ messageId, sender });
    }
    return { sendAs: sendPolicyAt(run.lastCustomerMessageAt, Date.now()).kind === 'human-agent' ? 'human-agent' : 'standard', ahead };
  }

  const releaseHeldEchoes = (): void => {
    run.pending.unshift(...run.held.splice(0));
  };

  const remember = (messageId: string): void => {
    run.settled.push(messageId);
    if (run.settled.length > SETTLED_MESSAGE_IDS) run.settled.shift();
  };

  async function fail(entry: OutboxEntry, failure: SendFailure): Promise<void> {
    await recordSendFailure({ messageId: entry.messageId, status: 'failed', failure });
  }

  /** Sends the first message of the outbox. False when it must be tried again later (a rate limit). */
  async function sendFirst(entry: OutboxEntry): Promise<boolean> {
    // The rules are checked again at send time: a message may wait in the outbox past the 24-hour mark.
    const policy = sendPolicyAt(run.lastCustomerMessageAt, Date.now());
    if (policy.kind === 'closed') {
      await fail(entry, { type: FailureType.WindowClosed, message: windowClosedSentence });
      run.closeRequestedAt ??= Date.now();
      return true;
    }
    if (policy.kind === 'human-agent' && entry.sender === 'bot') {
      await fail(entry, { type: SendRefusal.BotOutsideStandardWindow, message: botSentence });
      return true;
    }
    run.sending = entry.messageId;
    const scope = new CancellationScope();
    sendScope = scope;
    try {
      await scope.run(() =>
        sendMessage({
          messageId: entry.messageId,
          conversationId: run.conversationId,
          igAccountId: run.input.igAccountId,
          igsid: run.input.igsid,
          ...(policy.kind === 'human-agent' ? { tag: 'HUMAN_AGENT' as const } : {}),
        }),
      );
      return true;
    } catch (error) {
      // Cancelled by a close between attempts: nothing went out; the close fails the message with its reason.
      if (isCancellation(error)) return false;
      const failure = failureOf(error);
      run.sending = undefined;
      releaseHeldEchoes();
      return settleFailedSend(entry, failure);
    } finally {
      run.sending = undefined;
      sendScope = undefined;
      releaseHeldEchoes();
    }
  }

  async function settleFailedSend(entry: OutboxEntry, failure: ReadFailure): Promise<boolean> {
    const shown: SendFailure = { type: failure.type, message: failure.message, ...failure.details };
    switch (failure.type) {
      case FailureType.RateLimited:
        run.sendNotBefore = Date.now() + (failure.details.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS);
        return false;
      case FailureType.UnknownOutcome:
        // Never sent again silently: the echo Meta delivers for a message that went out settles it.
        await condition(() => run.confirmedByEcho.includes(entry.messageId) || run.closeRequestedAt !== undefined, ECHO_RECONCILE_MS);
        if (!run.confirmedByEcho.includes(entry.messageId)) {
          await settleUnknownSend({ messageId: entry.messageId });
        }
        return true;
      case FailureType.WindowClosed:
        await fail(entry, shown);
        run.closeRequestedAt ??= Date.now();
        return true;
      case FailureType.TokenInvalid:
      case FailureType.MessagesAccessOff:
        // The account is stopped first: whoever sees the failed message then also sees why nothing more goes out.
        await reportAccountProblem({ igAccountId: run.input.igAccountId, type: failure.type, message: failure.message, ...(failure.details.reason ? { reason: failure.details.reason } : {}) });
        await fail(entry, shown);
        return true;
      default:
        await fail(entry, shown);
        return true;
    }
  }

  async function runOutbox(): Promise<void> {
    for (;;) {
      await condition(() => run.outbox.length > 0 || closing || stopping);
      if (closing) {
        // Accepted but not sent when the conversation ended: each fails with the reason.
        for (const entry of run.outbox.splice(0)) {
          await fail(entry, { type: SendRefusal.ConversationClosed, message: 'the conversation closed before this message could be sent' });
          remember(entry.messageId);
        }
        return;
      }
      if (stopping) return;
      if (run.closeRequestedAt !== undefined) {
        // Nothing more goes out; the close fails what is left, with the reason.
        await condition(() => closing);
        continue;
      }
      const waitMs = (run.sendNotBefore ?? 0) - Date.now();
      if (waitMs > 0) {
        // Meta's rate limit: a durable timer, so the wait outlasts a worker restart; other conversations go on.
        if (!(await condition(() => stopping || run.closeRequestedAt !== undefined, waitMs))) run.sendNotBefore = undefined;
        continue;
      }
      const entry = run.outbox[0]!;
      if (await sendFirst(entry)) {
        run.outbox.shift();
        remember(entry.messageId);
        run.progressed = true;
      }
    }
  }

  // stop() and close() return the loop's own promise rather than being async: awaiting one takes the same microtask
  // steps as awaiting the loop, so the commands of concurrent handlers keep the order recorded histories have.
  return {
    refuseIfNotAllowed,
    accept,
    cancelSend: () => sendScope?.cancel(),
    start: () => {
      stopped = runOutbox();
    },
    stop: () => {
      stopping = true;
      return stopped!;
    },
    close: () => {
      closing = true;
      return stopped!;
    },
  };
}

const windowClosedSentence =
  'Instagram closes the conversation 7 days after the customer\'s last message: this reply can no longer be sent; it can be sent when the customer writes again';
const botSentence =
  'more than 24 hours passed since the customer\'s last message: Instagram then accepts only a human agent\'s reply (HUMAN_AGENT tag, up to 7 days), so the bot cannot send; a manager can';
