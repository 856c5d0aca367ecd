/** What the account lifecycle workflow asks of its activities; src/activities/accounts.ts implements it. */
import type { LinkStatus } from '../db/models/linked-account';
import type { TokenRevokedReason } from '../domain/link';

export type { LinkStatus, TokenRevokedReason };

/** Why a linked account's status changed: the revocation reasons, the period running out, or an unlink. */
export type LinkStatusChangeReason = TokenRevokedReason | 'reauth_period_over' | 'reauthorized' | UnlinkReason;

/** Why a link ended for good: an owner, a link from another channel (A5), a login that left it out (A3), Meta's callbacks (A12). */
export const unlinkReasons = ['by_owner', 'linked_to_another_channel', 'not_reselected', 'deauthorized', 'data_deleted'] as const;
export type UnlinkReason = (typeof unlinkReasons)[number];

export interface RecordLinkStatusInput {
  igAccountId: string;
  status: LinkStatus;
  reason?: LinkStatusChangeReason;
  /** A sentence for managers; the activity writes a standard one for the reason when absent. */
  message?: string;
}

/** The notices of the account lifecycle to the owners of a channel (each becomes a title and a body). */
export type AccountNoticeKind = 'reauth_due' | 'link_expired' | 'link_dropped' | 'messages_access_off' | 'unlinked_elsewhere';

/** Plain values only: they travel through Temporal. */
export type NoticeFacts = Record<string, string | number | boolean | null>;

export interface NotifyOwnersInput {
  channelId: string;
  igAccountId: string;
  kind: AccountNoticeKind;
  /** Stable across retries of the same notice: the notice board posts one notice per key and owner. */
  dedupeKey: string;
  facts: NoticeFacts;
}

export interface NotifyOwnersResult {
  posted: number;
}

export interface CheckTokenInput {
  igAccountId: string;
}

export interface TokenCheck {
  valid: boolean;
  /** Meta's expiry of the token in ms; null when Meta says it never expires; absent when Meta did not say. */
  expiresAt?: number | null;
  /** Why the token is dead, when it is. */
  reason?: TokenRevokedReason;
  /**
   * The account is unlinked in the database although the workflow did not hear of it (Meta's deauthorize or
   * data-deletion callback wrote it while Temporal was unreachable): the workflow ends the link for this reason.
   */
  unlinkedBecause?: UnlinkReason;
}

/**
 * The personal rooms of a channel's owners. Built elsewhere (the notices of D1); this is all the account lifecycle
 * needs of it. A second post with the same dedupe key posts nothing more to an owner who has it already.
 */
export interface NoticeBoard {
  postToOwners(input: { channelId: string; kind: string; title: string; body: string; facts: NoticeFacts; dedupeKey: string }): Promise<{ posted: number }>;
}

export interface AccountActivities {
  /**
   * Writes the linked account's status (and why); writing the same status again changes nothing. An unlinked
   * account only becomes active again (a new link): no other status overwrites an unlink.
   */
  recordLinkStatus(input: RecordLinkStatusInput): Promise<void>;
  /** Posts one notice to every owner of the channel, once per dedupe key. */
  notifyOwners(input: NotifyOwnersInput): Promise<NotifyOwnersResult>;
  /** Asks Meta (debug_token) whether the account's Page token still works, and until when; first, whether it is unlinked. */
  checkToken(input: CheckTokenInput): Promise<TokenCheck>;
}
