/**
 * Meta's deauthorize and data-deletion callbacks (A12), past the signature check: what they change in storage.
 *
 * Deauthorize: every Instagram account the Facebook user linked is unlinked in the database at once, the owners of
 * its channel get one notice, and its account workflow is told. Data deletion does the same, then deletes what the
 * user granted: their facebookConnections document, their facebookLogins, and the sealed Page tokens of the accounts
 * they linked. Conversations and messages are the business's records and stay readable.
 *
 * Everything here may run again for the same request (Meta delivering it twice, a retry after a failure): writes
 * are conditional, notices carry a dedupe key, and a workflow told twice ignores the second unlink.
 */
import { randomBytes } from 'node:crypto';
import type { UnlinkReason } from '../activities/account-contract';
import { withTimeout } from '../async';
import { insertIfAbsent } from '../db/insert-if-absent';
import type { Models } from '../db/models';
import type { DataDeletionRequest, DeletedData } from '../db/models/data-deletion-request';
import type { LinkedAccount } from '../db/models/linked-account';
import type { Logger } from '../logger';
import type { NoticeBoard } from '../notices/notice-board';
import type { SignedRequestPayload } from '../security/signed-request';
import type { AccountWorkflows } from './account-workflows';
import { linkStatusReason } from './link-status';

export type CallbackUnlinkReason = Extract<UnlinkReason, 'deauthorized' | 'data_deleted'>;

export interface MetaCallbacksDeps {
  models: Pick<Models, 'linkedAccounts' | 'channels' | 'facebookConnections' | 'facebookLogins' | 'dataDeletionRequests'>;
  accountWorkflows: Pick<AccountWorkflows, 'unlinked'>;
  notices: Pick<NoticeBoard, 'postToOwners'>;
  logger: Logger;
  now: () => number;
  /** How long telling the account workflows may hold the answer to Meta. */
  workflowSignalTimeoutMs?: number;
}

export interface UnlinkOutcome {
  /** Accounts this call unlinked. */
  unlinked: string[];
  /** Accounts unlinked by a callback for this user, now or by an earlier delivery: announced and signalled. */
  ended: string[];
}

export type MetaCallbacks = ReturnType<typeof createMetaCallbacks>;

const CALLBACK_REASONS: readonly string[] = ['deauthorized', 'data_deleted'] satisfies CallbackUnlinkReason[];

/** 128 random bits as 32 hex digits: the alphanumeric code Meta asks for, and unguessable. */
export function newConfirmationCode(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Whether the account's link predates the request. Meta's issued_at is in seconds: a link made in the same second
 * counts as before. A request issued before the account was linked again (a late or repeated delivery) is about the
 * grant that ended then, so the newer link is left alone.
 */
function linkedBefore(linkedAt: Date, issuedAt: number): boolean {
  return Math.floor(linkedAt.getTime() / 1000) <= issuedAt;
}

function unlinkedByCallback(account: LinkedAccount): boolean {
  return account.status === 'unlinked' && CALLBACK_REASONS.includes(account.statusReason?.reason ?? '');
}

/** The owners' notice: why the link is gone, what stays, what to do. */
function unlinkNotice(account: LinkedAccount, reason: CallbackUnlinkReason): { title: string; body: string } {
  const name = `@${account.username}`;
  const why =
    reason === 'deauthorized'
      ? `The Facebook account that linked ${name} removed this app from its business integrations, so Meta no longer grants access to ${name}.`
      : `The Facebook account that linked ${name} asked Meta to delete the data this app received from it, so the link and its access token were deleted.`;
  return {
    title: `${name} was unlinked by Facebook`,
    body: `${why} New Instagram messages no longer arrive and replies cannot be sent; its conversations stay readable here. An owner can link it again through Facebook Login.`,
  };
}

export function createMetaCallbacks(deps: MetaCallbacksDeps) {
  const { models, logger } = deps;
  const signalTimeoutMs = deps.workflowSignalTimeoutMs ?? 3_000;
  const findByRequestKey = (requestKey: string) => models.dataDeletionRequests.findOne({ requestKey }).lean<DataDeletionRequest>();

  /** The accounts the user linked whose link predates the request, whatever their status. */
  async function accountsGrantedBy(request: SignedRequestPayload): Promise<LinkedAccount[]> {
    const accounts = await models.linkedAccounts.find({ linkedByFacebookUserId: request.userId }).lean<LinkedAccount[]>();
    return accounts.filter((account) => linkedBefore(account.linkedAt, request.issuedAt));
  }

  /**
   * Writes the unlink (and, as an owner's unlink does, frees the channel's representative role); false when the
   * account was unlinked meanwhile, or linked again since the read.
   */
  async function writeUnlink(account: LinkedAccount, reason: CallbackUnlinkReason): Promise<boolean> {
    const at = new Date(deps.now());
    const result = await models.linkedAccounts.updateOne(
      { _id: account._id, status: { $ne: 'unlinked' }, linkedByFacebookUserId: account.linkedByFacebookUserId, linkedAt: account.linkedAt },
      { $set: { status: 'unlinked', statusReason: linkStatusReason('unlinked', reason, at), updatedAt: at } },
    );
    if (result.modifiedCount !== 1) return false;
    await models.channels.updateOne({ _id: account.channelId, representativeIgAccountId: account.igAccountId }, { $set: { representativeIgAccountId: null } });
    return true;
  }

  /** One notice per link period: a second delivery, or data deletion after deauthorize, posts nothing more. */
  async function notifyOwners(account: LinkedAccount, reason: CallbackUnlinkReason): Promise<void> {
    const { title, body } = unlinkNotice(account, reason);
    await deps.notices.postToOwners({
      channelId: account.channelId,
      kind: 'unlinked_by_facebook',
      title,
      body,
      facts: { igAccountId: account.igAccountId, reason, linkedAt: account.linkedAt.getTime() },
      dedupeKey: `unlinked-by-facebook/${account.igAccountId}/${account.linkedAt.getTime()}`,
    });
  }

  /**
   * Tells each account workflow, within a bound. A failure is logged and left: the database already says
   * unlinked, and the workflow's next daily token check reads it from there (see checkToken).
   */
  async function tellWorkflows(igAccountIds: string[], reason: CallbackUnlinkReason): Promise<void> {
    const told = Promise.allSettled(igAccountIds.map((igAccountId) => deps.accountWorkflows.unlinked(igAccountId, reason)));
    try {
      const results = await withTimeout(told, signalTimeoutMs, 'telling the account workflows');
      const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [igAccountIds[index]] : []));
      if (failed.length > 0) logger.warn('account workflows not told of the unlink; their next token check finds it', { igAccountIds: failed, reason });
    } catch (error) {
      logger.warn('account workflows not told of the unlink in time; their next token check finds it', { igAccountIds, reason, error: (error as Error).message });
    }
  }

  /** Unlinks every account the user linked, tells the owners and the workflows. */
  async function unlinkAccountsOf(request: SignedRequestPayload, reason: CallbackUnlinkReason): Promise<UnlinkOutcome & { granted: LinkedAccount[] }> {
    const granted = await accountsGrantedBy(request);
    const unlinked: string[] = [];
    const ended: LinkedAccount[] = [];
    for (const account of granted) {
      const unlinkedNow = account.status !== 'unlinked' && (await writeUnlink(account, reason));
      if (unlinkedNow) unlinked.push(account.igAccountId);
      // An earlier delivery may have stopped after its write: its notice and signals are due again (both idempotent).
      if (unlinkedNow || unlinkedByCallback(account)) ended.push(account);
    }
    for (const account of ended) await notifyOwners(account, reason);
    await tellWorkflows(ended.map((account) => account.igAccountId), reason);
    logger.info('accounts unlinked by a Meta callback', { facebookUserId: request.userId, reason, unlinked, ended: ended.length });
    return { granted, unlinked, ended: ended.map((account) => account.igAccountId) };
  }

  /** Deletes what the user granted the app: Page tokens of the accounts they linked, their connection and logins. */
  async function deleteGrantedData(request: SignedRequestPayload, granted: LinkedAccount[]): Promise<Omit<DeletedData, 'unlinkedAccounts'>> {
    const grantedBefore = new Date(request.issuedAt * 1000 + 999);
    const tokens = await models.linkedAccounts.updateMany(
      // Linked again since the read (a new grant, a new token): left alone.
      { _id: { $in: granted.map((account) => account._id) }, linkedByFacebookUserId: request.userId, linkedAt: { $lte: grantedBefore }, pageToken: { $ne: null } },
      { $set: { pageToken: null, updatedAt: new Date(deps.now()) } },
    );
    // The connection's updatedAt is its last login: a login after the request is a new grant, and it stays.
    const connections = await models.facebookConnections.deleteOne({ _id: request.userId, updatedAt: { $lte: grantedBefore } });
    const logins = await models.facebookLogins.deleteMany({ facebookUserId: request.userId, createdAt: { $lte: grantedBefore } });
    return { pageTokens: tokens.modifiedCount, facebookConnections: connections.deletedCount, facebookLogins: logins.deletedCount };
  }

  /** Stores the request; a concurrent delivery of the same request that stored first wins, and its code is answered. */
  async function recordDeletion(request: SignedRequestPayload, receivedAt: Date, deleted: DeletedData): Promise<DataDeletionRequest> {
    const confirmationCode = newConfirmationCode();
    const record: DataDeletionRequest = {
      _id: confirmationCode,
      confirmationCode,
      facebookUserId: request.userId,
      requestKey: `${request.userId}/${request.issuedAt}`,
      issuedAt: new Date(request.issuedAt * 1000),
      receivedAt,
      status: 'completed',
      completedAt: new Date(deps.now()),
      deleted,
    };
    if (await insertIfAbsent(models.dataDeletionRequests, { ...record })) return record;
    const stored = await findByRequestKey(record.requestKey);
    if (!stored) throw new Error(`data deletion request ${record.requestKey} was neither stored nor found`);
    return stored;
  }

  return {
    /** The user removed the app: their accounts are unlinked. */
    async deauthorize(request: SignedRequestPayload): Promise<UnlinkOutcome> {
      const { unlinked, ended } = await unlinkAccountsOf(request, 'deauthorized');
      return { unlinked, ended };
    },

    /** The user asked for their data to be deleted: unlink, delete, and record the request under a new code. */
    async deleteData(request: SignedRequestPayload): Promise<DataDeletionRequest> {
      const receivedAt = new Date(deps.now());
      const earlier = await findByRequestKey(`${request.userId}/${request.issuedAt}`);
      if (earlier) return earlier;
      const { granted, unlinked } = await unlinkAccountsOf(request, 'data_deleted');
      const deleted = await deleteGrantedData(request, granted);
      const record = await recordDeletion(request, receivedAt, { unlinkedAccounts: unlinked.length, ...deleted });
      logger.info('data deletion completed', { facebookUserId: request.userId, deleted: record.deleted });
      return record;
    },

    /** A stored request by its confirmation code; null when there is none. */
    findDeletionRequest(confirmationCode: string): Promise<DataDeletionRequest | null> {
      return models.dataDeletionRequests.findOne({ _id: confirmationCode }).lean<DataDeletionRequest>();
    },
  };
}
