/**
 * Facebook Login for an owner, up to the choice of accounts: the login URL with a signed, single-use, expiring
 * `state`; then Meta's callback, which exchanges the code for a long-lived user token, checks every permission the
 * engine needs, and lists the Instagram professional accounts of the Pages the owner granted. Nothing is linked
 * here: the owner's selection does that (account-linker.ts).
 */
import { HttpError } from '../api/errors';
import type { Models } from '../db/models';
import type { FacebookLogin, LoginCandidate } from '../db/models/facebook-login';
import type { LinkedAccount } from '../db/models/linked-account';
import { DomainError } from '../domain/errors';
import { buildLoginDialogUrl, type GraphClient, type ManagedPage } from '../graph/client';
import type { TokenCipher } from '../security/token-cipher';
import type { LoginStateSigner } from './login-state';
import { REQUIRED_SCOPES, SCOPE_PURPOSES } from './permissions';

export interface FacebookLoginDeps {
  models: Pick<Models, 'facebookLogins' | 'linkedAccounts'>;
  graph: Pick<GraphClient, 'exchangeCode' | 'exchangeForLongLivedToken' | 'getMe' | 'listPages' | 'debugToken' | 'getInstagramAccount'>;
  cipher: TokenCipher;
  signer: LoginStateSigner;
  appId: string;
  loginDialogUrl: string;
  /** Where Meta sends the owner back: this API's callback route. */
  redirectUri: string;
  now: () => number;
}

/** What the callback's query holds: Meta's `code`, or its error parameters when the owner cancelled or declined. */
export interface LoginCallback {
  state?: string | undefined;
  code?: string | undefined;
  error?: string | undefined;
  errorReason?: string | undefined;
  errorDescription?: string | undefined;
}

export interface LoginChoice {
  login: FacebookLogin;
}

/** A login URL is good for this long; after the callback, the choice of accounts too. */
export const LOGIN_TTL_MS = 15 * 60 * 1000;

export interface FacebookLoginFlow {
  start(input: { channelId: string; managerId: string }): Promise<{ login: FacebookLogin; loginUrl: string }>;
  complete(callback: LoginCallback): Promise<LoginChoice>;
}

export function createFacebookLoginFlow(deps: FacebookLoginDeps): FacebookLoginFlow {
  const { models, signer } = deps;

  /** The login a `state` names, once its signature, expiry and single use are checked; the use is recorded. */
  async function useState(state: string | undefined): Promise<FacebookLogin> {
    const loginId = state === undefined ? undefined : signer.loginIdOf(state);
    const invalid = new HttpError(400, 'LoginStateInvalid', 'the login `state` is missing, malformed or not signed by this engine: start the link again from the channel');
    if (state === undefined || loginId === undefined) throw invalid;
    const login = await models.facebookLogins.findOne({ _id: loginId }).lean<FacebookLogin>();
    if (!login || !signer.matches(state, { loginId, channelId: login.channelId, managerId: login.managerId, expiresAt: login.expiresAt })) throw invalid;
    const now = new Date(deps.now());
    if (login.expiresAt <= now) throw new HttpError(400, 'LoginStateExpired', `this login expired at ${login.expiresAt.toISOString()}: start the link again from the channel`);
    const used = await models.facebookLogins.updateOne({ _id: loginId, stateUsedAt: null }, { $set: { stateUsedAt: now, updatedAt: now } });
    if (used.modifiedCount !== 1) throw new HttpError(400, 'LoginStateReplayed', 'this login `state` was used already (a login answers once): start the link again from the channel');
    return login;
  }

  /** The login is over without a link; the owner starts again. */
  async function refuse(loginId: string, type: string, message: string, status = 422): Promise<never> {
    await models.facebookLogins.updateOne({ _id: loginId }, { $set: { stage: 'refused', refusal: { type, message }, updatedAt: new Date(deps.now()) } });
    throw new HttpError(status, type, message);
  }

  /** Every required permission, granted: a declined one is named with what it is for, and nothing is linked. */
  async function checkPermissions(loginId: string, userToken: string): Promise<void> {
    const info = await deps.graph.debugToken(userToken);
    const missing = REQUIRED_SCOPES.filter((scope) => !info.scopes.includes(scope));
    if (missing.length === 0) return;
    const named = missing.map((scope) => `${scope} (to ${SCOPE_PURPOSES[scope]})`).join(', ');
    await refuse(loginId, 'PermissionMissing', `Facebook Login did not grant ${named}: every permission is needed, so nothing was linked. Link again and allow all of them.`);
  }

  async function candidatesOf(login: FacebookLogin, pages: ManagedPage[], businessId: string | null): Promise<LoginCandidate[]> {
    const withInstagram = pages.filter((page) => page.instagramBusinessAccountId !== undefined && page.accessToken !== undefined);
    const linkedHere = await models.linkedAccounts
      .find({ _id: { $in: withInstagram.map((page) => page.instagramBusinessAccountId!) }, channelId: login.channelId, status: { $ne: 'unlinked' } }, { _id: 1 })
      .lean<Array<Pick<LinkedAccount, '_id'>>>();
    const linked = new Set(linkedHere.map((account) => account._id));
    return Promise.all(
      withInstagram.map(async (page) => {
        const igAccountId = page.instagramBusinessAccountId!;
        const account = await deps.graph.getInstagramAccount(igAccountId, page.accessToken!);
        return { igAccountId, username: account.username ?? igAccountId, pageId: page.id, pageName: page.name, businessId, linkedHere: linked.has(igAccountId) };
      }),
    );
  }

  /** Meta's answer, turned into the accounts the owner may choose from (or a refusal that says why there are none). */
  async function authorize(login: FacebookLogin, code: string): Promise<FacebookLogin> {
    const short = await deps.graph.exchangeCode({ code, redirectUri: deps.redirectUri });
    const long = await deps.graph.exchangeForLongLivedToken(short.accessToken);
    await checkPermissions(login._id, long.accessToken);
    const [me, pages, info] = await Promise.all([deps.graph.getMe(long.accessToken), deps.graph.listPages(long.accessToken), deps.graph.debugToken(long.accessToken)]);
    if (pages.length === 0) {
      await refuse(login._id, 'NoPageGranted', 'Facebook Login granted no Facebook Page: choose the Page connected to the Instagram professional account when you link again');
    }
    const businessId = info.granularScopes.find((granted) => granted.scope === 'business_management')?.targetIds[0] ?? null;
    const candidates = await candidatesOf(login, pages, businessId);
    const pagesWithoutInstagram = pages.filter((page) => page.instagramBusinessAccountId === undefined).map((page) => ({ pageId: page.id, pageName: page.name }));
    if (candidates.length === 0) {
      const names = pagesWithoutInstagram.map((page) => `"${page.pageName}"`).join(', ');
      await refuse(
        login._id,
        'NoInstagramAccount',
        `no Instagram professional account is connected to the Page(s) granted (${names}): only an Instagram business or creator account connected to a Facebook Page can be linked. A personal Instagram account must first be switched to a professional account and connected to the Page in the Instagram app.`,
      );
    }
    const now = new Date(deps.now());
    const authorized = {
      stage: 'authorized' as const,
      chooseBy: new Date(now.getTime() + LOGIN_TTL_MS),
      facebookUserId: me.id,
      facebookUserName: me.name ?? null,
      userToken: deps.cipher.seal(long.accessToken, { boundTo: login._id }),
      userTokenExpiresAt: long.expiresIn === undefined ? null : new Date(now.getTime() + long.expiresIn * 1000),
      candidates,
      pagesWithoutInstagram,
      updatedAt: now,
    };
    await models.facebookLogins.updateOne({ _id: login._id }, { $set: authorized });
    return { ...login, ...authorized };
  }

  return {
    async start({ channelId, managerId }) {
      const now = new Date(deps.now());
      const login: FacebookLogin = {
        _id: signer.newLoginId(),
        channelId,
        managerId,
        stage: 'started',
        stateUsedAt: null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + LOGIN_TTL_MS),
        chooseBy: null,
        facebookUserId: null,
        facebookUserName: null,
        userToken: null,
        userTokenExpiresAt: null,
        candidates: [],
        pagesWithoutInstagram: [],
        linkedIgAccountIds: [],
        refusal: null,
        updatedAt: now,
      };
      await models.facebookLogins.create(login);
      const state = signer.sign({ loginId: login._id, channelId, managerId, expiresAt: login.expiresAt });
      const loginUrl = buildLoginDialogUrl({ dialogUrl: deps.loginDialogUrl, appId: deps.appId, redirectUri: deps.redirectUri, state, scopes: REQUIRED_SCOPES });
      return { login, loginUrl };
    },

    async complete(callback) {
      const login = await useState(callback.state);
      if (callback.error !== undefined || callback.code === undefined) {
        const why = callback.errorReason === 'user_denied' || callback.error === 'access_denied' ? 'the Facebook Login dialog was cancelled' : `Facebook Login answered ${callback.error ?? 'without a code'}`;
        return refuse(login._id, 'LoginCancelled', `${why}: nothing was linked. Start the link again when ready.`, 400);
      }
      try {
        return { login: await authorize(login, callback.code) };
      } catch (error) {
        // The code is single use at Meta too: whatever went wrong, this login cannot be finished, only started again.
        if (error instanceof DomainError && error.retryable) {
          return refuse(login._id, 'FacebookUnavailable', `Facebook could not be reached to finish the login (${error.message}): nothing was linked. Start the link again.`, 503);
        }
        if (error instanceof DomainError) {
          return refuse(login._id, 'FacebookRefused', `Facebook refused the login (${error.message}): nothing was linked. Start the link again.`);
        }
        throw error;
      }
    },
  };
}
