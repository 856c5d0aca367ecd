/**
 * The Send API (`POST /me/messages`, `POST /{page-or-account-id}/messages`): a Page token of the Page linked to
 * the sending Instagram account, the fault switches, the per-account rate limits, the message's own checks, the
 * messaging window, then the stored message and its echo webhook.
 */
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { grantCovers, requireGrant, requireToken } from '../access-tokens';
import { DAY_MS, HOUR_MS } from '../clock';
import type { FaultRule, FaultSwitches, RefusalKind } from '../faults';
import { type GraphError, graphErrors } from '../graph-errors';
import type { Logger } from '../logger';
import { fetchMedia } from '../media-fetch';
import type { Messaging } from '../messaging';
import { acceptedImageFormat, isTextWithinSendApiLimit, SEND_API_IMAGE_MAX_BYTES, SEND_API_TEXT_MAX_BYTES } from '../send-api-limits';
import type { EmulatorState } from '../state';
import type { StoredAttachment, StoredMessage, TokenRecord } from '../state-records';
import { tokenFrom } from './graph-request';
import { hang } from './held-connections';

export interface GraphSendApiRoutesDeps {
  state: EmulatorState;
  messaging: Messaging;
  faults: FaultSwitches;
  logger: Logger;
  mediaFetchTimeoutMs: number;
  fetchImpl?: typeof fetch;
}

const MAX_OTHER_MEDIA_BYTES = 25 * 1024 * 1024;

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
type SendBody = z.output<typeof sendBodySchema>;
type RequestedAttachment = { type: string; payload?: { url?: string; attachment_id?: string } };

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

function parseSendBody(raw: unknown): SendBody {
  const parsed = sendBodySchema.safeParse(normalizeSendBody(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw graphErrors.invalidParameter(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** A message needs text or attachments; text must be non-empty UTF-8 within the Send API's byte limit. */
function messageAttachments(body: SendBody): RequestedAttachment[] {
  const message = body.message;
  if (message === undefined) throw graphErrors.invalidParameter('The parameter message is required');
  const attachments = message.attachments ?? (message.attachment === undefined ? [] : [message.attachment]);
  if (message.text === undefined && attachments.length === 0) throw graphErrors.invalidMessageData('message needs text or an attachment');
  if (message.text !== undefined && message.text.length === 0) throw graphErrors.invalidMessageData('text is empty');
  if (message.text !== undefined && !isTextWithinSendApiLimit(message.text)) {
    throw graphErrors.invalidMessageData(`text must be UTF-8 and ${SEND_API_TEXT_MAX_BYTES} bytes or less`);
  }
  return attachments;
}

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

/**
 * Applies a Send API fault before the call is served: refusals and transient errors are thrown; a server error
 * page or a hang answers the call itself (true). A slow fault and the unknown outcome act later, in the caller.
 */
function answeredByFault(res: Response, fault: FaultRule | null): boolean {
  if (fault?.mode === 'refusal') throw refusalError(fault.refusal);
  if (fault?.mode === 'transient_1') throw graphErrors.unknownError();
  if (fault?.mode === 'transient_2') throw graphErrors.unexpectedError();
  if (fault?.mode === 'server_error') {
    res.status(fault.status).type('text/html').send('<html><body><h1>Sorry, something went wrong.</h1></body></html>');
    return true;
  }
  if (fault?.mode === 'timeout') {
    hang(res, fault.hangMs);
    return true;
  }
  return false;
}

export function createGraphSendApiRouter(deps: GraphSendApiRoutesDeps): Router {
  const { state, messaging } = deps;
  const router = Router();
  const now = (): number => state.clock.now();

  /** The sending account: the Instagram account linked to the token's Page, which the path must name (or "me"). */
  function authorizeSender(req: Request, pathId: string): { token: TokenRecord; igAccountId: string } {
    const token = requireToken(state, tokenFrom(req));
    if (token.kind !== 'PAGE') throw graphErrors.pageTokenRequired();
    const page = state.pages.get(token.pageId ?? '');
    if (!page) throw graphErrors.unsupportedRequest('post', pathId);
    if (pathId !== 'me' && pathId !== page.id && pathId !== page.igAccountId) throw graphErrors.unsupportedRequest('post', pathId);
    const igAccountId = page.igAccountId;
    if (igAccountId === null) throw graphErrors.pageNotLinked();
    // Not granted (declined, or the account left out at a later login): code 10, Meta's "permission either not
    // granted or has been removed" (META-API 2.6), the Send API's answer for a missing messaging permission.
    if (!grantCovers(requireGrant(state, token), 'instagram_manage_messages', igAccountId)) throw graphErrors.noMessagingPermission();
    return { token, igAccountId };
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

  /** 24 hours after the customer's last message, or 7 days with the HUMAN_AGENT tag (the only tag allowed). */
  function checkWindow(igAccountId: string, body: SendBody): void {
    if (body.tag !== undefined && body.tag !== 'HUMAN_AGENT') throw graphErrors.invalidTag(body.tag);
    const lastCustomerMessageAt = state.conversation(igAccountId, body.recipient.id).lastCustomerMessageAt;
    const elapsed = lastCustomerMessageAt === null ? Number.POSITIVE_INFINITY : now() - lastCustomerMessageAt;
    const allowed = body.tag === 'HUMAN_AGENT' ? 7 * DAY_MS : 24 * HOUR_MS;
    if (!(elapsed < allowed)) throw graphErrors.windowClosed();
  }

  /** An attachment by id (an earlier upload) or by URL, which is fetched and, for an image, must be a PNG or JPEG. */
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

  /** Stores the accepted message in its conversation and posts its echo webhook. */
  async function deliver(token: TokenRecord, igAccountId: string, body: SendBody, attachments: RequestedAttachment[]): Promise<StoredMessage> {
    const resolved: StoredAttachment[] = [];
    for (const attachment of attachments) {
      resolved.push(await resolveAttachment(attachment.type, attachment.payload?.url, attachment.payload?.attachment_id));
    }
    const text = body.message?.text;
    const stored = state.recordMessage({
      igAccountId,
      igsid: body.recipient.id,
      direction: 'outbound',
      source: 'send_api',
      at: now(),
      appId: token.appId,
      ...(text === undefined ? {} : { text }),
      ...(resolved.length === 0 ? {} : { attachments: resolved }),
      ...(body.tag === undefined ? {} : { tag: body.tag }),
    });
    messaging.publishEcho(stored);
    return stored;
  }

  async function sendApi(req: Request, res: Response, pathId: string): Promise<void> {
    const { token, igAccountId } = authorizeSender(req, pathId);
    const fault = deps.faults.next(igAccountId);
    if (answeredByFault(res, fault)) return;
    if (fault?.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.hangMs));
    checkRateLimits(igAccountId);

    const body = parseSendBody(req.body);
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

    const attachments = messageAttachments(body);
    if (!recipientIsCustomer) throw graphErrors.noMatchingUser();
    if (!state.requireIgAccount(igAccountId).messagesAccess) throw graphErrors.messagesAccessOff();
    checkWindow(igAccountId, body);
    const stored = await deliver(token, igAccountId, body, attachments);
    if (fault?.mode === 'unknown_outcome') throw graphErrors.unknownOutcome();
    res.json({ recipient_id: body.recipient.id, message_id: stored.mid });
  }

  router.post('/me/messages', (req, res) => sendApi(req, res, 'me'));
  router.post('/:id/messages', (req, res) => sendApi(req, res, req.params.id));

  return router;
}
