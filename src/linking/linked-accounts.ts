/**
 * A channel's linked Instagram accounts as its owners manage them: read them with the representative flag, change
 * their settings or the representative, unlink one.
 *
 * The representative (A4) lives on the channel document alone (`representativeIgAccountId`): switching it is one
 * write to one document, so owners racing can never leave two, and without transactions there is no second copy
 * to keep in step. An account is shown as representative when the channel names it and it is still linked there.
 * Turning it off leaves the channel without one; so does unlinking it. The linking flow then gives the role to the
 * next account it links (claimRepresentativeIfNone), unless an owner picked one before.
 */
import type { Models } from '../db/models';
import type { Channel } from '../db/models/channel';
import type { LinkedAccount, LinkedAccountSettings } from '../db/models/linked-account';
import { DomainError } from '../domain/errors';
import type { GraphClient } from '../graph/client';
import type { Logger } from '../logger';
import type { TokenCipher } from '../security/token-cipher';
import type { AccountWorkflows } from './account-workflows';
import { linkStatusReason } from './link-status';

/** An account as its channel sees it. */
export interface ChannelAccount {
  account: LinkedAccount;
  representative: boolean;
}

export interface AccountChange {
  representative?: boolean | undefined;
  settings?: Partial<LinkedAccountSettings> | undefined;
}

/** What became of the Page's webhook subscription at an unlink; the unlink stands whatever it is. */
export interface SubscriptionOutcome {
  outcome: 'removed' | 'kept' | 'not_removed';
  message: string;
}

export interface UnlinkResult {
  account: ChannelAccount;
  webhookSubscription: SubscriptionOutcome;
}

/** The account is unlinked in the database, but its workflow could not be told: unlinking again completes it. */
export class AccountWorkflowUnreachableError extends Error {
  override name = 'AccountWorkflowUnreachableError';
}

type RepresentativeModels = Pick<Models, 'channels' | 'linkedAccounts'>;

function isLinkedTo(models: RepresentativeModels, channelId: string, igAccountId: string): Promise<unknown> {
  return models.linkedAccounts.exists({ _id: igAccountId, channelId, status: { $ne: 'unlinked' } });
}

/**
 * For the linking flow, when it links an account: the account becomes the channel's representative if the channel
 * has none (never had one, an owner turned it off, or the one it names was unlinked or moved away). Answers
 * whether the account is the representative now. A compare-and-set on the channel document, so two links at once
 * make one representative.
 */
export async function claimRepresentativeIfNone(models: RepresentativeModels, channelId: string, igAccountId: string): Promise<boolean> {
  // Losing the compare-and-set means another write came first: one more read says who won.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const channel = await models.channels.findOne({ _id: channelId }).lean<Channel>();
    if (!channel) return false;
    const current = channel.representativeIgAccountId ?? null;
    if (current === igAccountId) return true;
    if (current !== null && (await isLinkedTo(models, channelId, current))) return false;
    const claimed = await models.channels.updateOne({ _id: channelId, representativeIgAccountId: current }, { $set: { representativeIgAccountId: igAccountId } });
    if (claimed.modifiedCount === 1) return true;
  }
  const channel = await models.channels.findOne({ _id: channelId }).lean<Channel>();
  return channel?.representativeIgAccountId === igAccountId;
}

export interface LinkedAccountsDeps {
  models: RepresentativeModels;
  graph: Pick<GraphClient, 'unsubscribeApp'>;
  cipher: Pick<TokenCipher, 'open'>;
  workflows: Pick<AccountWorkflows, 'unlinked'>;
  logger: Pick<Logger, 'warn'>;
  now: () => number;
}

export type LinkedAccounts = ReturnType<typeof createLinkedAccounts>;

export function createLinkedAccounts(deps: LinkedAccountsDeps) {
  const { models } = deps;

  async function representativeOf(channelId: string): Promise<string | null> {
    const channel = await models.channels.findOne({ _id: channelId }).lean<Channel>();
    return channel?.representativeIgAccountId ?? null;
  }

  const asSeenBy = (account: LinkedAccount, representative: string | null): ChannelAccount => ({
    account,
    representative: account.igAccountId === representative && account.status !== 'unlinked',
  });

  /** The account, or null when it does not exist or is linked to another channel. */
  async function find(channelId: string, igAccountId: string): Promise<ChannelAccount | null> {
    const account = await models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>();
    if (!account || account.channelId !== channelId) return null;
    return asSeenBy(account, await representativeOf(channelId));
  }

  /** Every account linked to the channel, unlinked ones too (their conversations stay readable), oldest link first. */
  async function list(channelId: string): Promise<ChannelAccount[]> {
    const [accounts, representative] = await Promise.all([
      models.linkedAccounts.find({ channelId }).sort({ linkedAt: 1, _id: 1 }).lean<LinkedAccount[]>(),
      representativeOf(channelId),
    ]);
    return accounts.map((account) => asSeenBy(account, representative));
  }

  async function changeSettings(account: LinkedAccount, settings: Partial<LinkedAccountSettings>): Promise<void> {
    const set: Record<string, unknown> = { updatedAt: new Date(deps.now()) };
    for (const [name, value] of Object.entries(settings)) if (value !== undefined) set[`settings.${name}`] = value;
    await models.linkedAccounts.updateOne({ _id: account._id, channelId: account.channelId }, { $set: set });
  }

  /** Only if it is this account's: an owner who just turned on another one keeps theirs. */
  async function releaseRepresentative(account: LinkedAccount): Promise<void> {
    await models.channels.updateOne({ _id: account.channelId, representativeIgAccountId: account.igAccountId }, { $set: { representativeIgAccountId: null } });
  }

  /** Settings, then the representative; the last owner to turn one on wins, and the previous one is off. */
  async function update(account: LinkedAccount, change: AccountChange): Promise<ChannelAccount> {
    if (change.settings) await changeSettings(account, change.settings);
    if (change.representative === true) await models.channels.updateOne({ _id: account.channelId }, { $set: { representativeIgAccountId: account.igAccountId } });
    if (change.representative === false) await releaseRepresentative(account);
    return (await find(account.channelId, account.igAccountId)) ?? asSeenBy(account, null);
  }

  async function markUnlinked(account: LinkedAccount): Promise<void> {
    const at = new Date(deps.now());
    // An account already unlinked keeps the reason it was unlinked for.
    await models.linkedAccounts.updateOne(
      { _id: account._id, channelId: account.channelId, status: { $ne: 'unlinked' } },
      { $set: { status: 'unlinked', statusReason: linkStatusReason('unlinked', 'by_owner', at), updatedAt: at } },
    );
  }

  async function tellWorkflow(igAccountId: string): Promise<void> {
    try {
      await deps.workflows.unlinked(igAccountId, 'by_owner');
    } catch (error) {
      throw new AccountWorkflowUnreachableError(`the account is unlinked, but its workflow could not be told (${(error as Error).message}): unlink it again`);
    }
  }

  /** The Page's subscription serves every account of this app on the Page: it goes with the last one. */
  async function unsubscribeUnlessShared(account: LinkedAccount): Promise<SubscriptionOutcome> {
    const page = `Page ${account.pageId}`;
    const shared = await models.linkedAccounts.exists({ pageId: account.pageId, _id: { $ne: account._id }, status: { $ne: 'unlinked' } });
    if (shared) return { outcome: 'kept', message: `another linked account receives its messages through ${page}, so the Page's webhook subscription stays` };
    if (!account.pageToken) {
      return { outcome: 'not_removed', message: `the Page token of ${page} was deleted at its Facebook user's request, so its subscription cannot be removed from here; the unlink stands: webhooks Meta still sends for the account are ignored` };
    }
    try {
      await deps.graph.unsubscribeApp(account.pageId, deps.cipher.open(account.pageToken, { boundTo: account.igAccountId }));
      return { outcome: 'removed', message: `Meta no longer sends the webhooks of ${page} to this app` };
    } catch (error) {
      deps.logger.warn('webhook subscription not removed at unlink', { igAccountId: account.igAccountId, pageId: account.pageId, error: (error as Error).message });
      return { outcome: 'not_removed', message: notRemovedMessage(page, error) };
    }
  }

  /**
   * Unlinks the account (A10): at once in the database, then its workflow is told, then the Page's webhook
   * subscription is removed when no other account uses it. Repeating it completes an unlink that was interrupted.
   */
  async function unlink(account: LinkedAccount): Promise<UnlinkResult> {
    await markUnlinked(account);
    await releaseRepresentative(account);
    await tellWorkflow(account.igAccountId);
    const webhookSubscription = await unsubscribeUnlessShared(account);
    const after = await find(account.channelId, account.igAccountId);
    return { account: after ?? asSeenBy(account, null), webhookSubscription };
  }

  return { list, find, update, unlink };
}

function notRemovedMessage(page: string, error: unknown): string {
  const stands = 'the unlink stands: webhooks Meta still sends for the account are ignored';
  if (error instanceof DomainError && error.type === 'TokenInvalid') {
    return `Meta refused to remove the webhook subscription of ${page} because the Page token no longer works (${error.message}); ${stands}`;
  }
  return `the webhook subscription of ${page} could not be removed (${(error as Error).message}); ${stands}, and unlinking again tries once more`;
}
