/** managers: the people (and the bot) of a channel who use the inbox API; owners manage links. Keys are stored hashed. */
import { createHash } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

export type ManagerRole = 'owner' | 'agent';

export interface Manager {
  managerId: string;
  channelId: string;
  name: string;
  role: ManagerRole;
  /** SHA-256 of the API key: the key itself is shown once, when created, and never stored. */
  apiKeyHash: string;
  createdAt: Date;
}

const managerSchema = new Schema<Manager>(
  {
    managerId: { type: String, required: true },
    channelId: { type: String, required: true },
    name: { type: String, required: true },
    role: { type: String, required: true, enum: ['owner', 'agent'] },
    apiKeyHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'managers', versionKey: false },
);
managerSchema.index({ managerId: 1 }, { unique: true });
managerSchema.index({ apiKeyHash: 1 }, { unique: true });
managerSchema.index({ channelId: 1, role: 1 });

export type ManagerModel = Model<Manager>;

export function getManagerModel(connection: Connection): ManagerModel {
  return (connection.models.Manager as ManagerModel | undefined) ?? connection.model<Manager>('Manager', managerSchema);
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}
