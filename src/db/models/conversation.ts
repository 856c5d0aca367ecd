/** conversations: one support session between a linked account and a customer; one conversation workflow run owns it. */
import { Schema, type Connection, type Model } from 'mongoose';

export type ConversationState = 'open' | 'closed';

export interface Conversation {
  /** = conversationId: lookups by `_id` are the fast ones on the local database. */
  _id: string;
  conversationId: string;
  channelId: string;
  igAccountId: string;
  igsid: string;
  state: ConversationState;
  workflowId: string;
  openedAt: Date;
  lastCustomerMessageAt: Date | null;
  /** 7 days after the customer's latest message (C4); null until the customer wrote. */
  windowClosesAt: Date | null;
  lastMessageAt: Date | null;
  lastReadMid: string | null;
  lastReferral: { ref: string | null; source: string | null; at: Date } | null;
  closedAt: Date | null;
}

const conversationSchema = new Schema<Conversation>(
  {
    _id: { type: String, required: true },
    conversationId: { type: String, required: true },
    channelId: { type: String, required: true },
    igAccountId: { type: String, required: true },
    igsid: { type: String, required: true },
    state: { type: String, required: true, enum: ['open', 'closed'] },
    workflowId: { type: String, required: true },
    openedAt: { type: Date, required: true },
    lastCustomerMessageAt: { type: Date, default: null },
    windowClosesAt: { type: Date, default: null },
    lastMessageAt: { type: Date, default: null },
    lastReadMid: { type: String, default: null },
    lastReferral: { type: Schema.Types.Mixed, default: null },
    closedAt: { type: Date, default: null },
  },
  { collection: 'conversations', versionKey: false },
);
conversationSchema.index({ channelId: 1, state: 1, lastMessageAt: -1 });
conversationSchema.index({ igAccountId: 1, igsid: 1, openedAt: -1 });

export type ConversationModel = Model<Conversation>;

export function getConversationModel(connection: Connection): ConversationModel {
  return (connection.models.Conversation as ConversationModel | undefined) ?? connection.model<Conversation>('Conversation', conversationSchema);
}
