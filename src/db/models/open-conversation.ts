/**
 * openConversations: for each customer of an account whose conversation is open, which conversation that is, keyed by
 * the conversation workflow's id. Written when a conversation is created and removed when it closes, so the ingress
 * finds where a new message goes with one `_id` lookup (the local database scans for any other filter).
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface OpenConversation {
  /** The conversation workflow's id: one per account and customer. */
  _id: string;
  conversationId: string;
}

const openConversationSchema = new Schema<OpenConversation>(
  {
    _id: { type: String, required: true },
    conversationId: { type: String, required: true },
  },
  { collection: 'openConversations', versionKey: false },
);

export type OpenConversationModel = Model<OpenConversation>;

export function getOpenConversationModel(connection: Connection): OpenConversationModel {
  return (connection.models.OpenConversation as OpenConversationModel | undefined) ?? connection.model<OpenConversation>('OpenConversation', openConversationSchema);
}
