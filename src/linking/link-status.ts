/**
 * A linked account's status in words: the reason stored with a status when a link stops working or ends (written
 * by the account lifecycle's activities and by an owner's unlink alike, so both read the same), and the state
 * managers are shown, derived from the stored status and the link's deadlines. Pure: no I/O.
 */
import { unlinkReasons, type LinkStatusChangeReason, type UnlinkReason } from '../activities/account-contract';
import { inactiveAccountAdvice, type LinkedAccount, type LinkStatus, type LinkStatusReason } from '../db/models/linked-account';
import { linkExpiresAt, reauthWarningAt, tokenRevokedReasonOf, type TokenRevokedReason } from '../domain/link';
import { FailureType } from '../temporal/failures';

/** The early ends Facebook causes that leave the link waiting for a re-authentication. */
export type DroppedReason = Exclude<TokenRevokedReason, 'messages_access_off'>;

export const droppedReasons = ['password_changed', 'expired_early', 'app_removed', 'invalid'] as const satisfies readonly DroppedReason[];

export const droppedBecause: Record<DroppedReason, string> = {
  password_changed: 'the password of the Facebook account that made the link was changed',
  expired_early: 'Facebook expired the link before its time',
  app_removed: "the app was removed from the Facebook account's business integrations",
  invalid: 'Facebook no longer accepts the link',
};

function statusReasonType(reason: LinkStatusChangeReason | undefined): string {
  switch (reason) {
    case 'reauth_period_over':
      return 'LinkExpired';
    case 'messages_access_off':
      return FailureType.MessagesAccessOff;
    case 'by_owner':
    case 'linked_to_another_channel':
    case 'not_reselected':
    case 'deauthorized':
    case 'data_deleted':
      return 'Unlinked';
    default:
      return FailureType.TokenInvalid;
  }
}

/** The sentence for managers that goes with a status change. */
export function statusSentence(reason: LinkStatusChangeReason | undefined): string {
  switch (reason) {
    case 'reauth_period_over':
      return 'the link was not re-authenticated in time: an owner must re-authenticate it';
    case 'messages_access_off':
      return inactiveAccountAdvice('messages_access_off');
    case 'by_owner':
      return 'an owner unlinked the account';
    case 'linked_to_another_channel':
      return 'the account was linked to another channel';
    case 'not_reselected':
      return 'the last Facebook login of its owner did not select it again, so Meta no longer grants access to it: link it again to use it';
    case 'deauthorized':
      return 'the Facebook account that made the link removed this app';
    case 'data_deleted':
      return 'the Facebook account that made the link asked Meta to delete its data';
    case 'password_changed':
    case 'expired_early':
    case 'app_removed':
    case 'invalid':
      return `${droppedBecause[reason]}: an owner must re-authenticate it`;
    default:
      return inactiveAccountAdvice('reauth_required');
  }
}

/** What is stored with a status: null for an active link, else why it stopped, in words, and when. */
export function linkStatusReason(status: LinkStatus, reason: LinkStatusChangeReason | undefined, at: Date, message?: string): LinkStatusReason | null {
  if (status === 'active') return null;
  return { type: statusReasonType(reason), reason: reason ?? null, message: message ?? statusSentence(reason), at };
}

/** What managers are shown of a link: its state, the dates that matter to it, and what to do (times in ms). */
export type AccountLinkState =
  | { state: 'linked'; reauthDueAt: number; reauthNoticeAt: number; message: string }
  | { state: 'reauth_due'; reauthDueAt: number; reauthNoticeAt: number; message: string }
  | { state: 'expired'; expiredAt: number; message: string }
  | { state: 'dropped'; reason: DroppedReason; droppedAt: number; message: string }
  | { state: 'messages_access_off'; since: number; message: string }
  | { state: 'unlinked'; reason: UnlinkReason | null; unlinkedAt: number; message: string };

export type LinkStateInput = Pick<LinkedAccount, 'status' | 'statusReason' | 'linkedAt' | 'tokenExpiresAt' | 'updatedAt'>;

const REAUTHENTICATE = "an owner re-authenticates it from the channel's Instagram settings, signing in with the Facebook account that made the link";
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The state of a link now. The stored status decides the ended states (the account's workflow writes them); an
 * active link is judged by its expiry, so an expiry the workflow has not recorded yet shows at once.
 */
export function accountLinkState(account: LinkStateInput, settings: { now: number; reauthPeriodDays: number }): AccountLinkState {
  const expiresAt = linkExpiresAt(account.linkedAt.getTime(), settings.reauthPeriodDays, account.tokenExpiresAt ? account.tokenExpiresAt.getTime() : null);
  const changedAt = account.statusReason?.at ? new Date(account.statusReason.at).getTime() : account.updatedAt.getTime();
  const reason = account.statusReason?.reason ?? null;
  switch (account.status) {
    case 'active':
      return activeState(expiresAt, settings.now);
    case 'reauth_required':
      // A token check may have learnt of an earlier expiry than the dates stored here: then the recorded time is it.
      return reason === null || reason === 'reauth_period_over' ? expiredState(Math.min(expiresAt, changedAt)) : droppedState(droppedReasonOf(reason), changedAt);
    case 'messages_access_off':
      return { state: 'messages_access_off', since: changedAt, message: `replies cannot be sent because ${inactiveAccountAdvice('messages_access_off')}` };
    case 'unlinked':
      return unlinkedState(reason, changedAt);
  }
}

function activeState(expiresAt: number, now: number): AccountLinkState {
  const reauthNoticeAt = reauthWarningAt(expiresAt);
  if (now >= expiresAt) return expiredState(expiresAt);
  if (now >= reauthNoticeAt) return { state: 'reauth_due', reauthDueAt: expiresAt, reauthNoticeAt, message: `re-authentication due by ${day(expiresAt)}: ${REAUTHENTICATE}` };
  return { state: 'linked', reauthDueAt: expiresAt, reauthNoticeAt, message: `linked; re-authentication due by ${day(expiresAt)} (the owners are reminded on ${day(reauthNoticeAt)})` };
}

function expiredState(expiredAt: number): AccountLinkState {
  return {
    state: 'expired',
    expiredAt,
    message: `re-authentication required: the link expired on ${day(expiredAt)}, so new Instagram messages are not shown and replies cannot be sent; ${REAUTHENTICATE}`,
  };
}

function droppedState(reason: DroppedReason, droppedAt: number): AccountLinkState {
  return { state: 'dropped', reason, droppedAt, message: `Facebook dropped the link because ${droppedBecause[reason]}; ${REAUTHENTICATE}` };
}

function unlinkedState(stored: string | null, unlinkedAt: number): AccountLinkState {
  const reason = (unlinkReasons as readonly string[]).includes(stored ?? '') ? (stored as UnlinkReason) : null;
  const why = reason === null ? inactiveAccountAdvice('unlinked') : statusSentence(reason);
  return { state: 'unlinked', reason, unlinkedAt, message: `${why}; its conversations stay readable, and nothing more is sent or received` };
}

/** The workflow stores the account-level reason; a send that found the token dead stores Meta's (`expired`, ...). */
function droppedReasonOf(stored: string): DroppedReason {
  if ((droppedReasons as readonly string[]).includes(stored)) return stored as DroppedReason;
  const revoked = tokenRevokedReasonOf(stored);
  return revoked === 'messages_access_off' ? 'invalid' : revoked;
}
