/**
 * dispatcherPresences: one document per running API process, the process that claims webhook events for dispatch:
 * when it started and when it last said it is alive. A claim older than the start of every live process has no
 * owner left (its process stopped), so the sweeper takes it over at once instead of waiting for the claim to age.
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface DispatcherPresence {
  /** A random id the process chose at start. */
  _id: string;
  startedAt: Date;
  renewedAt: Date;
}

const dispatcherPresenceSchema = new Schema<DispatcherPresence>(
  {
    _id: { type: String, required: true },
    startedAt: { type: Date, required: true },
    renewedAt: { type: Date, required: true },
  },
  { collection: 'dispatcherPresences', versionKey: false },
);

export type DispatcherPresenceModel = Model<DispatcherPresence>;

export function getDispatcherPresenceModel(connection: Connection): DispatcherPresenceModel {
  return (connection.models.DispatcherPresence as DispatcherPresenceModel | undefined) ?? connection.model<DispatcherPresence>('DispatcherPresence', dispatcherPresenceSchema);
}
