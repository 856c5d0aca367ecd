/**
 * The owner's selection after Facebook Login: links the chosen Instagram accounts to the channel. Everything Meta
 * must do (fresh Page tokens, their expiry, the webhook subscription of each Page) happens before anything is
 * written, so a refusal leaves nothing half-linked. Then, in this order:
 * - what this Facebook account linked before and was not selected again loses its link, as Meta no longer grants
 *   it (in another channel: the account served that channel, and one Facebook account serves one channel);
 * - the Facebook account's connection records the channel it serves now and its token;
 * - each chosen account is linked (or re-authenticated: its conversations, settings and representative flag stay)
 *   and its lifecycle workflow learns of the link, which moves its deadlines.
 */
import { HttpError } from '../api/errors';
import type { UnlinkReason } from '../activities/account-contract';
import type { Models } from '../db/models';
import type { FacebookConnection } from '../db/models/facebook-connection';
import type { FacebookLogin, LoginCandidate } from '../db/models/facebook-login';
import type { LinkedAccount } from '../db/models/linked-account';
import { DomainError } from '../domain/errors';
import type { GraphClient, ManagedPage } from '../graph/client';
import type { TokenCipher } from '../security/token-cipher';
import type { AccountWorkflows } from './account-workflows';
import { WEBHOOK_FIELDS } from './permissions';

export interface AccountLinkerDeps {
  models: Pick<Models, 'facebookLogins' | 'facebookConnections' | 'linkedAccounts'>;
  graph: Pick<GraphClient, 'listPages' | 'debugToken' | 'subscribeApp'>;
  cipher: TokenCipher;
  workflows: AccountWorkflows;
  /** Runs after an account's link is written (the representative default, the release of kept webhooks). */
  afterLink?: (account: { igAccountId: string; channelId: string; reauthenticated: boolean }) => Promise<void>;
  now: () => number;
}

export interface LinkSelection {
  channelId: string;
  managerId: string;
  loginId: string;
  igAccountIds: string[];
}

export interface LinkOutcome {
  linked: Array<{ igAccountId: string; username: string; reauthenticated: boolean; movedFromChannelId: string | null }>;
  /** Accounts this Facebook account had linked that lost their link because they were not selected again. */
  unlinked: Array<{ igAccountId: string; channelId: string; reason: UnlinkReason }>;
}

interface PreparedAccount {
  candidate: LoginCandidate;
  page: ManagedPage & { accessToken: string };
  tokenExpiresAt: Date | null;
  existing: LinkedAccount | undefined;
}

export interface AccountLinker {
  link(selection: LinkSelection): Promise<LinkOutcome>;
}

export function createAccountLinker(deps: AccountLinkerDeps): AccountLinker {
  const { models } = deps;

  /** The login this selection answers: of this channel and owner, authorized, not expired, not used. */
  async function claimLogin(selection: LinkSelection): Promise<FacebookLogin> {
    const login = await models.facebookLogins.findOne({ _id: selection.loginId }).lean<FacebookLogin>();
    if (!login || login.channelId !== selection.channelId || login.managerId !== selection.managerId) {
      throw new HttpError(404, 'NotFound', `login ${selection.loginId} not found for this owner of channel ${selection.channelId}`);
    }
    if (login.stage !== 'authorized') throw new HttpError(409, 'LoginNotChoosable', loginStageAdvice(login));
    if (!login.chooseBy || login.chooseBy.getTime() <= deps.now()) throw new HttpError(409, 'LoginExpired', `the choice of accounts expired at ${login.chooseBy?.toISOString() ?? 'its start'}: start the link again`);
    const unknown = selection.igAccountIds.filter((id) => !login.candidates.some((candidate) => candidate.igAccountId === id));
    if (unknown.length > 0) {
      throw new HttpError(400, 'AccountNotOffered', `Instagram account(s) ${unknown.join(', ')} are not among the accounts this login granted (${login.candidates.map((c) => c.igAccountId).join(', ')})`);
    }
    const claimed = await models.facebookLogins.updateOne({ _id: login._id, stage: 'authorized' }, { $set: { stage: 'linking', updatedAt: new Date(deps.now()) } });
    if (claimed.modifiedCount !== 1) throw new HttpError(409, 'LoginNotChoosable', 'another selection of this login is being applied');
    return login;
  }

  /** Re-authenticating an account is for the Facebook account that made its link; anyone else is told whom to ask. */
  async function assertSameFacebookAccount(login: FacebookLogin, existing: LinkedAccount[]): Promise<void> {
    const others = existing.filter((account) => account.channelId === login.channelId && account.status !== 'unlinked' && account.linkedByFacebookUserId && account.linkedByFacebookUserId !== login.facebookUserId);
    if (others.length === 0) return;
    const makers = await models.facebookConnections.find({ _id: { $in: others.map((account) => account.linkedByFacebookUserId!) } }, { _id: 1, name: 1 }).lean<Array<Pick<FacebookConnection, '_id' | 'name'>>>();
    const nameOf = (id: string) => makers.find((maker) => maker._id === id)?.name ?? null;
    const accounts = others.map((account) => {
      const name = nameOf(account.linkedByFacebookUserId!);
      return `@${account.username} was linked with the Facebook account ${name ? `"${name}" (id ${account.linkedByFacebookUserId})` : `id ${account.linkedByFacebookUserId}`}`;
    });
    throw new HttpError(409, 'WrongFacebookAccount', `${accounts.join('; ')}: re-authenticate by signing in to Facebook with that account (unlink the account first to link it with another one)`, {
      accounts: others.map((account) => ({ igAccountId: account.igAccountId, facebookUserId: account.linkedByFacebookUserId, facebookUserName: nameOf(account.linkedByFacebookUserId!) })),
    });
  }

  /** Everything Meta must do for the chosen accounts, before anything is written. */
  async function prepare(login: FacebookLogin, chosen: LoginCandidate[], existing: LinkedAccount[]): Promise<PreparedAccount[]> {
    const userToken = deps.cipher.open(login.userToken!, { boundTo: login._id });
    const pages = await deps.graph.listPages(userToken);
    const prepared: PreparedAccount[] = [];
    for (const candidate of chosen) {
      const page = pages.find((item) => item.id === candidate.pageId && item.instagramBusinessAccountId === candidate.igAccountId);
      if (!page?.accessToken) throw new HttpError(409, 'AccountNoLongerGranted', `Facebook no longer grants the Page of @${candidate.username}: start the link again`);
      const info = await deps.graph.debugToken(page.accessToken);
      await deps.graph.subscribeApp(page.id, page.accessToken, WEBHOOK_FIELDS);
      prepared.push({
        candidate,
        page: { ...page, accessToken: page.accessToken },
        // Meta shows a Page token that never expires (from a long-lived user token) with expires_at 0.
        tokenExpiresAt: info.expiresAt ? new Date(info.expiresAt * 1000) : null,
        existing: existing.find((account) => account._id === candidate.igAccountId),
      });
    }
    return prepared;
  }

  /** What this Facebook account linked before and did not select now: Meta no longer grants it to the app. */
  async function unlinkLeftOut(login: FacebookLogin, selected: Set<string>): Promise<LinkOutcome['unlinked']> {
    const before = await models.linkedAccounts.find({ linkedByFacebookUserId: login.facebookUserId, status: { $ne: 'unlinked' } }).lean<LinkedAccount[]>();
    const leftOut = before.filter((account) => !selected.has(account.igAccountId));
    const now = new Date(deps.now());
    const unlinked: LinkOutcome['unlinked'] = [];
    for (const account of leftOut) {
      const reason: UnlinkReason = account.channelId === login.channelId ? 'not_reselected' : 'linked_to_another_channel';
      await models.linkedAccounts.updateOne(
        { _id: account._id, status: { $ne: 'unlinked' } },
        { $set: { status: 'unlinked', statusReason: { type: 'Unlinked', reason, message: leftOutSentence(reason), at: now }, updatedAt: now } },
      );
      await deps.workflows.unlinked(account.igAccountId, reason);
      unlinked.push({ igAccountId: account.igAccountId, channelId: account.channelId, reason });
    }
    return unlinked;
  }

  async function recordConnection(login: FacebookLogin, userToken: string, igAccountIds: string[]): Promise<void> {
    const now = new Date(deps.now());
    const facebookUserId = login.facebookUserId!;
    await models.facebookConnections.updateOne(
      { _id: facebookUserId },
      {
        $set: {
          facebookUserId,
          name: login.facebookUserName,
          channelId: login.channelId,
          userToken: deps.cipher.seal(userToken, { boundTo: facebookUserId }),
          userTokenExpiresAt: login.userTokenExpiresAt,
          igAccountIds,
          updatedAt: now,
        },
        $setOnInsert: { linkedAt: now },
      },
      { upsert: true },
    );
  }

  async function linkOne(login: FacebookLogin, account: PreparedAccount): Promise<LinkOutcome['linked'][number]> {
    const now = new Date(deps.now());
    const { candidate, page, existing } = account;
    const reauthenticated = existing !== undefined && existing.channelId === login.channelId && existing.status !== 'unlinked';
    const movedFromChannelId = existing !== undefined && existing.channelId !== login.channelId && existing.status !== 'unlinked' ? existing.channelId : null;
    await models.linkedAccounts.updateOne(
      { _id: candidate.igAccountId },
      {
        $set: {
          igAccountId: candidate.igAccountId,
          channelId: login.channelId,
          pageId: page.id,
          pageName: page.name,
          username: candidate.username,
          status: 'active',
          statusReason: null,
          pageToken: deps.cipher.seal(page.accessToken, { boundTo: candidate.igAccountId }),
          linkedByFacebookUserId: login.facebookUserId,
          tokenExpiresAt: account.tokenExpiresAt,
          linkedAt: now,
          updatedAt: now,
        },
        // Kept by a re-authentication: the settings belong to the account (the representative is the channel's).
        $setOnInsert: { settings: { openOnStoryMention: true, openOnPostShare: true } },
      },
      { upsert: true },
    );
    await deps.workflows.linked({
      igAccountId: candidate.igAccountId,
      channelId: login.channelId,
      linkedAt: now.getTime(),
      tokenExpiresAt: account.tokenExpiresAt?.getTime() ?? null,
      linkedByFacebookUserId: login.facebookUserId!,
    });
    await deps.afterLink?.({ igAccountId: candidate.igAccountId, channelId: login.channelId, reauthenticated });
    return { igAccountId: candidate.igAccountId, username: candidate.username, reauthenticated, movedFromChannelId };
  }

  return {
    async link(selection) {
      if (selection.igAccountIds.length === 0) throw new HttpError(400, 'NothingSelected', 'select at least one Instagram account to link');
      const login = await claimLogin(selection);
      const chosen = login.candidates.filter((candidate) => selection.igAccountIds.includes(candidate.igAccountId));
      let prepared: PreparedAccount[];
      try {
        const existing = await models.linkedAccounts.find({ _id: { $in: chosen.map((candidate) => candidate.igAccountId) } }).lean<LinkedAccount[]>();
        await assertSameFacebookAccount(login, existing);
        prepared = await prepare(login, chosen, existing);
      } catch (error) {
        // Nothing was written: the owner may choose again (or fix what Facebook refused) within the same login.
        await models.facebookLogins.updateOne({ _id: login._id, stage: 'linking' }, { $set: { stage: 'authorized' } });
        if (error instanceof DomainError) throw new HttpError(error.retryable ? 503 : 422, 'FacebookRefused', `Facebook refused a step of the link (${error.message}): nothing was linked`);
        throw error;
      }
      const userToken = deps.cipher.open(login.userToken!, { boundTo: login._id });
      const unlinked = await unlinkLeftOut(login, new Set(selection.igAccountIds));
      await recordConnection(login, userToken, selection.igAccountIds);
      const linked: LinkOutcome['linked'] = [];
      for (const account of prepared) linked.push(await linkOne(login, account));
      // The user token now lives (bound to the Facebook account) in its connection only.
      await models.facebookLogins.updateOne({ _id: login._id }, { $set: { stage: 'linked', linkedIgAccountIds: selection.igAccountIds, userToken: null, updatedAt: new Date(deps.now()) } });
      return { linked, unlinked };
    },
  };
}

function loginStageAdvice(login: FacebookLogin): string {
  switch (login.stage) {
    case 'started':
      return 'this login has not come back from Facebook yet: finish the Facebook Login dialog first';
    case 'linking':
      return 'a selection of this login is being applied';
    case 'linked':
      return `this login already linked ${login.linkedIgAccountIds.join(', ')}: start a new link to change the selection`;
    default:
      return `this login was refused (${login.refusal?.message ?? 'no reason recorded'}): start the link again`;
  }
}

function leftOutSentence(reason: UnlinkReason): string {
  return reason === 'not_reselected'
    ? 'the last Facebook login of its owner did not select it again, so Meta no longer grants access to it: link it again to use it'
    : 'the Facebook account that linked it now serves another channel';
}
