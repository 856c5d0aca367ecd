/**
 * What the rest of the engine sees of conversationWorkflow: its input, its signals, updates and query, and what they
 * carry. Plain definitions, imported by the ingress and the send service as well as by the workflow.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

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
  /**
   * Meta's time of the customer's latest message as the conversation's document has it when the API accepted the
   * request: messages the ingress recorded without the workflow count for the 24-hour and 7-day rules.
   */
  lastCustomerMessageAt?: number;
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
