/** What the conversation workflow asks of its activities; the inbound activities implement it. */
export interface RecordInboundEventInput {
  /** The stored webhook event's dedupe key. */
  eventId: string;
  igAccountId: string;
  igsid: string;
  conversationId: string;
  workflowId: string;
  /** The first event of a conversation: the customer's profile is fetched again whatever its age (B10). */
  firstOfConversation?: boolean;
}

export type RecordOutcome =
  | 'recorded'
  /** Recorded as not shown on purpose (an account setting, a kind the inbox does not sync). */
  | 'skipped'
  /** An echo of a message the engine sent and already stored. */
  | 'matched-own-send'
  /** An echo carrying this engine's app id whose send has not stored its answer yet. */
  | 'own-send-unsettled';

export interface RecordedInboundEvent {
  kind: string;
  /** Meta's timestamp of the event, in ms. */
  occurredAt: number;
  /** Only customer-initiated events (a message, a postback, an ig.me referral) move the 7-day window. */
  movesWindow: boolean;
  outcome: RecordOutcome;
}

export interface CloseConversationInput {
  conversationId: string;
  igAccountId: string;
  igsid: string;
  closedAt: number;
}

export interface ConversationActivities {
  recordInboundEvent(input: RecordInboundEventInput): Promise<RecordedInboundEvent>;
  closeConversation(input: CloseConversationInput): Promise<void>;
}
