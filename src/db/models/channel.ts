/** channels: the workspaces of the inbox (a company each). Every manager belongs to one; an operator creates them. */
import { Schema, type Connection, type Model } from 'mongoose';

export interface Channel {
  /** = channelId: lookups by `_id` are the fast ones on the local database. */
  _id: string;
  channelId: string;
  name: string;
  /**
   * The representative Instagram account (A4), kept here and nowhere else: one field of one document, so owners
   * racing to switch it can never leave two. Null, or absent on older channels: none. An id that names an account
   * since unlinked (or moved to another channel) counts as none too.
   */
  representativeIgAccountId?: string | null;
  createdAt: Date;
}

const channelSchema = new Schema<Channel>(
  {
    _id: { type: String, required: true },
    channelId: { type: String, required: true },
    name: { type: String, required: true },
    representativeIgAccountId: { type: String, default: null },
    createdAt: { type: Date, required: true },
  },
  { collection: 'channels', versionKey: false },
);

export type ChannelModel = Model<Channel>;

export function getChannelModel(connection: Connection): ChannelModel {
  return (connection.models.Channel as ChannelModel | undefined) ?? connection.model<Channel>('Channel', channelSchema);
}
