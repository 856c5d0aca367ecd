/**
 * conversationWorkflow, id `ig-conversation/<igAccountId>/<igsid>`: started or signalled (signalWithStart) for each
 * stored inbound event; owns the conversation's 7-day window and ends the run when it closes.
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
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ConversationActivities } from '../activities/conversation-contract';
import { HUMAN_AGENT_WINDOW_MS, nextWindowClosesAt } from '../domain/window';
import { ConversationStateKey, CustomerIgsidKey, IgAccountIdKey } from '../temporal/names';

export interface ConversationWorkflowInput {
  igAccountId: string;
  igsid: string;
  /** Carried over by continue-as-new so a long conversation keeps its window. */
  windowClosesAt?: number;
  pendingEventIds?: string[];
}

export interface InboundEventSignal {
  eventId: string;
}

export type ConversationState = 'open' | 'closed';

export interface ConversationStatus {
  state: ConversationState;
  windowClosesAt: number | null;
  eventsRecorded: number;
}

export const inboundEventSignal = defineSignal<[InboundEventSignal]>('inboundEvent');
export const getConversationStatusQuery = defineQuery<ConversationStatus>('getConversationStatus');

const { recordInboundEvent, closeConversation } = proxyActivities<ConversationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function conversationWorkflow(input: ConversationWorkflowInput): Promise<ConversationStatus> {
  const pending: string[] = [...(input.pendingEventIds ?? [])];
  let windowClosesAt = input.windowClosesAt;
  let state: ConversationState = 'open';
  let eventsRecorded = 0;

  setHandler(inboundEventSignal, ({ eventId }) => {
    pending.push(eventId);
  });
  setHandler(getConversationStatusQuery, () => ({ state, windowClosesAt: windowClosesAt ?? null, eventsRecorded }));

  upsertSearchAttributes([
    { key: IgAccountIdKey, value: input.igAccountId },
    { key: CustomerIgsidKey, value: input.igsid },
    { key: ConversationStateKey, value: state },
  ]);

  for (;;) {
    const eventId = pending.shift();
    if (eventId !== undefined) {
      const recorded = await recordInboundEvent({ eventId, igAccountId: input.igAccountId, igsid: input.igsid });
      eventsRecorded += 1;
      if (recorded.movesWindow) windowClosesAt = nextWindowClosesAt(windowClosesAt, recorded.occurredAt);
      continue;
    }

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof conversationWorkflow>({ ...input, windowClosesAt, pendingEventIds: pending });
    }

    // A run that saw no customer message (only echoes, reads, reactions) still ends after the same 7 days.
    const closesAt = windowClosesAt ?? workflowInfo().runStartTime.getTime() + HUMAN_AGENT_WINDOW_MS;
    if (await condition(() => pending.length > 0, Math.max(1, closesAt - Date.now()))) continue;

    await closeConversation({ igAccountId: input.igAccountId, igsid: input.igsid, closedAt: windowClosesAt ?? Date.now() });
    // An event that came in while the close ran opens the next conversation instead of vanishing.
    if (pending.length > 0) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof conversationWorkflow>({ igAccountId: input.igAccountId, igsid: input.igsid, pendingEventIds: pending });
    }
    state = 'closed';
    upsertSearchAttributes([{ key: ConversationStateKey, value: state }]);
    await condition(allHandlersFinished);
    return { state, windowClosesAt: windowClosesAt ?? null, eventsRecorded };
  }
}
