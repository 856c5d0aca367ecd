/**
 * Access tokens, authorization codes and grants: issuing them, deciding whether a token still works and what it
 * reaches, and the user's actions that end tokens (a password change, removing the app). Times come from the
 * emulator clock, so the control API can age tokens past their lifetimes.
 */
import { DAY_MS, HOUR_MS } from './clock';
import { type GraphError, graphErrors } from './graph-errors';
import { accessToken, opaqueCode } from './ids';
import type { EmulatorState } from './state';
import type { AuthCode, DeathReason, Grant, TokenRecord } from './state-records';

export const SHORT_LIVED_TOKEN_MS = HOUR_MS;
/** What Meta answers in `expires_in` for a long-lived user token (META-API 4.1). */
export const LONG_LIVED_TOKEN_SECONDS = 5_183_944;
export const DATA_ACCESS_MS = 90 * DAY_MS;
export const AUTH_CODE_MS = 10 * 60 * 1000;

export function issueAuthCode(state: EmulatorState, input: { appId: string; redirectUri: string; grant: Grant }): AuthCode {
  const code: AuthCode = { code: opaqueCode(), ...input, issuedAt: state.clock.now(), used: false };
  state.codes.set(code.code, code);
  const user = state.requireUser(input.grant.userId);
  user.grants.set(input.appId, input.grant);
  return code;
}

export function issueUserToken(state: EmulatorState, owner: { appId: string; userId: string }, lifetime: 'short' | 'long'): TokenRecord {
  const now = state.clock.now();
  const token: TokenRecord = {
    value: accessToken(),
    kind: 'USER',
    appId: owner.appId,
    userId: owner.userId,
    pageId: null,
    lifetime,
    issuedAt: now,
    expiresAt: now + (lifetime === 'short' ? SHORT_LIVED_TOKEN_MS : LONG_LIVED_TOKEN_SECONDS * 1000),
    dataAccessExpiresAt: now + DATA_ACCESS_MS,
    death: null,
  };
  state.tokens.set(token.value, token);
  return token;
}

/**
 * The Page token for `pageId` derived from a user token: from a short-lived user token it lives as long as
 * that one (1 hour); from a long-lived one it never expires (META-API 4.1). One per user token and Page.
 */
export function pageTokenFor(state: EmulatorState, userToken: TokenRecord, pageId: string): TokenRecord {
  const existing = [...state.tokens.values()].find(
    (token) => token.kind === 'PAGE' && token.pageId === pageId && token.userId === userToken.userId && token.appId === userToken.appId && token.issuedAt === userToken.issuedAt && token.death === null,
  );
  if (existing) return existing;
  const token: TokenRecord = {
    ...userToken,
    value: accessToken(),
    kind: 'PAGE',
    pageId,
    lifetime: userToken.lifetime === 'long' ? 'never' : 'short',
    expiresAt: userToken.lifetime === 'long' ? 0 : userToken.expiresAt,
    death: null,
  };
  state.tokens.set(token.value, token);
  return token;
}

/** Why the token no longer works, as Meta's error; undefined when it works. */
export function tokenProblem(state: EmulatorState, token: TokenRecord): GraphError | undefined {
  const now = state.clock.now();
  if (token.death) {
    switch (token.death.subcode) {
      case 460:
        return graphErrors.tokenPasswordChanged();
      case 458:
        return graphErrors.tokenAppRemoved(token.appId);
      case 463:
        return graphErrors.tokenExpired(token.death.at, now);
      default:
        return graphErrors.tokenInvalidated();
    }
  }
  if (token.expiresAt !== 0 && now >= token.expiresAt) return graphErrors.tokenExpired(token.expiresAt, now);
  if (currentGrant(state, token) === undefined) return graphErrors.tokenAppRemoved(token.appId);
  return undefined;
}

/**
 * What the token's user grants the app now: the selection of their last login, not of the login the token was
 * issued under. A Page or an Instagram account left out at a later login is out of reach of older tokens too,
 * as at Meta. Undefined once the user removed the app.
 */
export function currentGrant(state: EmulatorState, token: TokenRecord): Grant | undefined {
  return state.users.get(token.userId)?.grants.get(token.appId);
}

/** The current grant of a token `requireToken` accepted (a token without one is refused there, 190/458). */
export function requireGrant(state: EmulatorState, token: TokenRecord): Grant {
  const grant = currentGrant(state, token);
  if (!grant) throw graphErrors.tokenAppRemoved(token.appId);
  return grant;
}

/** The live token behind `value`, or Meta's 190 family error. */
export function requireToken(state: EmulatorState, value: string | undefined): TokenRecord {
  if (value === undefined || value === '') throw graphErrors.missingToken();
  const token = state.tokens.get(value);
  if (!token) throw graphErrors.malformedToken();
  const problem = tokenProblem(state, token);
  if (problem) throw problem;
  return token;
}

/** Which objects a granted scope reaches, as debug_token's granular_scopes show it; undefined: all of them. */
export function scopeTargets(grant: Grant, scope: string): string[] | undefined {
  if (scope.startsWith('pages_')) return grant.pageIds;
  if (scope.startsWith('instagram_')) return grant.igAccountIds;
  if (scope === 'business_management') return grant.businessId === null ? [] : [grant.businessId];
  return undefined;
}

export function grantCovers(grant: Grant, scope: string, targetId: string): boolean {
  if (!grant.scopes.includes(scope)) return false;
  const targets = scopeTargets(grant, scope);
  return targets === undefined || targets.includes(targetId);
}

export function killTokens(state: EmulatorState, filter: (token: TokenRecord) => boolean, subcode: DeathReason['subcode']): number {
  let killed = 0;
  const at = state.clock.now();
  for (const token of state.tokens.values()) {
    if (token.death === null && filter(token)) {
      token.death = { subcode, at };
      killed += 1;
    }
  }
  return killed;
}

export function changePassword(state: EmulatorState, userId: string, password: string): number {
  const user = state.requireUser(userId);
  user.password = password;
  return killTokens(state, (token) => token.userId === userId, 460);
}

/** The user removes the app from their business integrations: tokens die (458) and Page subscriptions go. */
export function removeApp(state: EmulatorState, userId: string, appId: string): number {
  const user = state.requireUser(userId);
  const grant = user.grants.get(appId);
  user.grants.delete(appId);
  for (const pageId of grant?.pageIds ?? []) state.pages.get(pageId)?.subscribedApps.delete(appId);
  return killTokens(state, (token) => token.userId === userId && token.appId === appId, 458);
}
