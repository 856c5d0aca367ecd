/** Bearer secrets (the operator token, the metrics token) compared without leaking anything through timing. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares digests so that neither the length nor the content of the secret leaks through timing. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}
