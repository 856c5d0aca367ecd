/**
 * What one run of conversationWorkflow knows, in one object its parts share (the handlers, the outbox, the recording
 * of events), and what it hands to the next run.
 */
import { uuid4 } from '@temporalio/workflow';
import { HUMAN_AGENT_WINDOW_MS } from '../domain/window';
import type { ConversationState, ConversationStatus, ConversationWorkflowInput, OutboxEntry } from './conversation-api';

/** How many recent event ids a run remembers, to ignore a second dispatch of the same event cheaply. */
export const RECENT_EVENT_IDS = 500;

export interface ConversationRun {
  readonly input: ConversationWorkflowInput;
  readonly conversationId: string;
  /** Events taken in and not recorded yet, in order. */
  readonly pending: string[];
  /** The latest events handled: a second dispatch of one is ignored. */
  readonly recent: string[];
  /** Echoes waiting for a send to settle. */
  readonly held: string[];
  /** Accepted replies not sent yet, in order. */
  readonly outbox: OutboxEntry[];
  /** Replies already settled in this conversation. */
  readonly settled: string[];
  /** Messages an echo confirmed after their send's outcome was unknown. */
  readonly confirmedByEcho: string[];
  windowClosesAt: number | undefined;
  lastCustomerMessageAt: number | undefined;
  sendNotBefore: number | undefined;
  state: ConversationState;
  eventsRecorded: number;
  /** The message whose send is in flight: echoes with unknown mids wait for it to settle. */
  sending: string | undefined;
  /** Set when the conversation must end now (a manager closed it, or Meta said the window is closed). */
  closeRequestedAt: number | undefined;
  /** The customer's profile fetch in flight, if any. One at a time: the one running reads the newest profile anyway. */
  profileFetch: Promise<void> | undefined;
  /** Whether this run handled an event or settled a send yet. */
  progressed: boolean;
}

export function startRun(input: ConversationWorkflowInput): ConversationRun {
  return {
    input,
    conversationId: input.conversationId ?? uuid4(),
    pending: [...(input.pendingEventIds ?? [])],
    recent: [...(input.recentEventIds ?? [])],
    held: [...(input.heldEventIds ?? [])],
    outbox: [...(input.outbox ?? [])],
    settled: [...(input.settledMessageIds ?? [])],
    confirmedByEcho: [],
    windowClosesAt: input.windowClosesAt,
    lastCustomerMessageAt: input.lastCustomerMessageAt ?? (input.windowClosesAt === undefined ? undefined : input.windowClosesAt - HUMAN_AGENT_WINDOW_MS),
    sendNotBefore: input.sendNotBefore,
    state: 'open',
    eventsRecorded: 0,
    sending: undefined,
    closeRequestedAt: undefined,
    profileFetch: undefined,
    progressed: false,
  };
}

export const statusOf = (run: ConversationRun): ConversationStatus => ({
  conversationId: run.conversationId,
  state: run.state,
  windowClosesAt: run.windowClosesAt ?? null,
  lastCustomerMessageAt: run.lastCustomerMessageAt ?? null,
  eventsRecorded: run.eventsRecorded,
  outbox: run.outbox.map((entry) => entry.messageId),
  sendingMessageId: run.sending ?? null,
  sendNotBefore: run.sendNotBefore ?? null,
  profileFetching: run.profileFetch !== undefined,
});

/** The next run's input: the same customer, every event not recorded yet, and what `carry` says. */
export const nextRunInput = (run: ConversationRun, carry: Partial<ConversationWorkflowInput>): ConversationWorkflowInput => ({
  igAccountId: run.input.igAccountId,
  igsid: run.input.igsid,
  channelId: run.input.channelId,
  pendingEventIds: [...run.held, ...run.pending],
  recentEventIds: run.recent.slice(-RECENT_EVENT_IDS),
  ...carry,
});
