/**
 * Meta's `signed_request` (deauthorize and data-deletion callbacks, META-API 4.3): `<b64url(sig)>.<b64url(payload)>`,
 * where sig is the HMAC-SHA256 of the payload segment, exactly as sent, with the app secret. The signature is checked
 * (in constant time) before anything in the payload is believed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export interface SignedRequestPayload {
  algorithm: 'HMAC-SHA256';
  /** Unix seconds. */
  issuedAt: number;
  /** The app-scoped id of the Facebook user. */
  userId: string;
}

export type SignedRequestProblem = 'missing' | 'malformed' | 'signature_mismatch' | 'unsupported_algorithm' | 'invalid_payload';

export type SignedRequestCheck = { ok: true; payload: SignedRequestPayload } | { ok: false; problem: SignedRequestProblem; message: string };

/** Far above any real one (a few hundred characters); bounds the work done for garbage. */
const MAX_LENGTH = 8192;
const SEGMENT = /^[A-Za-z0-9_-]+={0,2}$/;
const SIGNATURE_BYTES = 32;

// Page installs add more fields (profile_id): they are allowed and ignored.
const payloadSchema = z.looseObject({
  algorithm: z.string(),
  issued_at: z.number().int().nonnegative(),
  user_id: z.string().min(1),
});

function refuse(problem: SignedRequestProblem, message: string): SignedRequestCheck {
  return { ok: false, problem, message };
}

/** Base64url without its padding, as Meta sends it; null when it is not base64url. */
export function decodeBase64Url(segment: string): Buffer | null {
  if (!SEGMENT.test(segment)) return null;
  const bare = segment.replace(/=+$/, '');
  // A length of 1 modulo 4 cannot come from any bytes.
  if (bare.length % 4 === 1) return null;
  const padded = bare + '='.repeat((4 - (bare.length % 4)) % 4);
  return Buffer.from(padded.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
}

function signatureMatches(appSecret: string, payloadSegment: string, signature: Buffer): boolean {
  const expected = createHmac('sha256', appSecret).update(payloadSegment, 'utf8').digest();
  return timingSafeEqual(expected, signature);
}

function parsePayload(bytes: Buffer): SignedRequestCheck {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return refuse('invalid_payload', 'the payload is not JSON');
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || 'payload').join(', ');
    return refuse('invalid_payload', `the payload lacks or misstates: ${fields} (expected algorithm, issued_at in unix seconds, user_id as a string)`);
  }
  const { algorithm, issued_at: issuedAt, user_id: userId } = parsed.data;
  if (algorithm.toUpperCase() !== 'HMAC-SHA256') return refuse('unsupported_algorithm', `the algorithm is ${JSON.stringify(algorithm)}; only HMAC-SHA256 is accepted`);
  return { ok: true, payload: { algorithm: 'HMAC-SHA256', issuedAt, userId } };
}

export function verifySignedRequest(appSecret: string, signedRequest: string | undefined): SignedRequestCheck {
  if (signedRequest === undefined || signedRequest === '') return refuse('missing', 'the form field signed_request is missing');
  if (signedRequest.length > MAX_LENGTH) return refuse('malformed', `signed_request is longer than ${MAX_LENGTH} characters`);
  const segments = signedRequest.split('.');
  if (segments.length !== 2) return refuse('malformed', 'signed_request is not of the form <signature>.<payload>');
  const [signatureSegment, payloadSegment] = segments as [string, string];
  const signature = decodeBase64Url(signatureSegment);
  const payload = decodeBase64Url(payloadSegment);
  if (signature === null || payload === null) return refuse('malformed', 'signed_request is not two base64url segments');
  if (signature.length !== SIGNATURE_BYTES) return refuse('malformed', `the signature is ${signature.length} bytes; an HMAC-SHA256 is ${SIGNATURE_BYTES}`);
  if (!signatureMatches(appSecret, payloadSegment, signature)) return refuse('signature_mismatch', 'the signature does not match the payload for this app');
  return parsePayload(payload);
}
