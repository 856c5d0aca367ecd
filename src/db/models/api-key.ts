/**
 * apiKeys: a manager's keys for the inbox API, stored hashed only. The hash is the `_id`, so authenticating a
 * request is one lookup by `_id` (the local database answers most other filters with a full scan). A revoked key stays, with
 * `revokedAt`, so its `keyId` still names it.
 */
import { createHash } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';

export interface ApiKey {
  /** SHA-256 of the key, hex: the key itself is shown once, when created, and never stored. */
  _id: string;
  /** The key's public name, for revoking it. */
  keyId: string;
  managerId: string;
  channelId: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const apiKeySchema = new Schema<ApiKey>(
  {
    _id: { type: String, required: true },
    keyId: { type: String, required: true },
    managerId: { type: String, required: true },
    channelId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
  },
  { collection: 'apiKeys', versionKey: false },
);
apiKeySchema.index({ keyId: 1 }, { unique: true });
apiKeySchema.index({ managerId: 1 });

export type ApiKeyModel = Model<ApiKey>;

export function getApiKeyModel(connection: Connection): ApiKeyModel {
  return (connection.models.ApiKey as ApiKeyModel | undefined) ?? connection.model<ApiKey>('ApiKey', apiKeySchema);
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}
