/** channels: the workspaces of the inbox (a company each). Every manager belongs to one; an operator creates them. */
import { Schema, type Connection, type Model } from 'mongoose';

export interface Channel {
  /** = channelId: lookups by `_id` are the fast ones on FerretDB. */
  _id: string;
  channelId: string;
  name: string;
  createdAt: Date;
}

const channelSchema = new Schema<Channel>(
  {
    _id: { type: String, required: true },
    channelId: { type: String, required: true },
    name: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'channels', versionKey: false },
);

export type ChannelModel = Model<Channel>;

export function getChannelModel(connection: Connection): ChannelModel {
  return (connection.models.Channel as ChannelModel | undefined) ?? connection.model<Channel>('Channel', channelSchema);
}
