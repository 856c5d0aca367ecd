/**
 * Channels, their managers and the managers' API keys: the one place that creates them (the admin route, the
 * owners' routes, the set-up scripts and the tests all come here). A key is shown once, when made, and stored only
 * as its SHA-256, which is the key record's `_id`: authenticating a request is one lookup by `_id`.
 *
 * No transactions: a manager is written before its first key, so a crash in between leaves a manager without a
 * key (an owner issues one), never a key without its manager.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Models } from '../db/models';
import { hashApiKey, type ApiKey } from '../db/models/api-key';
import type { Channel } from '../db/models/channel';
import type { Manager, ManagerRole } from '../db/models/manager';
import { insertIfAbsent } from '../db/insert-if-absent';
import { pageOf, type CursorPosition } from '../api/cursor';

export interface IssuedKey {
  keyId: string;
  /** The key itself: shown to the caller once, never stored. */
  apiKey: string;
}

export interface NewManager extends IssuedKey {
  manager: Manager;
}

/** Who a valid, unrevoked key belongs to. */
export interface KeyHolder {
  manager: Manager;
  keyId: string;
}

export type RevokeOutcome = { outcome: 'revoked'; key: ApiKey & { revokedAt: Date } } | { outcome: 'no-such-key' };

export interface ChannelDirectoryDeps {
  models: Pick<Models, 'channels' | 'managers' | 'apiKeys'>;
  now: () => number;
  newId?: (kind: 'channel' | 'manager' | 'key') => string;
  newSecret?: () => string;
}

export type ChannelDirectory = ReturnType<typeof createChannelDirectory>;

const ID_PREFIX = { channel: 'ch', manager: 'mgr', key: 'key' } as const;

export function createChannelDirectory(deps: ChannelDirectoryDeps) {
  const { models } = deps;
  const newId = deps.newId ?? ((kind) => `${ID_PREFIX[kind]}_${randomUUID()}`);
  // 192 random bits; the prefix lets secret scanners recognise a leaked key.
  const newSecret = deps.newSecret ?? (() => `igdm_${randomBytes(24).toString('base64url')}`);

  async function findChannel(channelId: string): Promise<Channel | null> {
    return models.channels.findOne({ _id: channelId }).lean<Channel>();
  }

  /** A manager of the channel, or null (also for a manager of another channel). */
  async function findManager(channelId: string, managerId: string): Promise<Manager | null> {
    const manager = await models.managers.findOne({ _id: managerId }).lean<Manager>();
    return manager && manager.channelId === channelId ? manager : null;
  }

  async function issueApiKey(manager: Manager): Promise<IssuedKey> {
    const apiKey = newSecret();
    const keyId = newId('key');
    const record: ApiKey = { _id: hashApiKey(apiKey), keyId, managerId: manager.managerId, channelId: manager.channelId, createdAt: new Date(deps.now()), revokedAt: null };
    await models.apiKeys.collection.insertOne({ ...record } as never);
    return { keyId, apiKey };
  }

  /** A channel with this id, made now unless it exists (then it is answered as it is). */
  async function ensureChannel(input: { channelId?: string; name: string }): Promise<Channel> {
    const channelId = input.channelId ?? newId('channel');
    await insertIfAbsent(models.channels, { _id: channelId, channelId, name: input.name, representativeIgAccountId: null, createdAt: new Date(deps.now()) });
    const channel = await findChannel(channelId);
    if (!channel) throw new Error(`channel ${channelId} was written but cannot be read back`);
    return channel;
  }

  /** A new manager of an existing channel, with a first key. */
  async function addManager(input: { channelId: string; name: string; role: ManagerRole }): Promise<NewManager> {
    if (!(await findChannel(input.channelId))) throw new Error(`channel ${input.channelId} does not exist: create it first`);
    const managerId = newId('manager');
    const manager: Manager = { _id: managerId, managerId, channelId: input.channelId, name: input.name, role: input.role, createdAt: new Date(deps.now()) };
    await models.managers.collection.insertOne({ ...manager } as never);
    return { manager, ...(await issueApiKey(manager)) };
  }

  return {
    findChannel,
    findManager,
    ensureChannel,
    addManager,
    issueApiKey,

    /** A new channel and its first owner, with the owner's key. */
    async createChannelWithOwner(input: { name: string; ownerName: string; channelId?: string }): Promise<{ channel: Channel } & NewManager> {
      const channel = await ensureChannel({ name: input.name, ...(input.channelId ? { channelId: input.channelId } : {}) });
      return { channel, ...(await addManager({ channelId: channel.channelId, name: input.ownerName, role: 'owner' })) };
    },

    /** The holder of a key, or null when the key is unknown or revoked (or its manager is gone). */
    async findKeyHolder(apiKey: string): Promise<KeyHolder | null> {
      const key = await models.apiKeys.findOne({ _id: hashApiKey(apiKey) }).lean<ApiKey>();
      if (!key || key.revokedAt) return null;
      const manager = await models.managers.findOne({ _id: key.managerId }).lean<Manager>();
      return manager ? { manager, keyId: key.keyId } : null;
    },

    /** Revokes one of the manager's keys; revoking it again keeps the first revocation time. */
    async revokeApiKey(manager: Manager, keyId: string): Promise<RevokeOutcome> {
      const filter = { keyId, managerId: manager.managerId };
      await models.apiKeys.updateOne({ ...filter, revokedAt: null }, { $set: { revokedAt: new Date(deps.now()) } });
      const key = await models.apiKeys.findOne(filter).lean<ApiKey>();
      if (!key) return { outcome: 'no-such-key' };
      if (!key.revokedAt) throw new Error(`key ${keyId} was revoked but reads back unrevoked`);
      return { outcome: 'revoked', key: { ...key, revokedAt: key.revokedAt } };
    },

    /** Newest first, the id breaking ties. */
    async listManagers(channelId: string, page: { limit: number; after?: CursorPosition }): Promise<{ rows: Manager[]; nextCursor: string | null }> {
      const after = page.after;
      const filter = after ? { channelId, $or: [{ createdAt: { $lt: new Date(after.at) } }, { createdAt: new Date(after.at), _id: { $lt: after.id } }] } : { channelId };
      const managers = await models.managers.find(filter).sort({ createdAt: -1, _id: -1 }).limit(page.limit + 1).lean<Manager[]>();
      return pageOf(managers, page.limit, 'managers', (m) => ({ at: m.createdAt.getTime(), id: m._id }));
    },
  };
}
