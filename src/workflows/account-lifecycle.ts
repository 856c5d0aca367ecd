/**
 * accountLifecycleWorkflow, id `ig-account/<igAccountId>`: started by the linking flow when an Instagram account is
 * linked to a channel, alive as long as the link; owns the link's deadlines (the re-authentication notice 7 days
 * before expiry, the expiry), a daily token check, and the early ends Facebook causes (reported by the outbox).
 * Only ids, kinds, reasons and times travel through it; the notices' text and the token live elsewhere.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  AccountActivities,
  AccountNoticeKind,
  LinkStatus,
  LinkStatusChangeReason,
  NoticeFacts,
  TokenCheck,
  TokenRevokedReason,
  UnlinkReason,
} from '../activities/account-contract';
import { DAY_MS, linkExpiresAt, reauthWarningAt } from '../domain/link';
import { failureOf } from '../temporal/failures';
import { ChannelIdKey, IgAccountIdKey, LinkStatusKey } from '../temporal/names';

export interface AccountLifecycleInput {
  igAccountId: string;
  channelId: string;
  /** When the link was made, or last re-authenticated (ms): the re-authentication period counts from it. */
  linkedAt: number;
  /** Meta's expiry of the token (ms); null when Meta says it never expires. */
  tokenExpiresAt: number | null;
  /** How long a link lasts without re-authentication (the REAUTH_PERIOD_DAYS setting). */
  reauthPeriodDays: number;
  /** The Facebook user who made the link: re-authenticating with anyone else is refused by the linking flow. */
  linkedByFacebookUserId: string;
  /** Token checks per run before it continues as new (daily checks for years would grow one history without end). */
  checksPerRun?: number;
  // Carried over by continue-as-new.
  status?: LinkStatus;
  statusReason?: LinkStatusChangeReason | null;
  /** The expiry the re-authentication notice was posted for: a re-authentication moves the expiry, and a new notice is due. */
  warnedForExpiresAt?: number | null;
  lastCheckAt?: number | null;
  pendingChanges?: LinkChange[];
}

/**
 * A login linked the account again: a re-authentication, a link after an unlink, or a link from another channel
 * (A5: the Facebook account moved; the old channel's owners are told). Also what starts the workflow's first run.
 */
export interface ReauthorizedSignal {
  /** When the owner re-authenticated (ms): the new period counts from it. */
  linkedAt: number;
  tokenExpiresAt: number | null;
  /** The channel the account is linked to now; absent: the same one. */
  channelId?: string;
  linkedByFacebookUserId?: string;
}

export interface TokenRevokedSignal {
  reason: TokenRevokedReason;
}

export interface UnlinkedSignal {
  reason: UnlinkReason;
}

/** A signal waiting for the main loop, in arrival order (plain JSON: it is carried over by continue-as-new). */
export type LinkChange =
  | ({ kind: 'reauthorized' } & ReauthorizedSignal)
  | ({ kind: 'tokenRevoked' } & TokenRevokedSignal)
  | ({ kind: 'unlinked' } & UnlinkedSignal);

export interface LinkStatusView {
  channelId: string;
  status: LinkStatus;
  reason: LinkStatusChangeReason | null;
  linkedAt: number;
  linkedByFacebookUserId: string;
  /** When the current link period ends (for a link that ended, when it would have ended). */
  expiresAt: number;
  warningAt: number;
  warningSent: boolean;
  lastCheckAt: number | null;
}

export const reauthorizedSignal = defineSignal<[ReauthorizedSignal]>('reauthorized');
export const tokenRevokedSignal = defineSignal<[TokenRevokedSignal]>('tokenRevoked');
export const unlinkedSignal = defineSignal<[UnlinkedSignal]>('unlinked');
export const getLinkStatusQuery = defineQuery<LinkStatusView>('getLinkStatus');

export const TOKEN_CHECK_INTERVAL_MS = DAY_MS;
/** About half a year of daily checks: a few thousand events, well under the history limits. */
const DEFAULT_CHECKS_PER_RUN = 180;

// Database writes and notice posts: retried until they succeed, so a status change or a notice is never lost.
const { recordLinkStatus, notifyOwners } = proxyActivities<AccountActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

// Bounded: a check that keeps failing (Meta unreachable) is given up until the next day; it never ends the link.
const { checkToken } = proxyActivities<AccountActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 8 },
});

export async function accountLifecycleWorkflow(input: AccountLifecycleInput): Promise<LinkStatusView> {
  const { igAccountId } = input;
  let channelId = input.channelId;
  let linkedByFacebookUserId = input.linkedByFacebookUserId;
  const checksPerRun = input.checksPerRun ?? DEFAULT_CHECKS_PER_RUN;
  let linkedAt = input.linkedAt;
  let tokenExpiresAt = input.tokenExpiresAt;
  let status: LinkStatus = input.status ?? 'active';
  let statusReason: LinkStatusChangeReason | null = input.statusReason ?? null;
  let warnedForExpiresAt = input.warnedForExpiresAt ?? null;
  let lastCheckAt = input.lastCheckAt ?? null;
  const changes: LinkChange[] = [...(input.pendingChanges ?? [])];
  let checksThisRun = 0;
  let reauthorizations = 0;

  const expiresAt = (): number => linkExpiresAt(linkedAt, input.reauthPeriodDays, tokenExpiresAt);
  const view = (): LinkStatusView => ({
    status,
    reason: statusReason,
    channelId,
    linkedAt,
    linkedByFacebookUserId,
    expiresAt: expiresAt(),
    warningAt: reauthWarningAt(expiresAt()),
    warningSent: warnedForExpiresAt === expiresAt(),
    lastCheckAt,
  });

  // Handlers only queue: the main loop applies changes one at a time, between its own activities.
  setHandler(reauthorizedSignal, (signal) => {
    reauthorizations += 1;
    changes.push({ kind: 'reauthorized', ...signal });
  });
  setHandler(tokenRevokedSignal, ({ reason }) => {
    changes.push({ kind: 'tokenRevoked', reason });
  });
  setHandler(unlinkedSignal, ({ reason }) => {
    changes.push({ kind: 'unlinked', reason });
  });
  setHandler(getLinkStatusQuery, view);

  upsertSearchAttributes([
    { key: ChannelIdKey, value: channelId },
    { key: IgAccountIdKey, value: igAccountId },
    { key: LinkStatusKey, value: status },
  ]);
  const memoTitle = (): string => `Instagram account ${igAccountId} linked to channel ${channelId}`;
  upsertMemo({ title: memoTitle() });

  async function setStatus(next: LinkStatus, reason: LinkStatusChangeReason): Promise<void> {
    status = next;
    statusReason = reason;
    upsertSearchAttributes([{ key: LinkStatusKey, value: status }]);
    await recordLinkStatus({ igAccountId, status, reason });
  }

  async function notify(kind: AccountNoticeKind, dedupeKey: string, facts: NoticeFacts): Promise<void> {
    await notifyOwners({ channelId, igAccountId, kind, dedupeKey, facts });
  }

  /** The link stops working now: the account shows why, and the owners are told once per link period. */
  async function endLink(reason: TokenRevokedReason | 'reauth_period_over'): Promise<void> {
    const expiry = expiresAt();
    if (reason === 'reauth_period_over') {
      await setStatus('reauth_required', reason);
      await notify('link_expired', `link-expired/${igAccountId}/${expiry}`, { expiresAt: expiry });
    } else if (reason === 'messages_access_off') {
      await setStatus('messages_access_off', reason);
      await notify('messages_access_off', `messages-access-off/${igAccountId}/${linkedAt}`, { linkedAt });
    } else {
      await setStatus('reauth_required', reason);
      await notify('link_dropped', `link-dropped/${igAccountId}/${linkedAt}`, { reason, linkedAt });
    }
  }

  /** The account now serves another channel (its Facebook account was linked there): the old channel's owners are told. */
  async function moveToChannel(nextChannelId: string): Promise<void> {
    if (status !== 'unlinked') await notify('unlinked_elsewhere', `unlinked/${igAccountId}/${linkedAt}`, { linkedAt, toChannelId: nextChannelId });
    channelId = nextChannelId;
    upsertSearchAttributes([{ key: ChannelIdKey, value: channelId }]);
    upsertMemo({ title: memoTitle() });
  }

  /** Applies one queued signal. */
  async function apply(change: LinkChange): Promise<void> {
    switch (change.kind) {
      case 'reauthorized':
        // A late copy of an older re-authentication changes nothing.
        if (change.linkedAt < linkedAt) return;
        if (change.channelId !== undefined && change.channelId !== channelId) await moveToChannel(change.channelId);
        if (change.linkedByFacebookUserId !== undefined) linkedByFacebookUserId = change.linkedByFacebookUserId;
        linkedAt = change.linkedAt;
        tokenExpiresAt = change.tokenExpiresAt;
        if (status !== 'active') await setStatus('active', 'reauthorized');
        return;
      case 'tokenRevoked':
        // A link that already ended is not ended again: the owners were told once.
        if (status === 'active') await endLink(change.reason);
        return;
      case 'unlinked':
        if (status === 'unlinked') return;
        await setStatus('unlinked', change.reason);
        if (change.reason === 'linked_to_another_channel') {
          await notify('unlinked_elsewhere', `unlinked/${igAccountId}/${linkedAt}`, { linkedAt });
        }
        return;
    }
  }

  async function checkTokenNow(dueAt: number, now: number): Promise<void> {
    checksThisRun += 1;
    // Checks keep their time of day (the next one is a day after this one was due), unless a whole day was missed.
    lastCheckAt = now - dueAt < TOKEN_CHECK_INTERVAL_MS ? dueAt : now;
    const reauthorizationsBefore = reauthorizations;
    let check: TokenCheck;
    try {
      check = await checkToken({ igAccountId });
    } catch (error) {
      log.warn('token check failed; the next one is tomorrow', { igAccountId, failure: failureOf(error).type });
      return;
    }
    // A re-authentication during the check replaced the token it looked at: its answer is about the old one.
    if (reauthorizations !== reauthorizationsBefore) return;
    // Unlinked in the database by a path whose signal never arrived (Meta's callbacks while Temporal was down).
    if (check.unlinkedBecause !== undefined) {
      changes.push({ kind: 'unlinked', reason: check.unlinkedBecause });
      return;
    }
    if (!check.valid) {
      await endLink(check.reason ?? 'invalid');
      return;
    }
    if (check.expiresAt !== undefined) tokenExpiresAt = check.expiresAt;
  }

  for (;;) {
    const change = changes.shift();
    if (change !== undefined) {
      await apply(change);
      continue;
    }
    // Unlinked, and no later link waiting: the workflow's work is over. (A link that comes after the run ended starts
    // a new run; one that came while it ended is in `changes`, because Temporal does not let a run end past a signal.)
    if (status === 'unlinked') break;

    if (workflowInfo().continueAsNewSuggested || checksThisRun >= checksPerRun) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof accountLifecycleWorkflow>({
        ...input,
        channelId,
        linkedByFacebookUserId,
        linkedAt,
        tokenExpiresAt,
        status,
        statusReason,
        warnedForExpiresAt,
        lastCheckAt,
        pendingChanges: changes,
      });
    }

    if (status !== 'active') {
      // No deadline while the link is down: the owner re-authenticates or unlinks.
      await condition(() => changes.length > 0 || workflowInfo().continueAsNewSuggested);
      continue;
    }

    const now = Date.now();
    const expiry = expiresAt();
    if (now >= expiry) {
      await endLink('reauth_period_over');
      continue;
    }
    const warningAt = reauthWarningAt(expiry);
    const warningDue = warnedForExpiresAt !== expiry;
    if (warningDue && now >= warningAt) {
      await notify('reauth_due', `reauth-due/${igAccountId}/${expiry}`, { expiresAt: expiry, linkedAt });
      warnedForExpiresAt = expiry;
      continue;
    }
    const checkAt = (lastCheckAt ?? linkedAt) + TOKEN_CHECK_INTERVAL_MS;
    if (now >= checkAt) {
      await checkTokenNow(checkAt, now);
      continue;
    }

    const wakeAt = Math.min(expiry, checkAt, warningDue ? warningAt : Number.POSITIVE_INFINITY);
    await condition(() => changes.length > 0, wakeAt - now);
  }

  await condition(allHandlersFinished);
  return view();
}
