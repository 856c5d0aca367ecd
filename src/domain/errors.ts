/**
 * The domain error taxonomy (DESIGN.md "Errors"). Every failure the engine can meet when it talks to Meta is one
 * of these, with a stable `type` that activities put on `ApplicationFailure` and the API turns into an HTTP answer.
 * `retryable` says whether trying the same call again later can succeed; only Meta codes 1, 2, 4, 17, 32, 613
 * and 80002 (and network trouble on calls that are safe to repeat) are (META-API 2.6).
 */

/** What Meta said, kept for diagnostics. Never holds a token. */
export interface UpstreamDetails {
  httpStatus?: number;
  code?: number;
  subcode?: number;
  fbtraceId?: string;
  metaMessage?: string;
}

export type TokenInvalidReason =
  | 'expired'
  | 'password_changed'
  | 'app_removed'
  | 'checkpointed'
  | 'unconfirmed_user'
  | 'session_invalid'
  | 'page_role_lost'
  | 'missing'
  | 'invalid';

export type MediaRejectedReason = 'unsupported_type' | 'too_large' | 'fetch_failed' | 'fetch_timeout' | 'video_not_supported';

export type RecipientUnavailableReason = 'no_matching_user' | 'not_available' | 'not_receiving' | 'cannot_receive';

export type RateLimitScope = 'app' | 'user' | 'page' | 'account';

export type SendingRestrictedReason = 'temporarily_restricted' | 'business_blocked';

export type DomainErrorType =
  | 'WindowClosed'
  | 'TextTooLong'
  | 'MediaRejected'
  | 'RecipientUnavailable'
  | 'TokenInvalid'
  | 'MessagesAccessOff'
  | 'PermissionDenied'
  | 'ConsentRequired'
  | 'AccountNotLinked'
  | 'SendingRestricted'
  | 'RateLimited'
  | 'TransientUpstream'
  | 'UnknownOutcome'
  | 'NotFound'
  | 'InvalidRequest'
  | 'UnexpectedResponse'
  | 'UpstreamError';

export abstract class DomainError extends Error {
  abstract readonly type: DomainErrorType;
  abstract readonly retryable: boolean;

  constructor(
    message: string,
    readonly upstream: UpstreamDetails = {},
  ) {
    super(message);
  }

  /** A plain object for logs, Temporal failure details and API bodies. */
  toJSON(): Record<string, unknown> {
    const { message, type, retryable, upstream } = this;
    return { type, message, retryable, ...this.extra(), upstream };
  }

  protected extra(): Record<string, unknown> {
    return {};
  }
}

export class WindowClosedError extends DomainError {
  readonly type = 'WindowClosed';
  readonly retryable = false;
}

export class TextTooLongError extends DomainError {
  readonly type = 'TextTooLong';
  readonly retryable = false;
  constructor(
    readonly bytes: number,
    readonly limit: number,
    upstream?: UpstreamDetails,
  ) {
    super(`text is ${bytes} UTF-8 bytes; Instagram accepts at most ${limit}: split it into several messages`, upstream);
  }
  protected override extra(): Record<string, unknown> {
    return { bytes: this.bytes, limit: this.limit };
  }
}

export class MediaRejectedError extends DomainError {
  readonly type = 'MediaRejected';
  readonly retryable = false;
  constructor(
    readonly reason: MediaRejectedReason,
    message: string,
    upstream?: UpstreamDetails,
  ) {
    super(message, upstream);
  }
  protected override extra(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

export class RecipientUnavailableError extends DomainError {
  readonly type = 'RecipientUnavailable';
  readonly retryable = false;
  constructor(
    readonly reason: RecipientUnavailableReason,
    message: string,
    upstream?: UpstreamDetails,
  ) {
    super(message, upstream);
  }
  protected override extra(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

export class TokenInvalidError extends DomainError {
  readonly type = 'TokenInvalid';
  readonly retryable = false;
  constructor(
    readonly reason: TokenInvalidReason,
    message: string,
    upstream?: UpstreamDetails,
  ) {
    super(message, upstream);
  }
  protected override extra(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

export class MessagesAccessOffError extends DomainError {
  readonly type = 'MessagesAccessOff';
  readonly retryable = false;
}

export class PermissionDeniedError extends DomainError {
  readonly type = 'PermissionDenied';
  readonly retryable = false;
}

/** The Profile API refuses users who never messaged the account (META-API 3). */
export class ConsentRequiredError extends DomainError {
  readonly type = 'ConsentRequired';
  readonly retryable = false;
}

export class AccountNotLinkedError extends DomainError {
  readonly type = 'AccountNotLinked';
  readonly retryable = false;
}

export class SendingRestrictedError extends DomainError {
  readonly type = 'SendingRestricted';
  readonly retryable = false;
  constructor(
    readonly reason: SendingRestrictedReason,
    message: string,
    upstream?: UpstreamDetails,
  ) {
    super(message, upstream);
  }
  protected override extra(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

export class RateLimitedError extends DomainError {
  readonly type = 'RateLimited';
  readonly retryable = true;
  constructor(
    readonly scope: RateLimitScope,
    readonly retryAfterMs: number,
    message: string,
    upstream?: UpstreamDetails,
  ) {
    super(message, upstream);
  }
  protected override extra(): Record<string, unknown> {
    return { scope: this.scope, retryAfterMs: this.retryAfterMs };
  }
}

export class TransientUpstreamError extends DomainError {
  readonly type = 'TransientUpstream';
  readonly retryable = true;
}

/**
 * Meta may have done what was asked even though the answer says otherwise (1/1357046, or a send that timed out).
 * Not retryable as such: the caller must first find out whether the message went (its echo, its mid).
 */
export class UnknownOutcomeError extends DomainError {
  readonly type = 'UnknownOutcome';
  readonly retryable = false;
}

export class NotFoundError extends DomainError {
  readonly type = 'NotFound';
  readonly retryable = false;
}

export class InvalidRequestError extends DomainError {
  readonly type = 'InvalidRequest';
  readonly retryable = false;
}

/** Meta answered 2xx with a body that does not have the documented shape. */
export class UnexpectedResponseError extends DomainError {
  readonly type = 'UnexpectedResponse';
  readonly retryable = false;
}

/** A Meta error with a code this taxonomy has no better place for. */
export class UpstreamError extends DomainError {
  readonly type = 'UpstreamError';
  readonly retryable = false;
}

// Stack traces and logs then read "TokenInvalid: ..." instead of "Error: ...". A getter on the prototype because
// subclasses set `type` only after Error's constructor has run.
Object.defineProperty(DomainError.prototype, 'name', {
  get(this: DomainError) {
    return this.type;
  },
});

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}
