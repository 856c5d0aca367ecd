/**
 * conversationWorkflow, id `ig-conversation/<igAccountId>/<igsid>`: started or signalled (signalWithStart) by the
 * ingress for each stored webhook event; records each event through an activity, in arrival order; owns the
 * conversation's 7-day window (the run ends when the window closes, and the next customer message starts a new
 * run) and its outbox: replies accepted by the `sendMessages` update go out one at a time, in order. The customer's
 * profile is fetched beside the events, so no message waits for the Profile API.
 * Only ids, kinds and timestamps travel through it; message content lives in MongoDB.
 *
 * Its parts live beside it: the definitions others use (conversation-api.ts), the run's shared state
 * (conversation-run.ts), the outbox (conversation-outbox.ts), the recording of events (conversation-events.ts), the
 * activities (conversation-activities.ts) and the patches in flight (conversation-patches.ts).
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { HUMAN_AGENT_WINDOW_MS } from '../domain/window';
import { ChannelIdKey, ConversationStateKey, CustomerIgsidKey, IgAccountIdKey } from '../temporal/names';
import { closeConversation } from './conversation-activities';
import {
  closeConversationUpdate,
  getConversationStatusQuery,
  inboundEventSignal,
  inboundEventsSignal,
  SendRefusal,
  sendMessagesUpdate,
  type ConversationStatus,
  type ConversationWorkflowInput,
} from './conversation-api';
import { createEventRecorder } from './conversation-events';
import { createOutbox, type Outbox } from './conversation-outbox';
import { CONDITIONAL_CLOSE_PATCH, CONTINUE_AFTER_PROGRESS_PATCH, CONTINUE_WITH_PENDING_PATCH } from './conversation-patches';
import { nextRunInput, startRun, statusOf, type ConversationRun } from './conversation-run';

export * from './conversation-api';

export async function conversationWorkflow(input: ConversationWorkflowInput): Promise<ConversationStatus> {
  const run = startRun(input);
  const outbox = createOutbox(run);
  const events = createEventRecorder(run);

  setHandler(inboundEventSignal, ({ eventId }) => events.take(eventId));
  setHandler(inboundEventsSignal, ({ eventIds }) => eventIds.forEach(events.take));
  setHandler(getConversationStatusQuery, () => statusOf(run));
  setHandler(sendMessagesUpdate, outbox.accept, { validator: outbox.refuseIfNotAllowed });
  setHandler(
    closeConversationUpdate,
    async () => {
      run.closeRequestedAt ??= Date.now();
      outbox.cancelSend();
      await condition(() => run.state === 'closed');
      return statusOf(run);
    },
    {
      validator: (request: { conversationId: string }) => {
        if (request.conversationId !== run.conversationId) throw ApplicationFailure.nonRetryable('this conversation has already ended', SendRefusal.ConversationClosed);
      },
    },
  );

  upsertSearchAttributes([
    { key: ChannelIdKey, value: input.channelId },
    { key: IgAccountIdKey, value: input.igAccountId },
    { key: CustomerIgsidKey, value: input.igsid },
    { key: ConversationStateKey, value: run.state },
  ]);
  upsertMemo({ title: `Instagram conversation ${input.igAccountId} ↔ ${input.igsid}`, conversationId: run.conversationId });

  outbox.start();

  for (;;) {
    // A long burst must not grow one run without bound: the pending events go to the next run, in their order.
    if (run.pending.length > 0 && run.closeRequestedAt === undefined && workflowInfo().continueAsNewSuggested && patched(CONTINUE_WITH_PENDING_PATCH) && shouldContinueAsNew(run)) {
      return continueAsNewNow(run, outbox);
    }
    // Once the conversation is to close, what comes next belongs to the next conversation.
    if (run.closeRequestedAt === undefined && run.pending.length > 0) {
      await events.recordNext();
      run.progressed = true;
      continue;
    }

    if (shouldContinueAsNew(run)) return continueAsNewNow(run, outbox);

    // A run that saw no customer message (only echoes, reads, reactions) still ends after the same 7 days.
    const closesAt = run.windowClosesAt ?? workflowInfo().runStartTime.getTime() + HUMAN_AGENT_WINDOW_MS;
    if (run.closeRequestedAt === undefined && (await condition(() => run.pending.length > 0 || run.closeRequestedAt !== undefined, Math.max(1, closesAt - Date.now())))) continue;

    const closing = await closeNow(run, outbox, closesAt);
    if (closing === 'window-moved') continue;
    return closing;
  }
}

/** Temporal suggests a fresh run, and this one did something (else the next would be told the same at once). */
const shouldContinueAsNew = (run: ConversationRun): boolean => workflowInfo().continueAsNewSuggested && (run.progressed || !patched(CONTINUE_AFTER_PROGRESS_PATCH));

/** Hands the conversation, with every pending event, to a fresh run; settles what must not be cut off first. */
async function continueAsNewNow(run: ConversationRun, outbox: Outbox): Promise<never> {
  await outbox.stop();
  // A pending activity does not follow continue-as-new (its retries stop, its outcome is lost), and
  // allHandlersFinished counts only signal and update handlers: the fetch is awaited by name.
  if (run.profileFetch !== undefined) await run.profileFetch;
  await condition(allHandlersFinished);
  return continueAsNew<typeof conversationWorkflow>(
    nextRunInput(run, {
      conversationId: run.conversationId,
      windowClosesAt: run.windowClosesAt,
      lastCustomerMessageAt: run.lastCustomerMessageAt,
      outbox: run.outbox,
      settledMessageIds: run.settled,
      heldEventIds: [],
      sendNotBefore: run.sendNotBefore,
    }),
  );
}

/**
 * Ends the conversation: the inbox closes it, what is left in the outbox fails, and the run ends. When the window's
 * timer fired, a customer message the ingress recorded meanwhile may have moved the window: then nothing closes, and
 * the run waits for the window's new end ('window-moved').
 */
async function closeNow(run: ConversationRun, outbox: Outbox, closesAt: number): Promise<ConversationStatus | 'window-moved'> {
  const closing = { conversationId: run.conversationId, igAccountId: run.input.igAccountId, igsid: run.input.igsid, closedAt: run.closeRequestedAt ?? closesAt };
  if (patched(CONDITIONAL_CLOSE_PATCH)) {
    const outcome = await closeConversation({ ...closing, ...(run.closeRequestedAt === undefined ? { onlyIfWindowPassed: true } : {}) });
    if (!outcome.closed) {
      run.windowClosesAt = Math.max(run.windowClosesAt ?? 0, outcome.windowClosesAt);
      if (outcome.lastCustomerMessageAt !== undefined) run.lastCustomerMessageAt = Math.max(run.lastCustomerMessageAt ?? 0, outcome.lastCustomerMessageAt);
      return 'window-moved';
    }
    await outbox.close();
  } else {
    await outbox.close();
    await closeConversation(closing);
  }
  run.state = 'closed';
  upsertSearchAttributes([{ key: ConversationStateKey, value: run.state }]);
  // Settled after the close, which it must not delay; before the run ends, as for continue-as-new.
  if (run.profileFetch !== undefined) await run.profileFetch;
  await condition(allHandlersFinished);
  // An event that came in while the close ran opens the next conversation instead of vanishing.
  if (run.pending.length > 0 || run.held.length > 0) return continueAsNew<typeof conversationWorkflow>(nextRunInput(run, {}));
  return statusOf(run);
}
