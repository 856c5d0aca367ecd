/**
 * Facebook Login's token endpoints: `/oauth/access_token` (an authorization code for a short-lived user token,
 * a short-lived one for a long-lived one, or the app's own token) and `/debug_token`, which describes any token
 * of the app to the app.
 */
import { type Request, Router } from 'express';
import {
  AUTH_CODE_MS,
  currentGrant,
  issueUserToken,
  LONG_LIVED_TOKEN_SECONDS,
  requireToken,
  scopeTargets,
  tokenProblem,
} from '../access-tokens';
import { graphErrors } from '../graph-errors';
import type { EmulatorState } from '../state';
import type { EmulatedApp, TokenRecord } from '../state-records';
import { param, tokenFrom } from './graph-request';

export interface GraphOAuthRoutesDeps {
  state: EmulatorState;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

export function createGraphOAuthRouter({ state }: GraphOAuthRoutesDeps): Router {
  const router = Router();
  const now = (): number => state.clock.now();

  function requireApp(req: Request): EmulatedApp {
    const app = state.apps.get(param(req, 'client_id') ?? '');
    if (!app) throw graphErrors.invalidAppId();
    if (param(req, 'client_secret') !== app.secret) throw graphErrors.invalidClientSecret();
    return app;
  }

  function tokenResponse(token: TokenRecord) {
    return {
      access_token: token.value,
      token_type: 'bearer',
      expires_in: token.lifetime === 'long' ? LONG_LIVED_TOKEN_SECONDS : seconds(token.expiresAt - now()),
    };
  }

  /** A code is good once, for ten minutes, for the app it was issued to and the redirect_uri it was issued with. */
  function redeemCode(req: Request, app: EmulatedApp): TokenRecord {
    const codeValue = param(req, 'code');
    if (codeValue === undefined) throw graphErrors.invalidParameter('Missing authorization code');
    const code = state.codes.get(codeValue);
    if (!code || code.appId !== app.id) throw graphErrors.invalidCode();
    if (code.used) throw graphErrors.codeUsed();
    if (now() - code.issuedAt > AUTH_CODE_MS) throw graphErrors.codeExpired();
    if (param(req, 'redirect_uri') !== code.redirectUri) throw graphErrors.redirectUriMismatch();
    code.used = true;
    return issueUserToken(state, code.grant, 'short');
  }

  router.get('/oauth/access_token', (req, res) => {
    const app = requireApp(req);
    const grantType = param(req, 'grant_type');
    if (grantType === 'client_credentials') {
      res.json({ access_token: `${app.id}|${app.secret}`, token_type: 'bearer' });
      return;
    }
    if (grantType === 'fb_exchange_token') {
      const shortToken = requireToken(state, param(req, 'fb_exchange_token'));
      if (shortToken.kind !== 'USER' || shortToken.appId !== app.id) {
        throw graphErrors.invalidParameter('fb_exchange_token must be a user access token of this app');
      }
      res.json(tokenResponse(issueUserToken(state, shortToken, 'long')));
      return;
    }
    if (grantType !== undefined && grantType !== 'authorization_code') {
      throw graphErrors.invalidParameter(`unsupported grant_type ${grantType}`);
    }
    res.json(tokenResponse(redeemCode(req, app)));
  });

  /** What debug_token says of a token of the app that exists. */
  function describeToken(app: EmulatedApp, token: TokenRecord) {
    const problem = tokenProblem(state, token);
    // What the user grants now: a Page or account left out at a later login is gone from older tokens too.
    const grant = currentGrant(state, token);
    const scopes = grant?.scopes ?? [];
    const granular = scopes
      .map((scope) => ({ scope, targets: grant === undefined ? [] : scopeTargets(grant, scope) }))
      .map(({ scope, targets }) => (targets === undefined ? { scope } : { scope, target_ids: targets }));
    return {
      app_id: app.id,
      type: token.kind,
      application: app.name,
      data_access_expires_at: seconds(token.dataAccessExpiresAt),
      expires_at: token.expiresAt === 0 ? 0 : seconds(token.expiresAt),
      is_valid: problem === undefined,
      issued_at: seconds(token.issuedAt),
      scopes,
      granular_scopes: granular,
      user_id: token.userId,
      ...(token.pageId === null ? {} : { profile_id: token.pageId }),
      ...(problem === undefined
        ? {}
        : {
            error: {
              code: problem.spec.code,
              message: problem.spec.message,
              ...(problem.spec.subcode === undefined ? {} : { subcode: problem.spec.subcode }),
            },
          }),
    };
  }

  router.get('/debug_token', (req, res) => {
    const appToken = tokenFrom(req) ?? '';
    const [appId, appSecret] = appToken.split('|');
    const app = appId === undefined ? undefined : state.apps.get(appId);
    if (!app || appSecret !== app.secret) throw graphErrors.invalidAppToken();
    const input = param(req, 'input_token');
    if (input === undefined) throw graphErrors.invalidParameter('The parameter input_token is required');
    const token = state.tokens.get(input);
    if (!token || token.appId !== app.id) {
      res.json({
        data: {
          error: { code: 190, message: 'Invalid OAuth access token - Cannot parse access token' },
          is_valid: false,
          scopes: [],
          granular_scopes: [],
        },
      });
      return;
    }
    res.json({ data: describeToken(app, token) });
  });

  return router;
}
