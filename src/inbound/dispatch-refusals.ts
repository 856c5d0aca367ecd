/**
 * How the dispatcher tells a signal Temporal refuses (what it carries can never go) from Temporal being unreachable
 * (nothing is wrong with the events), and how often it tries a refused one again.
 */
import { isGrpcServiceError } from '@temporalio/client';

/**
 * A signal Temporal refuses (an id it will not take, an argument too large) fails the same way every time: its
 * events are tried again `attempts` times in all, `baseDelayMs` apart and doubling up to `maxDelayMs`, the sweeper's
 * rounds included, and then parked with the reason. Temporal being unreachable is no refusal: such events wait for
 * it, however long, since nothing is wrong with them.
 */
export interface RefusalRetry {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_REFUSAL_RETRY: RefusalRetry = { attempts: 8, baseDelayMs: 5_000, maxDelayMs: 5 * 60_000 };

/** gRPC codes that say Temporal could not be reached, timed out or is overloaded: nothing about the event. */
const UNREACHABLE_CODES: ReadonlySet<number> = new Set([1, 4, 8, 14]);

/** Whether Temporal answered this signal with a refusal of what it carries (a gRPC error other than unreachable). */
export function isRefusal(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth += 1) {
    if (isGrpcServiceError(cause)) return !UNREACHABLE_CODES.has(cause.code);
  }
  return false;
}

/** An error message short enough to keep on an event and in a log line (Temporal may echo a long id in it). */
export function shortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}
