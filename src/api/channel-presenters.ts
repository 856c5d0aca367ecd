/**
 * What the API answers about channels, managers, API keys, notices and linked Instagram accounts: the zod schema of
 * each shape (named in the API document) and the function that makes it from a stored document. Never a key's
 * hash, never a token.
 */
import { z } from 'zod';
import { unlinkReasons } from '../activities/account-contract';
import type { ApiKey } from '../db/models/api-key';
import type { Channel } from '../db/models/channel';
import { managerRoles, type Manager } from '../db/models/manager';
import type { Notice } from '../db/models/notice';
import { accountLinkState, droppedReasons, type AccountLinkState } from '../linking/link-status';
import type { ChannelAccount } from '../linking/linked-accounts';
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

const stateMessage = z.string().describe('The state in words for managers, with what to do');

export const linkStateSchema = namedSchema(
  'LinkState',
  z
    .discriminatedUnion('state', [
      z.object({
        state: z.literal('linked'),
        reauthDueAt: isoTime.describe('When the link expires unless re-authenticated: REAUTH_PERIOD_DAYS after it was made, never later than the token’s own expiry from Meta'),
        reauthNoticeAt: isoTime.describe('7 days before: the owners get a re-authentication notice'),
        message: stateMessage,
      }),
      z.object({ state: z.literal('reauth_due'), reauthDueAt: isoTime, reauthNoticeAt: isoTime, message: stateMessage }),
      z.object({ state: z.literal('expired'), expiredAt: isoTime, message: stateMessage }),
      z.object({
        state: z.literal('dropped'),
        reason: z.enum(droppedReasons).describe('Why Facebook ended the link early: the password changed, Facebook expired it early, the app was removed, or Meta no longer accepts the token'),
        droppedAt: isoTime,
        message: stateMessage,
      }),
      z.object({ state: z.literal('messages_access_off'), since: isoTime, message: stateMessage }),
      z.object({
        state: z.literal('unlinked'),
        reason: z.enum(unlinkReasons).nullable().describe('by_owner, linked_to_another_channel, not_reselected (a later login left it out), deauthorized or data_deleted (Meta’s callbacks); null when not recorded'),
        unlinkedAt: isoTime,
        message: stateMessage,
      }),
    ])
    .describe(
      'linked; reauth_due (past the re-authentication notice); expired (re-authentication required); dropped (by Facebook); messages_access_off (the Instagram app setting "Allow access to messages" is off); unlinked. Only linked and reauth_due accounts receive and send.',
    ),
);

export const linkedAccountSchema = namedSchema(
  'LinkedAccount',
  z.object({
    igAccountId: z.string(),
    channelId: z.string(),
    username: z.string(),
    pageId: z.string().describe('The Facebook Page the Instagram account is connected to'),
    pageName: z.string().nullable(),
    representative: z.boolean().describe('The channel’s representative account, shown on its front home (at most one per channel)'),
    settings: z.object({
      openOnStoryMention: z.boolean().describe('A story that mentions the account opens a conversation'),
      openOnPostShare: z.boolean().describe('A post a follower shares opens a conversation'),
    }),
    linkedAt: isoTime.describe('When the link was made or last re-authenticated'),
    linkedByFacebookUserId: z.string().nullable().describe('The Facebook account that made the link: re-authenticate with it'),
    status: linkStateSchema,
  }),
);

function presentLinkState(state: AccountLinkState): z.input<typeof linkStateSchema> {
  switch (state.state) {
    case 'linked':
    case 'reauth_due':
      return { ...state, reauthDueAt: toIso(state.reauthDueAt), reauthNoticeAt: toIso(state.reauthNoticeAt) };
    case 'expired':
      return { ...state, expiredAt: toIso(state.expiredAt) };
    case 'dropped':
      return { ...state, droppedAt: toIso(state.droppedAt) };
    case 'messages_access_off':
      return { ...state, since: toIso(state.since) };
    case 'unlinked':
      return { ...state, unlinkedAt: toIso(state.unlinkedAt) };
  }
}

export function presentLinkedAccount({ account, representative }: ChannelAccount, at: { now: number; reauthPeriodDays: number }): z.input<typeof linkedAccountSchema> {
  return {
    igAccountId: account.igAccountId,
    channelId: account.channelId,
    username: account.username,
    pageId: account.pageId,
    pageName: account.pageName ?? null,
    representative,
    settings: { openOnStoryMention: account.settings.openOnStoryMention, openOnPostShare: account.settings.openOnPostShare },
    linkedAt: toIso(account.linkedAt),
    linkedByFacebookUserId: account.linkedByFacebookUserId ?? null,
    status: presentLinkState(accountLinkState(account, at)),
  };
}
