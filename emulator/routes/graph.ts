/**
 * The Graph API surface the engine uses (Facebook Login flavor): OAuth token exchanges, debug_token, /me,
 * /me/accounts, Page subscriptions, the Send API and the Profile API. The version prefix (/v25.0) is stripped
 * before these routes, as any version answers the same here.
 *
 * Every check of what a token may reach reads the user's current grant for the app (`state.requireGrant`), not
 * the grant the token was issued under: when the user logs in again and leaves a Page or an Instagram account
 * out, the app loses it, through Page tokens issued earlier too (SPEC A3: "what is not re-selected loses access,
 * exactly as Meta grants it"). Those tokens stay valid for what is still granted.
 */
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { Logger } from '../logger';
import type { FaultSwitches, ProfileFaultRule, RefusalKind } from '../faults';
import { type GraphError, graphErrors } from '../graph-errors';
import { fetchMedia } from '../media-fetch';
import type { Messaging } from '../messaging';
import { acceptedImageFormat, isTextWithinSendApiLimit, SEND_API_IMAGE_MAX_BYTES, SEND_API_TEXT_MAX_BYTES } from '../send-api-limits';
import {
  DAY_MS,
  type EmulatorState,
  type Grant,
  HOUR_MS,
  type IgAccount,
  type IgUser,
  LONG_LIVED_TOKEN_SECONDS,
  AUTH_CODE_MS,
  type Page,
  type StoredAttachment,
  type StoredMessage,
  type TokenRecord,
} from '../state';

export interface GraphRoutesDeps {
  state: EmulatorState;
  messaging: Messaging;
  faults: FaultSwitches;
  profileFaults: FaultSwitches<ProfileFaultRule>;
  logger: Logger;
  mediaFetchTimeoutMs: number;
  fetchImpl?: typeof fetch;
}

const MAX_OTHER_MEDIA_BYTES = 25 * 1024 * 1024;
const PAGE_TASKS = ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'];
const PAGE_SUBSCRIPTION_FIELDS = new Set([
  'messages',
  'message_echoes',
  'message_reactions',
  'message_reads',
  'message_deliveries',
  'messaging_postbacks',
  'messaging_seen',
  'messaging_referrals',
  'messaging_referral',
  'messaging_optins',
  'messaging_handovers',
  'standby',
  'feed',
  'mention',
]);

function firstString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** Meta takes the token from the Authorization header, the query string or the body. */
export function tokenFrom(req: Request): string | undefined {
  const header = req.get('authorization');
  const match = header ? /^(?:Bearer|OAuth)\s+(.+)$/i.exec(header.trim()) : null;
  if (match?.[1]) return match[1];
  const fromQuery = firstString((req.query as Record<string, unknown>).access_token);
  if (fromQuery) return fromQuery;
  const body = req.body as Record<string, unknown> | undefined;
  return body && typeof body === 'object' ? firstString(body.access_token) : undefined;
}

function param(req: Request, name: string): string | undefined {
  const fromQuery = firstString((req.query as Record<string, unknown>)[name]);
  if (fromQuery !== undefined) return fromQuery;
  const body = req.body as Record<string, unknown> | undefined;
  return body && typeof body === 'object' ? firstString(body[name]) : undefined;
}

function requestedFields(req: Request, fallback: string[]): string[] {
  const raw = param(req, 'fields');
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field.length > 0);
}

/** Which objects a granted scope reaches, as debug_token's granular_scopes show it; undefined: all of them. */
function scopeTargets(grant: Grant, scope: string): string[] | undefined {
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

const sendBodySchema = z.object({
  recipient: z.object({ id: z.string().min(1) }, { error: 'The parameter recipient is required' }),
  messaging_type: z.enum(['RESPONSE', 'UPDATE', 'MESSAGE_TAG']).optional(),
  tag: z.string().optional(),
  sender_action: z.enum(['typing_on', 'typing_off', 'mark_seen', 'react', 'unreact']).optional(),
  payload: z.object({ message_id: z.string(), reaction: z.string().optional() }).optional(),
  reply_to: z.object({ mid: z.string() }).optional(),
  message: z
    .object({
      text: z.string().optional(),
      attachment: z
        .object({
          type: z.string(),
          payload: z.object({ url: z.string().optional(), attachment_id: z.string().optional(), is_reusable: z.boolean().optional() }).optional(),
        })
        .optional(),
      attachments: z
        .array(z.object({ type: z.string(), payload: z.object({ url: z.string().optional(), attachment_id: z.string().optional() }).optional() }))
        .max(10)
        .optional(),
      quick_replies: z.array(z.unknown()).optional(),
    })
    .optional(),
});

/** Form posts carry objects as JSON strings (recipient={"id":"..."}); decode them like Meta does. */
function normalizeSendBody(body: unknown): unknown {
  if (body === null || typeof body !== 'object') return {};
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const key of ['recipient', 'message', 'payload', 'reply_to']) {
    const value = out[key];
    if (typeof value === 'string') {
      try {
        out[key] = JSON.parse(value);
      } catch {
        throw graphErrors.invalidParameter(`param ${key} must be a JSON object`);
      }
    }
  }
  delete out.access_token;
  return out;
}

export function createGraphRouter(deps: GraphRoutesDeps): Router {
  const { state, messaging } = deps;
  const router = Router();
  const now = (): number => state.clock.now();
  const seconds = (ms: number): number => Math.floor(ms / 1000);

  function requireApp(req: Request) {
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

  // --- OAuth ------------------------------------------------------------------------------------------------

  router.get('/oauth/access_token', (req, res) => {
    const app = requireApp(req);
    const grantType = param(req, 'grant_type');
    if (grantType === 'client_credentials') {
      res.json({ access_token: `${app.id}|${app.secret}`, token_type: 'bearer' });
      return;
    }
    if (grantType === 'fb_exchange_token') {
      const shortToken = state.requireToken(param(req, 'fb_exchange_token'));
      if (shortToken.kind !== 'USER' || shortToken.appId !== app.id) {
        throw graphErrors.invalidParameter('fb_exchange_token must be a user access token of this app');
      }
      res.json(tokenResponse(state.issueUserToken(shortToken, 'long')));
      return;
    }
    if (grantType !== undefined && grantType !== 'authorization_code') {
      throw graphErrors.invalidParameter(`unsupported grant_type ${grantType}`);
    }
    const codeValue = param(req, 'code');
    if (codeValue === undefined) throw graphErrors.invalidParameter('Missing authorization code');
    const code = state.codes.get(codeValue);
    if (!code || code.appId !== app.id) throw graphErrors.invalidCode();
    if (code.used) throw graphErrors.codeUsed();
    if (now() - code.issuedAt > AUTH_CODE_MS) throw graphErrors.codeExpired();
    if (param(req, 'redirect_uri') !== code.redirectUri) throw graphErrors.redirectUriMismatch();
    code.used = true;
    res.json(tokenResponse(state.issueUserToken(code.grant, 'short')));
  });

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
    const problem = state.tokenProblem(token);
    // What the user grants now: a Page or account left out at a later login is gone from older tokens too.
    const grant = state.currentGrant(token);
    const scopes = grant?.scopes ?? [];
    const granular = scopes
      .map((scope) => ({ scope, targets: grant === undefined ? [] : scopeTargets(grant, scope) }))
      .map(({ scope, targets }) => (targets === undefined ? { scope } : { scope, target_ids: targets }));
    res.json({
      data: {
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
      },
    });
  });

  // --- the user and their Pages -----------------------------------------------------------------------------

  router.get('/me', (req, res) => {
    const token = state.requireToken(tokenFrom(req));
    if (token.kind === 'PAGE') {
      const page = state.pages.get(token.pageId ?? '');
      res.json({ id: token.pageId, name: page?.name ?? '' });
      return;
    }
    const user = state.requireUser(token.userId);
    const fields = requestedFields(req, ['id', 'name']);
    res.json({ id: user.id, ...(fields.includes('name') ? { name: user.name } : {}), ...(fields.includes('email') ? { email: user.email } : {}) });
  });

  router.get('/me/accounts', (req, res) => {
    const token = state.requireToken(tokenFrom(req));
    if (token.kind !== 'USER') throw graphErrors.nonexistingField('accounts', 'Page');
    const fields = requestedFields(req, ['id', 'name', 'access_token', 'tasks']);
    const user = state.requireUser(token.userId);
    const grant = state.requireGrant(token);
    // Without pages_show_list Meta lists nothing; only the Pages picked in the last login's dialog are visible.
    const visible = grant.scopes.includes('pages_show_list') ? grant.pageIds : [];
    const data = visible
      .map((pageId) => state.pages.get(pageId))
      .filter((page) => page !== undefined && user.businessIds.includes(page.businessId))
      .map((page) => {
        if (!page) return {};
        const igAccountId = page.igAccountId !== null && grant.igAccountIds.includes(page.igAccountId) ? page.igAccountId : null;
        const row: Record<string, unknown> = { id: page.id };
        if (fields.includes('name')) row.name = page.name;
        if (fields.includes('access_token')) row.access_token = state.pageTokenFor(token, page.id).value;
        if (fields.includes('tasks')) row.tasks = PAGE_TASKS;
        if (fields.includes('instagram_business_account') && igAccountId !== null) row.instagram_business_account = { id: igAccountId };
        return row;
      });
    res.json({ data, paging: { cursors: { before: 'QVFIUmZAfirst', after: 'QVFIUmZAlast' } } });
  });

  // --- Page subscriptions -----------------------------------------------------------------------------------

  /**
   * A Page token of this Page whose user still grants the app pages_manage_metadata on it, which reading and
   * changing a Page's subscriptions both need (META-API 1.8, 5). A Page left out at a later login answers Meta's
   * permission error for the object, (#200) (META-API 2.6), as a declined permission does.
   */
  function requirePageToken(req: Request, pageId: string, method: 'get' | 'post' | 'delete'): TokenRecord {
    const token = state.requireToken(tokenFrom(req));
    if (!state.pages.has(pageId)) throw graphErrors.unsupportedRequest(method, pageId);
    if (token.kind !== 'PAGE') throw graphErrors.pageTokenRequired();
    if (token.pageId !== pageId) throw graphErrors.unsupportedRequest(method, pageId);
    if (!grantCovers(state.requireGrant(token), 'pages_manage_metadata', pageId)) throw graphErrors.permissionMissing('pages_manage_metadata');
    return token;
  }

  router.post('/:pageId/subscribed_apps', (req, res) => {
    const token = requirePageToken(req, req.params.pageId, 'post');
    const fields = (param(req, 'subscribed_fields') ?? '')
      .split(',')
      .map((field) => field.trim())
      .filter(Boolean);
    if (fields.length === 0) throw graphErrors.invalidParameter('Param subscribed_fields must be non-empty');
    const unknown = fields.find((field) => !PAGE_SUBSCRIPTION_FIELDS.has(field));
    if (unknown !== undefined) throw graphErrors.invalidParameter(`Param subscribed_fields: ${unknown} is not a valid field`);
    state.pages.get(req.params.pageId)?.subscribedApps.set(token.appId, fields);
    res.json({ success: true });
  });

  router.get('/:pageId/subscribed_apps', (req, res) => {
    requirePageToken(req, req.params.pageId, 'get');
    const page = state.pages.get(req.params.pageId);
    const data = [...(page?.subscribedApps ?? new Map<string, string[]>())].map(([appId, fields]) => ({
      id: appId,
      name: state.apps.get(appId)?.name ?? appId,
      subscribed_fields: fields,
    }));
    res.json({ data });
  });

  router.delete('/:pageId/subscribed_apps', (req, res) => {
    const token = requirePageToken(req, req.params.pageId, 'delete');
    state.pages.get(req.params.pageId)?.subscribedApps.delete(token.appId);
    res.json({ success: true });
  });

  // --- Send API ---------------------------------------------------------------------------------------------

  function refusalError(kind: RefusalKind | undefined): GraphError {
    switch (kind) {
      case 'not_receiving':
        return graphErrors.notReceiving();
      case 'not_available':
        return graphErrors.notAvailable();
      case 'temporarily_restricted':
        return graphErrors.temporarilyRestricted();
      case 'business_blocked':
        return graphErrors.businessBlocked();
      case 'no_matching_user':
        return graphErrors.noMatchingUser();
      default:
        return graphErrors.windowClosed();
    }
  }

  function hang(res: Response, hangMs: number): void {
    // Hold the call like an overloaded Meta, then drop the connection; a client that gives up first closes it.
    const timer = setTimeout(() => res.socket?.destroy(), hangMs);
    timer.unref();
    res.on('close', () => clearTimeout(timer));
  }

  function checkRateLimits(igAccountId: string): void {
    const account = state.requireIgAccount(igAccountId);
    const at = now();
    if (account.throttledUntil > at) {
      const minutes = Math.max(1, Math.ceil((account.throttledUntil - at) / 60_000));
      const usage = JSON.stringify({
        [igAccountId]: [{ type: 'instagram', call_count: 100, total_cputime: 100, total_time: 100, estimated_time_to_regain_access: minutes }],
      });
      throw graphErrors.accountThrottled(usage);
    }
    account.recentSends = account.recentSends.filter((sentAt) => at - sentAt < 1000);
    if (account.recentSends.length >= account.sendRateLimitPerSecond) throw graphErrors.rateLimited();
    account.recentSends.push(at);
  }

  async function resolveAttachment(type: string, url: string | undefined, attachmentId: string | undefined): Promise<StoredAttachment> {
    if (type === 'video') throw graphErrors.videoRefused();
    if (!['image', 'audio', 'file'].includes(type)) throw graphErrors.invalidParameter(`attachment type ${type} is not supported`);
    if (attachmentId !== undefined) {
      const media = state.media.get(attachmentId);
      if (!media) throw graphErrors.invalidParameter(`no attachment ${attachmentId}`);
      return { type, payload: { url: messaging.cdn(`media/${media.id}`) } };
    }
    if (url === undefined) throw graphErrors.invalidParameter('attachment payload needs a url or an attachment_id');
    const maxBytes = type === 'image' ? SEND_API_IMAGE_MAX_BYTES : MAX_OTHER_MEDIA_BYTES;
    const fetched = await fetchMedia(url, { maxBytes, timeoutMs: deps.mediaFetchTimeoutMs, fetchImpl: deps.fetchImpl });
    if (!fetched.ok) {
      deps.logger.debug('send api media fetch refused', { reason: fetched.reason, detail: fetched.detail });
      throw fetched.reason === 'too_large' ? graphErrors.attachmentTooLarge() : graphErrors.mediaFetchFailed();
    }
    let contentType = fetched.contentType ?? 'application/octet-stream';
    if (type === 'image') {
      // The bytes decide, not the Content-Type header a server claims.
      const image = acceptedImageFormat(fetched.bytes);
      if (image === undefined) throw graphErrors.mediaTypeMismatch('the file is not a PNG or JPEG image');
      contentType = image.contentType;
    }
    const stored = state.addMedia(contentType, fetched.bytes);
    return { type, payload: { url: messaging.cdn(`media/${stored.id}`) } };
  }

  async function sendApi(req: Request, res: Response, pathId: string): Promise<void> {
    const token = state.requireToken(tokenFrom(req));
    if (token.kind !== 'PAGE') throw graphErrors.pageTokenRequired();
    const page = state.pages.get(token.pageId ?? '');
    if (!page) throw graphErrors.unsupportedRequest('post', pathId);
    if (pathId !== 'me' && pathId !== page.id && pathId !== page.igAccountId) throw graphErrors.unsupportedRequest('post', pathId);
    const igAccountId = page.igAccountId;
    if (igAccountId === null) throw graphErrors.pageNotLinked();
    // Not granted (declined, or the account left out at a later login): code 10, Meta's "permission either not
    // granted or has been removed" (META-API 2.6, GERR), the Send API's answer for a missing messaging permission.
    if (!grantCovers(state.requireGrant(token), 'instagram_manage_messages', igAccountId)) throw graphErrors.noMessagingPermission();

    const fault = deps.faults.next(igAccountId);
    if (fault?.mode === 'refusal') throw refusalError(fault.refusal);
    if (fault?.mode === 'transient_1') throw graphErrors.unknownError();
    if (fault?.mode === 'transient_2') throw graphErrors.unexpectedError();
    if (fault?.mode === 'server_error') {
      res.status(fault.status).type('text/html').send('<html><body><h1>Sorry, something went wrong.</h1></body></html>');
      return;
    }
    if (fault?.mode === 'timeout') {
      hang(res, fault.hangMs);
      return;
    }
    if (fault?.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.hangMs));

    checkRateLimits(igAccountId);

    const parsed = sendBodySchema.safeParse(normalizeSendBody(req.body));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw graphErrors.invalidParameter(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
    }
    const body = parsed.data;
    const recipient = state.resolveScopedId(body.recipient.id);
    const recipientIsCustomer = recipient !== undefined && recipient.igAccountId === igAccountId;

    if (body.sender_action !== undefined) {
      if (!recipientIsCustomer) throw graphErrors.noMatchingUser();
      if ((body.sender_action === 'react' || body.sender_action === 'unreact') && body.payload === undefined) {
        throw graphErrors.invalidParameter('payload.message_id is required for react and unreact');
      }
      res.json({ recipient_id: body.recipient.id });
      return;
    }

    const message = body.message;
    if (message === undefined) throw graphErrors.invalidParameter('The parameter message is required');
    const attachments = message.attachments ?? (message.attachment === undefined ? [] : [message.attachment]);
    if (message.text === undefined && attachments.length === 0) throw graphErrors.invalidMessageData('message needs text or an attachment');
    if (message.text !== undefined && message.text.length === 0) throw graphErrors.invalidMessageData('text is empty');
    if (message.text !== undefined && !isTextWithinSendApiLimit(message.text)) {
      throw graphErrors.invalidMessageData(`text must be UTF-8 and ${SEND_API_TEXT_MAX_BYTES} bytes or less`);
    }
    if (!recipientIsCustomer) throw graphErrors.noMatchingUser();
    if (!state.requireIgAccount(igAccountId).messagesAccess) throw graphErrors.messagesAccessOff();

    if (body.tag !== undefined && body.tag !== 'HUMAN_AGENT') throw graphErrors.invalidTag(body.tag);
    const lastCustomerMessageAt = state.conversation(igAccountId, body.recipient.id).lastCustomerMessageAt;
    const elapsed = lastCustomerMessageAt === null ? Number.POSITIVE_INFINITY : now() - lastCustomerMessageAt;
    const allowed = body.tag === 'HUMAN_AGENT' ? 7 * DAY_MS : 24 * HOUR_MS;
    if (!(elapsed < allowed)) throw graphErrors.windowClosed();

    const resolved: StoredAttachment[] = [];
    for (const attachment of attachments) {
      resolved.push(await resolveAttachment(attachment.type, attachment.payload?.url, attachment.payload?.attachment_id));
    }
    const stored = state.recordMessage({
      igAccountId,
      igsid: body.recipient.id,
      direction: 'outbound',
      source: 'send_api',
      at: now(),
      appId: token.appId,
      ...(message.text === undefined ? {} : { text: message.text }),
      ...(resolved.length === 0 ? {} : { attachments: resolved }),
      ...(body.tag === undefined ? {} : { tag: body.tag }),
    });
    messaging.publishEcho(stored);
    if (fault?.mode === 'unknown_outcome') throw graphErrors.unknownOutcome();
    res.json({ recipient_id: body.recipient.id, message_id: stored.mid });
  }

  router.post('/me/messages', (req, res) => sendApi(req, res, 'me'));
  router.post('/:id/messages', (req, res) => sendApi(req, res, req.params.id));

  // --- nodes: Instagram users (Profile API), Instagram accounts, Pages, messages -----------------------------

  // A node out of the token's reach (another Page's, or left out of the user's current grant) answers 100/33, Meta's
  // "cannot be loaded due to missing permissions" for an object read (META-API 2.6).

  /** Resolves after `ms`, or early (false) when the client gave up and closed the connection meanwhile. */
  function holdWhileConnected(res: Response, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(true), ms);
      res.on('close', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  /**
   * Applies a Profile API fault to an authorized call. Answers false when the fault answered the call itself
   * (a hang), true when the profile is to be served (after a slow hold); refusals are thrown.
   */
  async function applyProfileFault(res: Response, igAccountId: string, igsid: string): Promise<boolean> {
    const fault = deps.profileFaults.next(igAccountId, igsid);
    if (fault === null) return true;
    switch (fault.mode) {
      case 'transient':
        throw graphErrors.unexpectedError();
      case 'refusal':
        throw fault.refusal === 'consent_required' ? graphErrors.consentRequired() : graphErrors.unsupportedRequest('get', igsid);
      case 'timeout':
        hang(res, fault.hangMs);
        return false;
      case 'slow':
        return holdWhileConnected(res, fault.hangMs);
    }
  }

  /** The Profile API (META-API 3): a Page token of the account's Page, with instagram_manage_messages on it. */
  function instagramUserNode(req: Request, token: TokenRecord, grant: Grant, id: string, scoped: { igAccountId: string; igUser: IgUser }): Record<string, unknown> {
    authorizeProfileRead(token, grant, id, scoped.igAccountId);
    const conversation = state.conversation(scoped.igAccountId, id);
    const consented = conversation.messages.some((message) => message.source === 'customer') || conversation.lastCustomerMessageAt !== null;
    if (!consented) throw graphErrors.consentRequired();
    const user = scoped.igUser;
    const values: Record<string, unknown> = {
      name: user.name === '' ? null : user.name,
      username: user.username,
      profile_pic: user.profilePic === '' ? null : messaging.absolute(user.profilePic),
      follower_count: 0,
      is_verified_user: false,
      is_user_follow_business: false,
      is_business_follow_user: false,
    };
    const out: Record<string, unknown> = {};
    for (const field of requestedFields(req, ['name', 'username', 'profile_pic'])) {
      if (field === 'id') continue;
      if (!(field in values)) throw graphErrors.nonexistingField(field, 'InstagramUser');
      out[field] = values[field];
    }
    return { ...out, id };
  }

  function authorizeProfileRead(token: TokenRecord, grant: Grant, id: string, igAccountId: string): void {
    const page = token.kind === 'PAGE' ? state.pages.get(token.pageId ?? '') : undefined;
    if (!page || page.igAccountId !== igAccountId) throw graphErrors.unsupportedRequest('get', id);
    if (!grantCovers(grant, 'instagram_manage_messages', igAccountId)) throw graphErrors.unsupportedRequest('get', id);
  }

  function igAccountNode(req: Request, token: TokenRecord, grant: Grant, account: IgAccount): Record<string, unknown> {
    const ownPage = token.kind !== 'PAGE' || token.pageId === account.pageId;
    if (!ownPage || !grantCovers(grant, 'instagram_basic', account.id)) throw graphErrors.unsupportedRequest('get', account.id);
    const values: Record<string, unknown> = { username: account.username, name: account.name, profile_picture_url: null };
    const out: Record<string, unknown> = {};
    for (const field of requestedFields(req, ['id', 'username'])) {
      if (field === 'id') continue;
      if (!(field in values)) throw graphErrors.nonexistingField(field, 'IGUser');
      out[field] = values[field];
    }
    return { id: account.id, ...out };
  }

  function pageNode(req: Request, token: TokenRecord, grant: Grant, page: Page): Record<string, unknown> {
    const ownPage = token.kind !== 'PAGE' || token.pageId === page.id;
    if (!ownPage || !grant.pageIds.includes(page.id)) throw graphErrors.unsupportedRequest('get', page.id);
    const out: Record<string, unknown> = { id: page.id };
    for (const field of requestedFields(req, ['name', 'id'])) {
      if (field === 'name') out.name = page.name;
      else if (field === 'instagram_business_account') {
        if (page.igAccountId !== null) out.instagram_business_account = { id: page.igAccountId };
      } else if (field === 'access_token') {
        if (token.kind === 'USER') out.access_token = state.pageTokenFor(token, page.id).value;
      } else if (field !== 'id') throw graphErrors.nonexistingField(field, 'Page');
    }
    return out;
  }

  function messageNode(req: Request, token: TokenRecord, grant: Grant, message: StoredMessage): Record<string, unknown> {
    const linkedPage = token.kind === 'PAGE' ? state.pages.get(token.pageId ?? '') : undefined;
    if (!linkedPage || linkedPage.igAccountId !== message.igAccountId) throw graphErrors.unsupportedRequest('get', message.mid);
    if (!grantCovers(grant, 'instagram_manage_messages', message.igAccountId)) throw graphErrors.unsupportedRequest('get', message.mid);
    const out: Record<string, unknown> = { id: message.mid };
    const story = message.storyId === undefined ? undefined : state.stories.get(message.storyId);
    if (requestedFields(req, ['id']).includes('story') && story && story.owner.kind === 'customer' && state.isStoryAlive(story)) {
      // Meta returns a freshly signed link each time (observed); a new query string stands in for that.
      out.story = { mention: { link: `${messaging.storyUrl(story.id)}?sig=${now().toString(36)}`, id: story.id } };
    }
    return out;
  }

  router.get('/:id', async (req, res) => {
    const id = req.params.id;
    const token = state.requireToken(tokenFrom(req));
    const grant = state.requireGrant(token);
    const scoped = state.resolveScopedId(id);
    if (scoped) {
      // Faults hit only calls Meta would serve, so a test of a slow or failing Profile API is not a token test.
      authorizeProfileRead(token, grant, id, scoped.igAccountId);
      if (!(await applyProfileFault(res, scoped.igAccountId, id))) return;
      res.json(instagramUserNode(req, token, grant, id, scoped));
      return;
    }
    const account = state.igAccounts.get(id);
    if (account) {
      res.json(igAccountNode(req, token, grant, account));
      return;
    }
    const page = state.pages.get(id);
    if (page) {
      res.json(pageNode(req, token, grant, page));
      return;
    }
    const message = state.messagesByMid.get(id);
    if (message) {
      res.json(messageNode(req, token, grant, message));
      return;
    }
    throw graphErrors.unsupportedRequest('get', id);
  });

  return router;
}


