/**
 * Meta's error answers (META-API 2.6) turned into the domain taxonomy. Pure: the client hands in what came back.
 */
import { z } from 'zod';
import {
  AccountNotLinkedError,
  ConsentRequiredError,
  type DomainError,
  InvalidRequestError,
  MediaRejectedError,
  MessagesAccessOffError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  type RateLimitScope,
  RecipientUnavailableError,
  SendingRestrictedError,
  TextTooLongError,
  TokenInvalidError,
  type TokenInvalidReason,
  TransientUpstreamError,
  UnknownOutcomeError,
  UpstreamError,
  type UpstreamDetails,
  WindowClosedError,
} from '../domain/errors';
import { MAX_TEXT_BYTES, utf8ByteLength } from '../domain/text';
import { scrubText } from './redaction';

export const metaErrorBodySchema = z.object({
  error: z.looseObject({
    message: z.string().default(''),
    type: z.string().optional(),
    code: z.coerce.number().int(),
    error_subcode: z.coerce.number().int().optional(),
    is_transient: z.boolean().optional(),
    error_user_title: z.string().optional(),
    error_user_msg: z.string().optional(),
    fbtrace_id: z.string().optional(),
  }),
});
export type MetaErrorBody = z.infer<typeof metaErrorBodySchema>;

/** What the caller was doing, where the code alone is ambiguous. */
export interface MetaErrorContext {
  /** The text that was sent, when the call was a text send: 100/2534015 then means "too long" if it is. */
  sentText?: string;
}

// Seconds-scale limits (613 is per second per account) retry soon; app/user/page throttles are per hour.
const defaultRetryAfterMs: Record<number, number> = { 4: 60_000, 17: 60_000, 32: 60_000, 613: 1_000, 80002: 60_000 };
const rateLimitScopes: Record<number, RateLimitScope> = { 4: 'app', 17: 'user', 32: 'page', 613: 'account', 80002: 'account' };

const tokenReasons: Record<number, TokenInvalidReason> = {
  458: 'app_removed',
  459: 'checkpointed',
  460: 'password_changed',
  463: 'expired',
  464: 'unconfirmed_user',
  467: 'invalid',
  492: 'page_role_lost',
};

/** Why a token is dead, from the subcode of Meta's token error 190 (also what debug_token reports for it). */
export function tokenInvalidReasonOf(subcode: number | undefined): TokenInvalidReason {
  return subcode === undefined ? 'invalid' : tokenReasons[subcode] ?? 'invalid';
}

/**
 * The longest wait Meta announces in `X-Business-Use-Case-Usage` (minutes in `estimated_time_to_regain_access`),
 * or undefined when the header is absent or unreadable.
 */
export function retryAfterFromUsageHeader(header: string | null | undefined): number | undefined {
  if (!header) return undefined;
  try {
    const usage = JSON.parse(header) as unknown;
    if (usage === null || typeof usage !== 'object') return undefined;
    let minutes = 0;
    for (const entries of Object.values(usage as Record<string, unknown>)) {
      if (!Array.isArray(entries)) continue;
      for (const entry of entries as unknown[]) {
        const value = (entry as { estimated_time_to_regain_access?: unknown } | null)?.estimated_time_to_regain_access;
        if (typeof value === 'number' && value > minutes) minutes = value;
      }
    }
    return minutes > 0 ? minutes * 60_000 : undefined;
  } catch {
    return undefined;
  }
}

export function mapMetaError(
  httpStatus: number,
  body: MetaErrorBody,
  headers: { businessUseCaseUsage?: string | null } = {},
  context: MetaErrorContext = {},
): DomainError {
  const { code, error_subcode: subcode, fbtrace_id: fbtraceId, is_transient: isTransient } = body.error;
  const message = scrubText(body.error.message);
  const upstream: UpstreamDetails = { httpStatus, code, subcode, fbtraceId, metaMessage: message };
  const say = (text: string): string => `${text} (Meta ${code}${subcode === undefined ? '' : `/${subcode}`})`;

  switch (code) {
    case 190:
      return new TokenInvalidError(
        tokenInvalidReasonOf(subcode),
        say('the access token is no longer valid'),
        upstream,
      );
    case 102:
      return new TokenInvalidError('session_invalid', say('the session is no longer valid'), upstream);
    case 104:
      return new TokenInvalidError('missing', say('no access token was sent'), upstream);
    case 10:
      if (subcode === 2534022 || subcode === 2018278) {
        return new WindowClosedError(say('the messaging window with this customer is closed'), upstream);
      }
      if (subcode === 1893063) {
        return new SendingRestrictedError('temporarily_restricted', say('the account is temporarily restricted from sending'), upstream);
      }
      if (subcode === 2018108) {
        return new RecipientUnavailableError('cannot_receive', say('the customer cannot receive messages right now'), upstream);
      }
      return new PermissionDeniedError(say(`permission missing: ${message}`), upstream);
    case 551:
      return new RecipientUnavailableError(
        subcode === 1545041 ? 'not_available' : 'not_receiving',
        say('the customer is not receiving messages from this account right now'),
        upstream,
      );
    case 200:
      if (subcode === 2534041) {
        return new MessagesAccessOffError(
          say('"Allow access to messages" is off in the Instagram app settings of this account'),
          upstream,
        );
      }
      if (subcode === 1545041) {
        return new RecipientUnavailableError('not_available', say('the customer is not available right now'), upstream);
      }
      return new PermissionDeniedError(say(`permission missing: ${message}`), upstream);
    case 230:
      return new ConsentRequiredError(say('the customer has not messaged this account, so the profile is not readable'), upstream);
    case 100:
      return mapInvalidParameter(subcode, message, upstream, context, say);
    case 1:
      if (subcode === 1357046) {
        return new UnknownOutcomeError(say('Meta could not confirm the outcome: the call may have taken effect'), upstream);
      }
      return new TransientUpstreamError(say('Meta had an unknown error; retry later'), upstream);
    case 2:
      return new TransientUpstreamError(say('Meta had an unexpected error; retry later'), upstream);
    case 4:
    case 17:
    case 32:
    case 613:
    case 80002: {
      const retryAfterMs = retryAfterFromUsageHeader(headers.businessUseCaseUsage) ?? defaultRetryAfterMs[code] ?? 60_000;
      return new RateLimitedError(rateLimitScopes[code] ?? 'account', retryAfterMs, say('rate limited by Meta'), upstream);
    }
    default:
      if (isTransient === true || httpStatus >= 500) {
        return new TransientUpstreamError(say(`Meta reported a transient error: ${message}`), upstream);
      }
      return new UpstreamError(say(`Meta refused the call: ${message}`), upstream);
  }
}

function mapInvalidParameter(
  subcode: number | undefined,
  message: string,
  upstream: UpstreamDetails,
  context: MetaErrorContext,
  say: (text: string) => string,
): DomainError {
  switch (subcode) {
    case 2534014:
      return new RecipientUnavailableError('no_matching_user', say('no Instagram user matches this recipient id'), upstream);
    case 2534015: {
      const bytes = context.sentText === undefined ? 0 : utf8ByteLength(context.sentText);
      if (bytes > MAX_TEXT_BYTES) return new TextTooLongError(bytes, MAX_TEXT_BYTES, upstream);
      return new InvalidRequestError(say('Meta refused the message data'), upstream);
    }
    case 2534029:
      return new SendingRestrictedError('business_blocked', say('this business is blocked from the messaging API'), upstream);
    case 2534013:
      return new AccountNotLinkedError(say('the Facebook Page is not linked to an Instagram account'), upstream);
    case 2018008:
      return new MediaRejectedError('fetch_failed', say('Meta could not fetch the media URL'), upstream);
    case 2018047:
      return new MediaRejectedError('unsupported_type', say('the media type is not accepted or does not match the file'), upstream);
    case 2018109:
      return new MediaRejectedError('too_large', say('the attachment is too large'), upstream);
    case 2018294:
      return new MediaRejectedError('fetch_timeout', say('Meta took too long to fetch the media'), upstream);
    case 33:
      return new NotFoundError(say('the object does not exist or the token cannot see it'), upstream);
    default:
      return new InvalidRequestError(say(`invalid request: ${message}`), upstream);
  }
}
