/**
 * conversationWorkflow, id `ig-conversation/<igAccountId>/<igsid>`: started or signalled (signalWithStart) by the
 * ingress for each stored webhook event; records each event through an activity, in arrival order, and owns the
 * conversation's 7-day window: the run ends when the window closes, and the next customer message starts a new run.
 * Only ids, kinds and timestamps travel through it; message content lives in MongoDB.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { ConversationActivities } from '../activities/conversation-contract';
import { HUMAN_AGENT_WINDOW_MS, nextWindowClosesAt } from '../domain/window';
import { ChannelIdKey, ConversationStateKey, CustomerIgsidKey, IgAccountIdKey } from '../temporal/names';

export interface ConversationWorkflowInput {
  igAccountId: string;
  igsid: string;
  channelId: string;
  /** Carried over by continue-as-new while it is the same conversation; a new conversation gets a new id. */
  conversationId?: string;
  windowClosesAt?: number;
  pendingEventIds?: string[];
  recentEventIds?: string[];
}

export interface InboundEventSignal {
  eventId: string;
}

export type ConversationState = 'open' | 'closed';

export interface ConversationStatus {
  conversationId: string;
  state: ConversationState;
  windowClosesAt: number | null;
  eventsRecorded: number;
}

export const inboundEventSignal = defineSignal<[InboundEventSignal]>('inboundEvent');
export const getConversationStatusQuery = defineQuery<ConversationStatus>('getConversationStatus');

/** How many recent event ids a run remembers, to ignore a second dispatch of the same event cheaply. */
const RECENT_EVENT_IDS = 500;

const { recordInboundEvent, closeConversation } = proxyActivities<ConversationActivities>({
  // A few database writes and one profile call: 10 s is ample, and bounds how long a crashed worker holds an event.
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: ['EventNotFound', 'AccountNotLinked'] },
});

export async function conversationWorkflow(input: ConversationWorkflowInput): Promise<ConversationStatus> {
  const conversationId = input.conversationId ?? uuid4();
  const pending: string[] = [...(input.pendingEventIds ?? [])];
  const recent: string[] = [...(input.recentEventIds ?? [])];
  let windowClosesAt = input.windowClosesAt;
  let state: ConversationState = 'open';
  let eventsRecorded = 0;
  const status = (): ConversationStatus => ({ conversationId, state, windowClosesAt: windowClosesAt ?? null, eventsRecorded });

  setHandler(inboundEventSignal, ({ eventId }) => {
    if (!recent.includes(eventId) && !pending.includes(eventId)) pending.push(eventId);
  });
  setHandler(getConversationStatusQuery, status);

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
    pendingEventIds: pending,
    recentEventIds: recent.slice(-RECENT_EVENT_IDS),
    ...carry,
  });

  for (;;) {
    const eventId = pending.shift();
    if (eventId !== undefined) {
      const recorded = await recordInboundEvent({
        eventId,
        igAccountId: input.igAccountId,
        igsid: input.igsid,
        conversationId,
        workflowId: workflowInfo().workflowId,
        firstOfConversation: eventsRecorded === 0 && input.conversationId === undefined,
      });
      recent.push(eventId);
      if (recent.length > RECENT_EVENT_IDS) recent.shift();
      eventsRecorded += 1;
      if (recorded.movesWindow) windowClosesAt = nextWindowClosesAt(windowClosesAt, recorded.occurredAt);
      continue;
    }

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof conversationWorkflow>(next({ conversationId, windowClosesAt }));
    }

    // A run that saw no customer message (only echoes, reads, reactions) still ends after the same 7 days.
    const closesAt = windowClosesAt ?? workflowInfo().runStartTime.getTime() + HUMAN_AGENT_WINDOW_MS;
    if (await condition(() => pending.length > 0, Math.max(1, closesAt - Date.now()))) continue;

    await closeConversation({ conversationId, igAccountId: input.igAccountId, igsid: input.igsid, closedAt: closesAt });
    state = 'closed';
    upsertSearchAttributes([{ key: ConversationStateKey, value: state }]);
    await condition(allHandlersFinished);
    // An event that came in while the close ran opens the next conversation instead of vanishing.
    if (pending.length > 0) return continueAsNew<typeof conversationWorkflow>(next({}));
    return status();
  }
}
