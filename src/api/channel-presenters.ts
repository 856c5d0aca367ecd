/**
 * What the API answers about channels, managers, API keys and notices: the zod schema of each shape (named in the
 * API document) and the function that makes it from a stored document. Never a key's hash.
 */
import { z } from 'zod';
import type { ApiKey } from '../db/models/api-key';
import type { Channel } from '../db/models/channel';
import { managerRoles, type Manager } from '../db/models/manager';
import type { Notice } from '../db/models/notice';
import { namedSchema } from './schema-names';

const isoTime = z.iso.datetime();
const toIso = (value: Date | number | string): string => new Date(value).toISOString();

export const channelSchema = namedSchema('Channel', z.object({ channelId: z.string(), name: z.string(), createdAt: isoTime }).describe('A workspace of the inbox (a company)'));

export const managerSchema = namedSchema(
  'Manager',
  z.object({
    managerId: z.string(),
    channelId: z.string(),
    name: z.string(),
    role: z.enum(managerRoles).describe('owner: manages links, managers and keys, and gets the notices of the channel; agent: works the inbox'),
    createdAt: isoTime,
  }),
);

export const apiKeySecretSchema = z.string().describe('The API key itself, shown this once: only its hash is stored');

export const revokedKeySchema = z.object({ keyId: z.string(), managerId: z.string(), revokedAt: isoTime });

export const noticeSchema = namedSchema(
  'Notice',
  z.object({
    noticeId: z.string(),
    channelId: z.string(),
    kind: z.string().describe('What happened, e.g. reauth_due, link_expired, link_dropped, account_moved, messages_access_off'),
    title: z.string(),
    body: z.string(),
    facts: z.record(z.string(), z.unknown()).describe('The details of the notice (plain JSON), e.g. the account and the expiry time'),
    createdAt: isoTime,
    readAt: isoTime.nullable().describe('When the manager marked it read; null while unread'),
  }),
);

export function presentChannel(channel: Channel): z.input<typeof channelSchema> {
  return { channelId: channel.channelId, name: channel.name, createdAt: toIso(channel.createdAt) };
}

export function presentManager(manager: Manager): z.input<typeof managerSchema> {
  return { managerId: manager.managerId, channelId: manager.channelId, name: manager.name, role: manager.role, createdAt: toIso(manager.createdAt) };
}

export function presentRevokedKey(key: ApiKey & { revokedAt: Date }): z.input<typeof revokedKeySchema> {
  return { keyId: key.keyId, managerId: key.managerId, revokedAt: toIso(key.revokedAt) };
}

export function presentNotice(notice: Notice): z.input<typeof noticeSchema> {
  return {
    noticeId: notice.noticeId,
    channelId: notice.channelId,
    kind: notice.kind,
    title: notice.title,
    body: notice.body,
    facts: notice.facts,
    createdAt: toIso(notice.createdAt),
    readAt: notice.readAt ? toIso(notice.readAt) : null,
  };
}
