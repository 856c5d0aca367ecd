/**
 * The Graph API client: one typed function per call the engine makes (Facebook Login flavor, META-API 0).
 * Requests and answers are checked with zod; Meta's refusals become domain errors (src/domain/errors.ts).
 * Tokens travel in the Authorization header, except where Meta wants them in the query string (the OAuth
 * exchanges, debug_token); every URL that reaches a log line or an error is scrubbed first.
 */
import type { z } from 'zod';
import {
  TransientUpstreamError,
  UnexpectedResponseError,
  UnknownOutcomeError,
  UpstreamError,
} from '../domain/errors';
import type { Logger } from '../logger';
import { mapMetaError, type MetaErrorContext, metaErrorBodySchema } from './meta-errors';
import { scrubUrl } from './redaction';
import { formatIssues } from '../validation-issues';
import {
  debugTokenResponseSchema,
  instagramAccountResponseSchema,
  meResponseSchema,
  pagedListSchema,
  pageSchema,
  sendMessageResponseSchema,
  senderActionResponseSchema,
  storyMentionResponseSchema,
  subscribedAppsResponseSchema,
  successResponseSchema,
  tokenResponseSchema,
  userProfileResponseSchema,
} from './schemas';

export interface GraphClientOptions {
  /** Scheme and host, e.g. https://graph.facebook.com. */
  baseUrl: string;
  /** Graph version, e.g. v25.0. */
  version: string;
  timeoutMs: number;
  appId: string;
  appSecret: string;
  fetchImpl?: typeof fetch;
  logger?: Logger;
}

export interface AccessTokenGrant {
  accessToken: string;
  tokenType: string;
  /** Seconds; absent when Meta does not say. */
  expiresIn?: number;
}

export interface ManagedPage {
  id: string;
  name: string;
  /** Absent when the user did not grant access to this Page's token. */
  accessToken?: string;
  tasks: string[];
  instagramBusinessAccountId?: string;
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

export interface InstagramAccount {
  id: string;
  username?: string;
  name: string | null;
  profilePictureUrl: string | null;
}

export interface SubscribedApp {
  id: string;
  name?: string;
  subscribedFields: string[];
}

export type OutgoingMessage = { kind: 'text'; text: string } | { kind: 'image'; url: string };

export interface SendMessageInput {
  /** A Page access token of the Page linked to the sending Instagram account. */
  accessToken: string;
  /** The id in the path: the Page id, the Instagram account id, or "me" (the token's Page). */
  senderId?: string;
  recipientId: string;
  message: OutgoingMessage;
  /** Needed between 24 hours and 7 days after the customer's last message (META-API 2.4). */
  tag?: 'HUMAN_AGENT';
  replyToMid?: string;
}

export interface SentMessage {
  recipientId: string;
  messageId: string;
}

export type SenderAction = 'typing_on' | 'typing_off' | 'mark_seen';

export interface UserProfile {
  id: string;
  username: string | null;
  name: string | null;
  profilePic: string | null;
  followerCount?: number;
  isVerifiedUser?: boolean;
  isUserFollowBusiness?: boolean;
  isBusinessFollowUser?: boolean;
}

export const DEFAULT_PROFILE_FIELDS = [
  'name',
  'username',
  'profile_pic',
  'follower_count',
  'is_verified_user',
  'is_user_follow_business',
  'is_business_follow_user',
] as const;

export interface GraphClient {
  exchangeCode(input: { code: string; redirectUri: string }): Promise<AccessTokenGrant>;
  exchangeForLongLivedToken(shortLivedUserToken: string): Promise<AccessTokenGrant>;
  getMe(userToken: string): Promise<{ id: string; name?: string }>;
  listPages(userToken: string): Promise<ManagedPage[]>;
  debugToken(inputToken: string): Promise<TokenDebugInfo>;
  getInstagramAccount(igAccountId: string, accessToken: string): Promise<InstagramAccount>;
  subscribeApp(pageId: string, pageToken: string, fields: readonly string[]): Promise<void>;
  listSubscribedApps(pageId: string, pageToken: string): Promise<SubscribedApp[]>;
  unsubscribeApp(pageId: string, pageToken: string): Promise<void>;
  sendMessage(input: SendMessageInput): Promise<SentMessage>;
  sendSenderAction(input: { accessToken: string; senderId?: string; recipientId: string; action: SenderAction }): Promise<void>;
  /** `timeoutMs` overrides the client's timeout for this call: a caller with a shorter budget gives up in time. */
  getUserProfile(input: { igsid: string; accessToken: string; fields?: readonly string[]; timeoutMs?: number }): Promise<UserProfile>;
  /** A fresh link to the story a customer mentioned the account in; undefined when the story is gone. */
  getStoryMention(mid: string, accessToken: string): Promise<{ link: string; storyId: string } | undefined>;
}

interface GraphRequest<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  accessToken?: string;
  body?: unknown;
  schema: S;
  /** A repeat of the call cannot do harm, so a timeout is a plain transient failure. */
  idempotent: boolean;
  errorContext?: MetaErrorContext;
  /** This call's own limit, instead of the client's. */
  timeoutMs?: number;
}

/** The login dialog URL to send the owner to (Meta's, or any stand-in at the configured address). */
export function buildLoginDialogUrl(input: {
  dialogUrl: string;
  appId: string;
  redirectUri: string;
  state: string;
  scopes: readonly string[];
}): string {
  const url = new URL(input.dialogUrl);
  url.searchParams.set('client_id', input.appId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('state', input.state);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', input.scopes.join(','));
  return url.toString();
}

function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return cause?.code === 'ECONNREFUSED' || cause?.code === 'ENOTFOUND';
}

export function createGraphClient(options: GraphClientOptions): GraphClient {
  const fetchImpl = options.fetchImpl ?? fetch;
  const root = `${options.baseUrl.replace(/\/+$/, '')}/${options.version}`;
  const appAccessToken = `${options.appId}|${options.appSecret}`;

  async function request<S extends z.ZodType>(call: GraphRequest<S>): Promise<z.output<S>> {
    const url = new URL(`${root}${call.path}`);
    for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.accessToken !== undefined) headers.authorization = `Bearer ${call.accessToken}`;
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    const where = `${call.method} ${scrubUrl(url)}`;
    const timeoutMs = call.timeoutMs ?? options.timeoutMs;
    const started = Date.now();

    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as { name?: string } | null)?.name === 'TimeoutError';
      options.logger?.warn('graph call failed', { call: where, timedOut, durationMs: Date.now() - started });
      if (call.idempotent || isConnectionRefused(error)) {
        throw new TransientUpstreamError(timedOut ? `${where} timed out after ${timeoutMs} ms` : `${where} failed: network error`);
      }
      throw new UnknownOutcomeError(
        timedOut
          ? `${where} timed out after ${timeoutMs} ms: Meta may have acted on it`
          : `${where} failed mid-flight: Meta may have acted on it`,
      );
    }

    const text = await response.text().catch(() => '');
    options.logger?.debug('graph call', { call: where, status: response.status, durationMs: Date.now() - started });
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }

    const metaError = metaErrorBodySchema.safeParse(json);
    if (metaError.success) {
      throw mapMetaError(
        response.status,
        metaError.data,
        { businessUseCaseUsage: response.headers.get('x-business-use-case-usage') },
        call.errorContext,
      );
    }
    if (!response.ok) {
      const upstream = { httpStatus: response.status };
      if (response.status >= 500 || response.status === 429) {
        throw new TransientUpstreamError(`${where} answered HTTP ${response.status}`, upstream);
      }
      throw new UpstreamError(`${where} answered HTTP ${response.status} without a Graph error body`, upstream);
    }
    const parsed = call.schema.safeParse(json);
    if (!parsed.success) {
      throw new UnexpectedResponseError(`${where} answered an unexpected shape: ${formatIssues(parsed.error.issues, { rootLabel: '(body)' })}`, {
        httpStatus: response.status,
      });
    }
    return parsed.data;
  }

  const tokenGrant = (data: z.output<typeof tokenResponseSchema>): AccessTokenGrant => ({
    accessToken: data.access_token,
    tokenType: data.token_type,
    ...(data.expires_in === undefined ? {} : { expiresIn: data.expires_in }),
  });

  return {
    async exchangeCode({ code, redirectUri }) {
      const data = await request({
        method: 'GET',
        path: '/oauth/access_token',
        query: { client_id: options.appId, client_secret: options.appSecret, redirect_uri: redirectUri, code },
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
          client_id: options.appId,
          client_secret: options.appSecret,
          fb_exchange_token: shortLivedUserToken,
        },
        schema: tokenResponseSchema,
        idempotent: true,
      });
      return tokenGrant(data);
    },

    async getMe(userToken) {
      const data = await request({
        method: 'GET',
        path: '/me',
        query: { fields: 'id,name' },
        accessToken: userToken,
        schema: meResponseSchema,
        idempotent: true,
      });
      return { id: data.id, ...(data.name === undefined ? {} : { name: data.name }) };
    },

    async listPages(userToken) {
      const pages: ManagedPage[] = [];
      let next: string | undefined;
      let after: string | undefined;
      // Paging cursors only; a bounded loop so a misbehaving upstream cannot keep us here.
      for (let page = 0; page < 50; page += 1) {
        const data = await request({
          method: 'GET',
          path: '/me/accounts',
          query: { fields: 'id,name,access_token,tasks,instagram_business_account', limit: '100', ...(after ? { after } : {}) },
          accessToken: userToken,
          schema: pagedListSchema(pageSchema),
          idempotent: true,
        });
        for (const item of data.data) {
          pages.push({
            id: item.id,
            name: item.name,
            tasks: item.tasks,
            ...(item.access_token === undefined ? {} : { accessToken: item.access_token }),
            ...(item.instagram_business_account === undefined ? {} : { instagramBusinessAccountId: item.instagram_business_account.id }),
          });
        }
        next = data.paging?.next;
        if (next === undefined) break;
        after = new URL(next).searchParams.get('after') ?? undefined;
        if (after === undefined) break;
      }
      return pages;
    },

    async debugToken(inputToken) {
      const { data } = await request({
        method: 'GET',
        path: '/debug_token',
        query: { input_token: inputToken, access_token: appAccessToken },
        schema: debugTokenResponseSchema,
        idempotent: true,
      });
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
    },

    async getInstagramAccount(igAccountId, accessToken) {
      const data = await request({
        method: 'GET',
        path: `/${encodeURIComponent(igAccountId)}`,
        query: { fields: 'id,username,name,profile_picture_url' },
        accessToken,
        schema: instagramAccountResponseSchema,
        idempotent: true,
      });
      return {
        id: data.id,
        name: data.name,
        profilePictureUrl: data.profile_picture_url,
        ...(data.username === undefined ? {} : { username: data.username }),
      };
    },

    async subscribeApp(pageId, pageToken, fields) {
      const data = await request({
        method: 'POST',
        path: `/${encodeURIComponent(pageId)}/subscribed_apps`,
        query: { subscribed_fields: fields.join(',') },
        accessToken: pageToken,
        schema: successResponseSchema,
        idempotent: true,
      });
      if (!data.success) throw new UnexpectedResponseError(`subscribing the app to Page ${pageId} answered success=false`);
    },

    async listSubscribedApps(pageId, pageToken) {
      const data = await request({
        method: 'GET',
        path: `/${encodeURIComponent(pageId)}/subscribed_apps`,
        accessToken: pageToken,
        schema: subscribedAppsResponseSchema,
        idempotent: true,
      });
      return data.data.map((app) => ({
        id: app.id,
        subscribedFields: app.subscribed_fields,
        ...(app.name === undefined ? {} : { name: app.name }),
      }));
    },

    async unsubscribeApp(pageId, pageToken) {
      const data = await request({
        method: 'DELETE',
        path: `/${encodeURIComponent(pageId)}/subscribed_apps`,
        accessToken: pageToken,
        schema: successResponseSchema,
        idempotent: true,
      });
      if (!data.success) throw new UnexpectedResponseError(`unsubscribing the app from Page ${pageId} answered success=false`);
    },

    async sendMessage(input) {
      const message =
        input.message.kind === 'text'
          ? { text: input.message.text }
          : { attachment: { type: 'image', payload: { url: input.message.url } } };
      const data = await request({
        method: 'POST',
        path: `/${encodeURIComponent(input.senderId ?? 'me')}/messages`,
        accessToken: input.accessToken,
        body: {
          recipient: { id: input.recipientId },
          message,
          ...(input.tag === undefined ? { messaging_type: 'RESPONSE' } : { messaging_type: 'MESSAGE_TAG', tag: input.tag }),
          ...(input.replyToMid === undefined ? {} : { reply_to: { mid: input.replyToMid } }),
        },
        schema: sendMessageResponseSchema,
        idempotent: false,
        errorContext: input.message.kind === 'text' ? { sentText: input.message.text } : {},
      });
      return { recipientId: data.recipient_id, messageId: data.message_id };
    },

    async sendSenderAction(input) {
      await request({
        method: 'POST',
        path: `/${encodeURIComponent(input.senderId ?? 'me')}/messages`,
        accessToken: input.accessToken,
        body: { recipient: { id: input.recipientId }, sender_action: input.action },
        schema: senderActionResponseSchema,
        idempotent: true,
      });
    },

    async getUserProfile({ igsid, accessToken, fields = DEFAULT_PROFILE_FIELDS, timeoutMs }) {
      const data = await request({
        method: 'GET',
        path: `/${encodeURIComponent(igsid)}`,
        query: { fields: fields.join(',') },
        accessToken,
        schema: userProfileResponseSchema,
        idempotent: true,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      return {
        id: data.id,
        username: data.username,
        name: data.name,
        profilePic: data.profile_pic,
        ...(data.follower_count === undefined ? {} : { followerCount: data.follower_count }),
        ...(data.is_verified_user === undefined ? {} : { isVerifiedUser: data.is_verified_user }),
        ...(data.is_user_follow_business === undefined ? {} : { isUserFollowBusiness: data.is_user_follow_business }),
        ...(data.is_business_follow_user === undefined ? {} : { isBusinessFollowUser: data.is_business_follow_user }),
      };
    },

    async getStoryMention(mid, accessToken) {
      const data = await request({
        method: 'GET',
        path: `/${encodeURIComponent(mid)}`,
        query: { fields: 'story' },
        accessToken,
        schema: storyMentionResponseSchema,
        idempotent: true,
      });
      const mention = data.story?.mention;
      return mention === undefined ? undefined : { link: mention.link, storyId: String(mention.id) };
    },
  };
}
