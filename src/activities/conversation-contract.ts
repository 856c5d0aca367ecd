/** What the conversation workflow asks of its activities; the inbound and outbound activities implement it. */
export interface RecordInboundEventInput {
  /** The stored webhook event's dedupe key. */
  eventId: string;
  igAccountId: string;
  igsid: string;
  conversationId: string;
  workflowId: string;
  /** The first event of a conversation: the customer's profile is due again whatever its age (B10). */
  firstOfConversation?: boolean;
  /**
   * A send of this conversation is in flight: an echo whose mid the inbox does not know yet is not decided now
   * (it may be that very send), but handed back to the workflow to be recorded once the send settles.
   */
  holdUnknownEchoes?: boolean;
  /**
   * Recorded by the ingress, not by the workflow (src/inbound/message-projector.ts): the conversation must still be
   * open when the event moves it, else nothing is written and ConversationNotOpenError is thrown.
   */
  onlyIfOpen?: boolean;
}

export type RecordOutcome =
  | 'recorded'
  /** Recorded as not shown on purpose (an account setting, a kind the inbox does not sync). */
  | 'skipped'
  /** An echo of a message the engine sent: it settled (or confirmed) that message, and is not shown again. */
  | 'matched-own-send'
  /** An echo with an unknown mid while a send is in flight: not recorded yet; the workflow asks again later. */
  | 'own-send-unsettled';

export interface RecordedInboundEvent {
  kind: string;
  /** Meta's timestamp of the event, in ms. */
  occurredAt: number;
  /** Only customer-initiated events (a message, a postback, an ig.me referral) move the 7-day window. */
  movesWindow: boolean;
  outcome: RecordOutcome;
  /** The engine's own message this echo confirmed as sent (after an unknown outcome). */
  settledMessageId?: string;
  /**
   * The customer has no profile yet, or an old one, or a new conversation began: the workflow fetches it with
   * `refreshCustomerProfile`, beside the events, so no message waits for the Profile API.
   */
  profileDue?: boolean;
}

/** Several pending events of one conversation, recorded in their order by one activity call. */
export interface RecordInboundEventsInput extends Omit<RecordInboundEventInput, 'eventId'> {
  eventIds: string[];
}

export interface RecordedInboundEvents {
  /** The answers for the first `results.length` events, in order. */
  results: RecordedInboundEvent[];
  /**
   * Set when an event could not be recorded: the call stopped there, so nothing after it was recorded ahead of it.
   * The workflow records that event alone, with retries and, when they run out, parking.
   */
  stoppedAt?: {
    eventId: string;
    reason: string;
    /** False when trying again cannot help (the event is parked at once, as its own activity would have been). */
    retryable: boolean;
  };
}

export interface RefreshCustomerProfileInput {
  igAccountId: string;
  igsid: string;
}

export interface CloseConversationInput {
  conversationId: string;
  igAccountId: string;
  igsid: string;
  closedAt: number;
  /**
   * Close only if the window has passed by `closedAt` (the window's timer fired): the ingress records a customer's
   * messages to an open conversation without its workflow, so the conversation may have moved its window meanwhile.
   * Absent: close whatever the window (a manager closed it, Meta said the window is closed).
   */
  onlyIfWindowPassed?: boolean;
}

/** Closed; or still open because a customer message moved its window, with the window as the database has it. */
export type CloseConversationOutcome = { closed: true } | { closed: false; windowClosesAt: number; lastCustomerMessageAt: number | undefined };

export interface SendMessageInput {
  messageId: string;
  conversationId: string;
  igAccountId: string;
  igsid: string;
  /** Between 24 hours and 7 days after the customer's last message a manager's reply carries Meta's HUMAN_AGENT tag. */
  tag?: 'HUMAN_AGENT';
}

export interface SentMessageResult {
  /** Meta's message id. */
  mid: string;
  sentAt: number;
}

/** Why a message was not sent, as shown on it: the failure's type, a sentence, and Meta's codes when Meta refused. */
export interface SendFailure {
  type: string;
  message: string;
  code?: number;
  subcode?: number;
  reason?: string;
}

export interface RecordSendFailureInput {
  messageId: string;
  /** `unknown`: Meta may or may not have sent it, and no echo told; a human decides. */
  status: 'failed' | 'unknown';
  failure: SendFailure;
}

export interface AccountProblemInput {
  igAccountId: string;
  type: 'TokenInvalid' | 'MessagesAccessOff';
  reason?: string;
  message: string;
}

export interface ParkInboundEventInput {
  eventId: string;
  reason: string;
  /** How many times recording it was tried; absent when not known (a workflow or worker from before it was counted). */
  attempts?: number;
}

export interface ConversationActivities {
  recordInboundEvent(input: RecordInboundEventInput): Promise<RecordedInboundEvent>;
  /** Records events in order until one fails; see RecordedInboundEvents. */
  recordInboundEvents(input: RecordInboundEventsInput): Promise<RecordedInboundEvents>;
  /** Fetches and stores the customer's profile; a failure is recorded on the customer (`profileError`) and raised. */
  refreshCustomerProfile(input: RefreshCustomerProfileInput): Promise<void>;
  /** Runs started before conditional closes were made recorded no outcome: read as closed. */
  closeConversation(input: CloseConversationInput): Promise<CloseConversationOutcome>;
  /** An event that could not be recorded is set aside with its reason, so it never blocks the ones after it. */
  parkInboundEvent(input: ParkInboundEventInput): Promise<void>;
  /** Sends one queued message through the Send API and records the outcome on it. */
  sendMessage(input: SendMessageInput): Promise<SentMessageResult>;
  recordSendFailure(input: RecordSendFailureInput): Promise<void>;
  /** After an unknown outcome: `sent` when an echo confirmed the message meanwhile, else it is marked `unknown`. */
  settleUnknownSend(input: { messageId: string }): Promise<'sent' | 'unknown'>;
  /** A token error or "messages access off" seen by a send: the linked account stops sending until fixed. */
  reportAccountProblem(input: AccountProblemInput): Promise<void>;
}
