/**
 * The one vocabulary of failures that crosses the activity boundary. Activities raise `ApplicationFailure`s with
 * one of these types (src/activities/failures.ts builds them); workflows read them back with `failureOf`.
 * Workflow-safe: it imports only from @temporalio/common.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';

export const FailureType = {
  // The domain's errors (src/domain/errors.ts), raised by the Graph client and the activities.
  WindowClosed: 'WindowClosed',
  TextTooLong: 'TextTooLong',
  MediaRejected: 'MediaRejected',
  RecipientUnavailable: 'RecipientUnavailable',
  TokenInvalid: 'TokenInvalid',
  MessagesAccessOff: 'MessagesAccessOff',
  PermissionDenied: 'PermissionDenied',
  ConsentRequired: 'ConsentRequired',
  AccountNotLinked: 'AccountNotLinked',
  SendingRestricted: 'SendingRestricted',
  RateLimited: 'RateLimited',
  TransientUpstream: 'TransientUpstream',
  UnknownOutcome: 'UnknownOutcome',
  NotFound: 'NotFound',
  InvalidRequest: 'InvalidRequest',
  UnexpectedResponse: 'UnexpectedResponse',
  UpstreamError: 'UpstreamError',
  // The engine's own.
  EventNotFound: 'EventNotFound',
  MessageNotFound: 'MessageNotFound',
  AccountNotActive: 'AccountNotActive',
  /** A reply the API gave up on when the conversation's workflow could not be reached (it answered 503): never sent. */
  NotQueued: 'NotQueued',
  /** Anything that is not a known failure: a bug of ours or a dependency's. */
  Unexpected: 'Unexpected',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

const knownTypes = new Set<string>(Object.values(FailureType));

/** What an activity failure carries besides its type: Meta's codes when Meta refused, and how long to wait. */
export interface FailureDetails {
  code?: number;
  subcode?: number;
  /** Rate limits: how long Meta asked to wait before the next call. */
  retryAfterMs?: number;
  /** Finer reason inside the type (e.g. TokenInvalid: password_changed, expired, ...). */
  reason?: string;
}

export interface ReadFailure {
  type: FailureType;
  message: string;
  details: FailureDetails;
  /** Which attempt of the activity failed so, when the activity said (src/activities/failures.ts). */
  attempt?: number;
}

/** Reads a failure thrown by an activity call (or raised inside one) into its type, message and details. */
export function failureOf(error: unknown): ReadFailure {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    const type = cause.type && knownTypes.has(cause.type) ? (cause.type as FailureType) : FailureType.Unexpected;
    // The attempt is the activity's bookkeeping, not part of what the failure says (a send shows its details).
    const { attempt, ...details } = (cause.details?.[0] ?? {}) as FailureDetails & { attempt?: number };
    return { type, message: cause.message, details, ...(typeof attempt === 'number' ? { attempt } : {}) };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { type: FailureType.Unexpected, message, details: {} };
}
