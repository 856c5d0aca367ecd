/** managers: the people (and the bot) of a channel who use the inbox API; owners manage links and managers. */
import { Schema, type Connection, type Model } from 'mongoose';

export type ManagerRole = 'owner' | 'agent';
export const managerRoles: readonly ManagerRole[] = ['owner', 'agent'];

export interface Manager {
  /** = managerId: lookups by `_id` are the fast ones on the local database. */
  _id: string;
  managerId: string;
  channelId: string;
  name: string;
  role: ManagerRole;
  createdAt: Date;
}

const managerSchema = new Schema<Manager>(
  {
    _id: { type: String, required: true },
    managerId: { type: String, required: true },
    channelId: { type: String, required: true },
    name: { type: String, required: true },
    role: { type: String, required: true, enum: managerRoles },
    createdAt: { type: Date, required: true },
  },
  { collection: 'managers', versionKey: false },
);
// A channel's managers, newest first with the id as tie-breaker; and its owners, who get the notices.
managerSchema.index({ channelId: 1, createdAt: -1, _id: -1 });
managerSchema.index({ channelId: 1, role: 1 });

export type ManagerModel = Model<Manager>;

export function getManagerModel(connection: Connection): ManagerModel {
  return (connection.models.Manager as ManagerModel | undefined) ?? connection.model<Manager>('Manager', managerSchema);
}
