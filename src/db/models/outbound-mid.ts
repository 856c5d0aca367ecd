/**
 * outboundMids: Meta's message id of each reply the engine sent, to that reply's id. Echoes name a message by its
 * mid; the engine's replies carry the mid as a field, so this keeps finding them an `_id` lookup (the local
 * database answers most other filters by scanning the whole collection).
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface OutboundMid {
  /** Meta's mid. */
  _id: string;
  messageId: string;
}

const outboundMidSchema = new Schema<OutboundMid>(
  {
    _id: { type: String, required: true },
    messageId: { type: String, required: true },
  },
  { collection: 'outboundMids', versionKey: false },
);

export type OutboundMidModel = Model<OutboundMid>;

export function getOutboundMidModel(connection: Connection): OutboundMidModel {
  return (connection.models.OutboundMid as OutboundMidModel | undefined) ?? connection.model<OutboundMid>('OutboundMid', outboundMidSchema);
}
