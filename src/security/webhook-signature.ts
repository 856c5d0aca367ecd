/** Meta's `X-Hub-Signature-256`: HMAC-SHA256 of the raw bytes with the app secret, compared in constant time. */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' };

const headerPattern = /^sha256=([0-9a-fA-F]{64})$/;

export function signBody(appSecret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

export function verifySignature(appSecret: string, rawBody: Uint8Array, header: string | undefined): SignatureCheck {
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  const match = headerPattern.exec(header.trim());
  if (!match) return { ok: false, reason: 'malformed' };
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  const received = Buffer.from(match[1]!, 'hex');
  return timingSafeEqual(expected, received) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
