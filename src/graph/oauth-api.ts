/**
 * Facebook Login's token calls: an authorization code for a short-lived user token, that one for a long-lived
 * one, and debug_token. Meta wants the app's credentials and these tokens in the query string here.
 */
import type { z } from 'zod';
import { debugTokenResponseSchema, tokenResponseSchema } from './schemas';
import type { GraphRequester } from './transport';

export interface AccessTokenGrant {
  accessToken: string;
  tokenType: string;
  /** Seconds; absent when Meta does not say. */
  expiresIn?: number;
}

export interface TokenDebugInfo {
  appId?: string;
  type?: string;
  application?: string;
  isValid: boolean;
  /** Unix seconds; 0 means the token never expires (Page tokens from a long-lived user token). */
  expiresAt?: number;
  dataAccessExpiresAt?: number;
  issuedAt?: number;
  scopes: string[];
  granularScopes: Array<{ scope: string; targetIds: string[] }>;
  userId?: string;
  profileId?: string;
  error?: { code: number; subcode?: number; message: string };
}

export interface OAuthApi {
  exchangeCode(input: { code: string; redirectUri: string }): Promise<AccessTokenGrant>;
  exchangeForLongLivedToken(shortLivedUserToken: string): Promise<AccessTokenGrant>;
  debugToken(inputToken: string): Promise<TokenDebugInfo>;
}

export interface AppCredentials {
  appId: string;
  appSecret: string;
}

const tokenGrant = (data: z.output<typeof tokenResponseSchema>): AccessTokenGrant => ({
  accessToken: data.access_token,
  tokenType: data.token_type,
  ...(data.expires_in === undefined ? {} : { expiresIn: data.expires_in }),
});

function tokenDebugInfo({ data }: z.output<typeof debugTokenResponseSchema>): TokenDebugInfo {
  return {
    isValid: data.is_valid,
    scopes: data.scopes,
    granularScopes: data.granular_scopes.map((item) => ({ scope: item.scope, targetIds: item.target_ids ?? [] })),
    ...(data.app_id === undefined ? {} : { appId: data.app_id }),
    ...(data.type === undefined ? {} : { type: data.type }),
    ...(data.application === undefined ? {} : { application: data.application }),
    ...(data.expires_at === undefined ? {} : { expiresAt: data.expires_at }),
    ...(data.data_access_expires_at === undefined ? {} : { dataAccessExpiresAt: data.data_access_expires_at }),
    ...(data.issued_at === undefined ? {} : { issuedAt: data.issued_at }),
    ...(data.user_id === undefined ? {} : { userId: data.user_id }),
    ...(data.profile_id === undefined ? {} : { profileId: data.profile_id }),
    ...(data.error === undefined
      ? {}
      : {
          error: {
            code: data.error.code,
            message: data.error.message,
            ...(data.error.subcode === undefined ? {} : { subcode: data.error.subcode }),
          },
        }),
  };
}

export function createOAuthApi(request: GraphRequester, app: AppCredentials): OAuthApi {
  const appAccessToken = `${app.appId}|${app.appSecret}`;
  return {
    async exchangeCode({ code, redirectUri }) {
      const data = await request({
        method: 'GET',
        path: '/oauth/access_token',
        query: { client_id: app.appId, client_secret: app.appSecret, redirect_uri: redirectUri, code },
        schema: tokenResponseSchema,
        idempotent: true,
      });
      return tokenGrant(data);
    },

    async exchangeForLongLivedToken(shortLivedUserToken) {
      const data = await request({
        method: 'GET',
        path: '/oauth/access_token',
        query: {
          grant_type: 'fb_exchange_token',
          client_id: app.appId,
          client_secret: app.appSecret,
          fb_exchange_token: shortLivedUserToken,
        },
        schema: tokenResponseSchema,
        idempotent: true,
      });
      return tokenGrant(data);
    },

    async debugToken(inputToken) {
      const answer = await request({
        method: 'GET',
        path: '/debug_token',
        query: { input_token: inputToken, access_token: appAccessToken },
        schema: debugTokenResponseSchema,
        idempotent: true,
      });
      return tokenDebugInfo(answer);
    },
  };
}
