/**
 * The only place where errors become Temporal failures. Domain errors (and the Graph client's, which are domain
 * errors) keep their type; retrying is left to Temporal only where it can help. Activities throw domain errors
 * and are wrapped once with `withFailureMapping`; nothing else builds an `ApplicationFailure`.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { DomainError, type DomainErrorType, RateLimitedError } from '../domain/errors';
import { FailureType, type FailureDetails } from '../temporal/failures';

/** An error of the engine itself that an activity raises: it carries one of the failure types. */
export class ActivityError extends Error {
  constructor(
    readonly type: Exclude<FailureType, DomainErrorType>,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = type;
  }
}

/**
 * `attempt`: which attempt of the activity failed so. It travels in the details beside the type's own, so the
 * workflow can say how often an event was tried before it was parked; `failureOf` hands it over apart from them.
 */
export function toApplicationFailure(error: unknown, attempt?: number): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  const counted = attempt === undefined ? {} : { attempt };
  if (error instanceof DomainError) {
    const reason = (error.toJSON() as { reason?: unknown }).reason;
    const details: FailureDetails = {
      ...(error.upstream.code === undefined ? {} : { code: error.upstream.code }),
      ...(error.upstream.subcode === undefined ? {} : { subcode: error.upstream.subcode }),
      ...(typeof reason === 'string' ? { reason } : {}),
      ...(error instanceof RateLimitedError ? { retryAfterMs: error.retryAfterMs } : {}),
    };
    // A rate limit is not retried by the activity's policy: the workflow waits as long as Meta said, with a durable
    // timer, and then tries again; everything else retries only when the domain says it can help.
    const nonRetryable = error instanceof RateLimitedError || !error.retryable;
    return ApplicationFailure.create({ type: error.type, message: error.message, nonRetryable, details: [{ ...details, ...counted }] });
  }
  if (error instanceof ActivityError) {
    return ApplicationFailure.create({ type: error.type, message: error.message, nonRetryable: !error.retryable, details: [counted] });
  }
  // A database hiccup or a bug: retried by the activity's policy, which is bounded.
  const message = error instanceof Error ? error.message : String(error);
  return ApplicationFailure.create({ type: FailureType.Unexpected, message, nonRetryable: false, details: [counted] });
}

/** The attempt of the activity running now (Temporal counts from 1); none when called outside an activity. */
function currentAttempt(): number | undefined {
  try {
    return Context.current().info.attempt;
  } catch {
    return undefined;
  }
}

/** Wraps every function of an activity object so that whatever it throws crosses to the workflow as typed. */
export function withFailureMapping<T extends object>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, activity] of Object.entries(activities) as Array<[string, unknown]>) {
    if (typeof activity !== 'function') continue;
    const call = activity as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await call(...args);
      } catch (error) {
        throw toApplicationFailure(error, currentAttempt());
      }
    };
  }
  return wrapped as T;
}
