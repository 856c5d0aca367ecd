/** What the conversation workflow asks of its activities; the inbound activities implement it. */
export interface RecordInboundEventInput {
  eventId: string;
  igAccountId: string;
  igsid: string;
}

export interface RecordedInboundEvent {
  kind: string;
  /** Meta's timestamp of the event, in ms. */
  occurredAt: number;
  /** Only customer-initiated events (a message, a postback, an ig.me referral) move the 7-day window. */
  movesWindow: boolean;
}

export interface CloseConversationInput {
  igAccountId: string;
  igsid: string;
  closedAt: number;
}

export interface ConversationActivities {
  recordInboundEvent(input: RecordInboundEventInput): Promise<RecordedInboundEvent>;
  closeConversation(input: CloseConversationInput): Promise<void>;
}
