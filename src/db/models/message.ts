/**
 * messages: what the inbox shows. Inbound messages are keyed by Meta's `mid` (unique), so a second delivery
 * never makes a second message; the order is Meta's timestamp, not arrival.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { MessageAttachment, MessageKind, StoryReference } from '../../domain/webhook-events';

export type MessageDirection = 'inbound' | 'outbound';
export type SenderType = 'customer' | 'manager' | 'bot' | 'system';
/**
 * `received` for what customers sent. The engine's replies: `queued` (accepted, waiting its turn), `sending` (a send
 * is in flight), `sent`, `failed` (with the reason), `unknown` (Meta may or may not have sent it; a human decides).
 */
export type MessageStatus = 'received' | 'queued' | 'sending' | 'sent' | 'failed' | 'unknown';
export const messageStatuses: readonly MessageStatus[] = ['received', 'queued', 'sending', 'sent', 'failed', 'unknown'];

/** Why a reply was not sent: the failure's type and a sentence, with Meta's codes when Meta refused it. */
export interface MessageError {
  type: string;
  message: string;
  code?: number;
  subcode?: number;
  reason?: string;
}

/** What only the engine's own replies have. */
export interface OutboundDetails {
  acceptedAt: Date;
  /** The manager who wrote it (a bot's message has none). */
  managerId: string | null;
  /** SHA-256 of what was sent (the text, or the kinds of attachments): matches its echo after an unknown outcome. */
  fingerprint: string;
  /** HUMAN_AGENT when it went out between 24 hours and 7 days after the customer's last message. */
  tag: 'HUMAN_AGENT' | null;
  attempts: number;
  sendingAt: Date | null;
  /** When Meta accepted it. */
  sentToMetaAt: Date | null;
  /** One part of a text that was split to fit Instagram's limit. */
  part: { index: number; count: number } | null;
  /** The checked image Meta fetches from the engine (an upload, or the bytes fetched from the given URL). */
  mediaId: string | null;
  idempotencyKey: string | null;
}

export interface MessageReaction {
  by: 'customer';
  reaction: string;
  emoji: string | null;
  at: Date;
}

export interface Message {
  /** = messageId. Inbound messages use Meta's mid as their id, so updates by mid are `_id` lookups. */
  _id: string;
  messageId: string;
  /** Meta's message id; absent (never null) until Meta gave one, so the sparse unique index allows many. */
  mid?: string;
  conversationId: string;
  channelId: string;
  igAccountId: string;
  igsid: string;
  direction: MessageDirection;
  senderType: SenderType;
  kind: MessageKind;
  text: string | null;
  attachments: MessageAttachment[];
  story: StoryReference | null;
  replyToMid: string | null;
  /** Meta's timestamp of the message: the order of the conversation. */
  sentAt: Date;
  receivedAt: Date;
  status: MessageStatus;
  /** B11: the customer unsent it; its content is gone. */
  deletedAt: Date | null;
  editCount: number;
  /**
   * Meta's time of the edit shown: a change applies only if it is newer, so an older edit applied late never
   * replaces a newer one. Absent on messages stored before it was kept (and on the engine's own replies).
   */
  editedAt?: Date | null;
  reaction: MessageReaction | null;
  /** Meta's time of the latest reaction or unreact applied (an unreact leaves `reaction` null, not its time). */
  reactionAt?: Date | null;
  error: MessageError | null;
  outbound?: OutboundDetails;
}

const messageSchema = new Schema<Message>(
  {
    _id: { type: String, required: true },
    messageId: { type: String, required: true },
    mid: { type: String },
    conversationId: { type: String, required: true },
    channelId: { type: String, required: true },
    igAccountId: { type: String, required: true },
    igsid: { type: String, required: true },
    direction: { type: String, required: true, enum: ['inbound', 'outbound'] },
    senderType: { type: String, required: true, enum: ['customer', 'manager', 'bot', 'system'] },
    kind: { type: String, required: true },
    text: { type: String, default: null },
    attachments: { type: Schema.Types.Mixed, default: () => [] },
    story: { type: Schema.Types.Mixed, default: null },
    replyToMid: { type: String, default: null },
    sentAt: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    status: { type: String, required: true, enum: messageStatuses },
    deletedAt: { type: Date, default: null },
    editCount: { type: Number, default: 0 },
    editedAt: { type: Date, default: null },
    reaction: { type: Schema.Types.Mixed, default: null },
    reactionAt: { type: Date, default: null },
    error: { type: Schema.Types.Mixed, default: null },
    outbound: { type: Schema.Types.Mixed },
  },
  { collection: 'messages', versionKey: false, minimize: false },
);
// Unique where Meta gave one; outbound messages get theirs when sent. Sparse rather than partial: FerretDB has no
// partial indexes, and a sparse unique index on both servers allows any number of documents without the field.
messageSchema.index({ mid: 1 }, { unique: true, sparse: true });
messageSchema.index({ conversationId: 1, sentAt: 1 });

export type MessageModel = Model<Message>;

export function getMessageModel(connection: Connection): MessageModel {
  return (connection.models.Message as MessageModel | undefined) ?? connection.model<Message>('Message', messageSchema);
}
