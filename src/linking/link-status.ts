/**
 * A linked account's status in words: the reason stored with a status when a link stops working or ends (written
 * by the account lifecycle's activities and by an owner's unlink alike, so both read the same). Pure: no I/O.
 */
import type { LinkStatusChangeReason } from '../activities/account-contract';
import { inactiveAccountAdvice, type LinkStatus, type LinkStatusReason } from '../db/models/linked-account';
import type { TokenRevokedReason } from '../domain/link';
import { FailureType } from '../temporal/failures';

/** The early ends Facebook causes that leave the link waiting for a re-authentication. */
export type DroppedReason = Exclude<TokenRevokedReason, 'messages_access_off'>;

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
