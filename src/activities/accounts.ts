/**
 * Activities of the account lifecycle workflow: write a linked account's status, tell the channel's owners through
 * the notice board, and ask Meta whether the account's token still works. The workflow passes ids only: the token
 * is read and opened here, and each notice's words are written here.
 */
import type { Models } from '../db/models';
import { inactiveAccountAdvice, type LinkedAccount } from '../db/models/linked-account';
import { tokenRevokedReasonOf, type TokenRevokedReason } from '../domain/link';
import type { GraphClient } from '../graph/client';
import { tokenInvalidReasonOf } from '../graph/meta-errors';
import { droppedBecause, linkStatusReason } from '../linking/link-status';
import type { Logger } from '../logger';
import type { TokenCipher } from '../security/token-cipher';
import { FailureType } from '../temporal/failures';
import {
  unlinkReasons,
  type AccountActivities,
  type AccountNoticeKind,
  type CheckTokenInput,
  type NoticeBoard,
  type NoticeFacts,
  type NotifyOwnersInput,
  type NotifyOwnersResult,
  type RecordLinkStatusInput,
  type TokenCheck,
  type UnlinkReason,
} from './account-contract';
import { ActivityError } from './failures';

export interface AccountActivityDeps {
  models: Pick<Models, 'linkedAccounts'>;
  graph: Pick<GraphClient, 'debugToken'>;
  cipher: TokenCipher;
  noticeBoard: NoticeBoard;
  logger: Logger;
  now?: () => number;
}

export function createAccountActivities(deps: AccountActivityDeps): AccountActivities {
  const { models } = deps;
  const now = deps.now ?? Date.now;

  const findAccount = (igAccountId: string) => models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>();

  return {
    async recordLinkStatus(input: RecordLinkStatusInput): Promise<void> {
      const at = new Date(now());
      const statusReason = linkStatusReason(input.status, input.reason, at, input.message);
      // Conditional on the status being another one: a retry, or the same news twice, writes nothing. An unlink
      // written by Meta's callbacks while this workflow did not hear of it is never overwritten by a token problem.
      const unchangeable = input.status === 'active' ? [input.status] : [input.status, 'unlinked'];
      const result = await models.linkedAccounts.updateOne(
        { _id: input.igAccountId, status: { $nin: unchangeable } },
        { $set: { status: input.status, statusReason, updatedAt: at } },
      );
      if (result.matchedCount === 0 && !(await findAccount(input.igAccountId))) {
        // Nothing left to mark (its data was deleted): the lifecycle goes on without failing.
        deps.logger.warn('link status not recorded: no such linked account', { igAccountId: input.igAccountId, status: input.status });
      }
    },

    async notifyOwners(input: NotifyOwnersInput): Promise<NotifyOwnersResult> {
      const account = await findAccount(input.igAccountId);
      const name = account ? `@${account.username}` : `Instagram account ${input.igAccountId}`;
      const { title, body } = noticeText(input.kind, name, input.facts);
      return deps.noticeBoard.postToOwners({ channelId: input.channelId, kind: input.kind, title, body, facts: { igAccountId: input.igAccountId, ...input.facts }, dedupeKey: input.dedupeKey });
    },

    async checkToken({ igAccountId }: CheckTokenInput): Promise<TokenCheck> {
      const account = await findAccount(igAccountId);
      if (!account) throw new ActivityError(FailureType.AccountNotActive, `Instagram account ${igAccountId} is not linked to any channel`);
      if (account.status === 'unlinked') return { valid: false, unlinkedBecause: unlinkReasonOf(account.statusReason?.reason) };
      if (!account.pageToken) throw new ActivityError(FailureType.AccountNotActive, `Instagram account @${account.username} has no Page token: link it again`);
      const info = await deps.graph.debugToken(deps.cipher.open(account.pageToken, { boundTo: account.igAccountId }));
      if (!info.isValid) {
        const expiredAtMs = info.expiresAt ? info.expiresAt * 1000 : undefined;
        return { valid: false, reason: deadTokenReason(info.error?.code, info.error?.subcode, expiredAtMs !== undefined && expiredAtMs <= now()) };
      }
      // Meta shows a token that never expires (a Page token from a long-lived user token) with expires_at 0.
      if (info.expiresAt === undefined) return { valid: true };
      const expiresAt = info.expiresAt === 0 ? null : info.expiresAt * 1000;
      // The account's status in the API counts its expiry from this too, as the workflow does.
      await models.linkedAccounts.updateOne({ _id: igAccountId }, { $set: { tokenExpiresAt: expiresAt === null ? null : new Date(expiresAt) } });
      return { valid: true, expiresAt };
    },
  };
}

/** The reason an unlinked account carries; every writer of an unlink records one, so the fallback is only a guard. */
function unlinkReasonOf(reason: string | null | undefined): UnlinkReason {
  return unlinkReasons.find((known) => known === reason) ?? 'by_owner';
}

function deadTokenReason(code: number | undefined, subcode: number | undefined, pastExpiry: boolean): TokenRevokedReason {
  if (code === 190) return tokenRevokedReasonOf(tokenInvalidReasonOf(subcode));
  return pastExpiry ? 'expired_early' : 'invalid';
}

const day = (ms: unknown): string => (typeof ms === 'number' ? new Date(ms).toISOString().slice(0, 10) : 'soon');

/** The words of each notice; the facts stay attached for the notice board to show or link. */
function noticeText(kind: AccountNoticeKind, name: string, facts: NoticeFacts): { title: string; body: string } {
  const reauthenticate = 'An owner re-authenticates it from the channel\'s Instagram settings, signing in with the Facebook account that made the link (another Facebook account is refused).';
  switch (kind) {
    case 'reauth_due':
      return {
        title: `${name}: re-authentication due by ${day(facts.expiresAt)}`,
        body: `The link of ${name} expires on ${day(facts.expiresAt)}; after that new Instagram messages are kept but not shown, and replies cannot be sent, until it is re-authenticated. ${reauthenticate}`,
      };
    case 'link_expired':
      return {
        title: `${name}: re-authentication required`,
        body: `The link of ${name} expired on ${day(facts.expiresAt)}: new Instagram messages are kept but not shown, and replies cannot be sent, until it is re-authenticated. ${reauthenticate}`,
      };
    case 'link_dropped': {
      const reason = typeof facts.reason === 'string' && facts.reason in droppedBecause ? droppedBecause[facts.reason as keyof typeof droppedBecause] : droppedBecause.invalid;
      return {
        title: `${name}: Facebook dropped the link`,
        body: `Facebook dropped the link of ${name} because ${reason}: new Instagram messages are kept but not shown, and replies cannot be sent, until it is re-authenticated. ${reauthenticate}`,
      };
    }
    case 'messages_access_off':
      return {
        title: `${name}: access to messages is off`,
        body: `Replies from ${name} cannot be sent because ${inactiveAccountAdvice('messages_access_off')}.`,
      };
    case 'unlinked_elsewhere':
      return {
        title: `${name} was unlinked`,
        body: `${name} was linked to another channel with the same Facebook account, so it was unlinked from this one. Its conversations stay readable here.`,
      };
  }
}
