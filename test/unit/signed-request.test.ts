/** Meta's signed_request, checked against signatures made here independently with node:crypto. */
import { createHmac } from 'node:crypto';
import { decodeBase64Url, verifySignedRequest } from '../../src/security/signed-request';

const SECRET = 'unit-test-app-secret';

const b64url = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64').replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
const sign = (secret: string, payloadSegment: string): string => b64url(createHmac('sha256', secret).update(payloadSegment).digest());

/** A signed request the way Meta makes one: the payload encoded first, then its segment signed. */
function signedRequest(payload: unknown, secret = SECRET): string {
  const segment = b64url(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return `${sign(secret, segment)}.${segment}`;
}

const GOOD = { algorithm: 'HMAC-SHA256', issued_at: 1_780_000_000, user_id: '100000000000101' };

describe('signed_request', () => {
  it('accepts a request signed with the app secret and answers the user and the time', () => {
    expect(verifySignedRequest(SECRET, signedRequest(GOOD))).toEqual({ ok: true, payload: { algorithm: 'HMAC-SHA256', issuedAt: 1_780_000_000, userId: '100000000000101' } });
  });

  it('accepts extra fields (a Page install adds profile_id) and the algorithm in any case', () => {
    const check = verifySignedRequest(SECRET, signedRequest({ ...GOOD, algorithm: 'hmac-sha256', profile_id: '110000000000101', expires: 0 }));
    expect(check).toMatchObject({ ok: true, payload: { userId: GOOD.user_id } });
  });

  it('adds the padding Meta strips: payloads of every length modulo 3 verify', () => {
    for (const userId of ['1', '12', '123', '1234']) {
      expect(verifySignedRequest(SECRET, signedRequest({ ...GOOD, user_id: userId }))).toMatchObject({ ok: true, payload: { userId } });
    }
    expect(decodeBase64Url('YQ')?.toString()).toBe('a');
    expect(decodeBase64Url('YWI')?.toString()).toBe('ab');
    expect(decodeBase64Url('YWI=')?.toString()).toBe('ab');
    expect(decodeBase64Url('-_8')).toEqual(Buffer.from([0xfb, 0xff]));
  });

  it('signs the payload segment as sent: a segment re-encoded by the receiver would not match', () => {
    const segment = b64url(JSON.stringify({ ...GOOD, user_id: '1001' }));
    // The same bytes with the padding left on are another segment, so another signature.
    const padded = `${segment}${'='.repeat((4 - (segment.length % 4)) % 4)}`;
    expect(padded).not.toBe(segment);
    expect(verifySignedRequest(SECRET, `${sign(SECRET, segment)}.${padded}`)).toMatchObject({ ok: false, problem: 'signature_mismatch' });
    expect(verifySignedRequest(SECRET, `${sign(SECRET, padded)}.${padded}`)).toMatchObject({ ok: true });
  });

  it('refuses a request signed with another secret', () => {
    expect(verifySignedRequest(SECRET, signedRequest(GOOD, 'someone-elses-secret'))).toEqual({
      ok: false,
      problem: 'signature_mismatch',
      message: 'the signature does not match the payload for this app',
    });
  });

  it('refuses a tampered payload: another user, another time, one flipped bit', () => {
    const original = signedRequest(GOOD);
    const [signature] = original.split('.');
    for (const forged of [{ ...GOOD, user_id: '100000000000999' }, { ...GOOD, issued_at: GOOD.issued_at + 1 }]) {
      expect(verifySignedRequest(SECRET, `${signature}.${b64url(JSON.stringify(forged))}`)).toMatchObject({ ok: false, problem: 'signature_mismatch' });
    }
    const bytes = Buffer.from(JSON.stringify(GOOD));
    bytes[10] = bytes[10]! ^ 1;
    expect(verifySignedRequest(SECRET, `${signature}.${b64url(bytes)}`)).toMatchObject({ ok: false, problem: 'signature_mismatch' });
  });

  it('refuses a forged signature of the right length, and a truncated one', () => {
    const [, payload] = signedRequest(GOOD).split('.');
    expect(verifySignedRequest(SECRET, `${b64url(Buffer.alloc(32, 7))}.${payload}`)).toMatchObject({ ok: false, problem: 'signature_mismatch' });
    const short = b64url(createHmac('sha256', SECRET).update(payload!).digest().subarray(0, 16));
    expect(verifySignedRequest(SECRET, `${short}.${payload}`)).toMatchObject({ ok: false, problem: 'malformed', message: 'the signature is 16 bytes; an HMAC-SHA256 is 32' });
  });

  it('refuses another algorithm even when the signature matches', () => {
    expect(verifySignedRequest(SECRET, signedRequest({ ...GOOD, algorithm: 'HMAC-SHA1' }))).toEqual({
      ok: false,
      problem: 'unsupported_algorithm',
      message: 'the algorithm is "HMAC-SHA1"; only HMAC-SHA256 is accepted',
    });
  });

  it('refuses a signed payload that is not JSON or misses its fields, naming them', () => {
    expect(verifySignedRequest(SECRET, signedRequest('not json'))).toMatchObject({ ok: false, problem: 'invalid_payload', message: 'the payload is not JSON' });
    const missing = verifySignedRequest(SECRET, signedRequest({ algorithm: 'HMAC-SHA256', user_id: 42 }));
    expect(missing).toMatchObject({ ok: false, problem: 'invalid_payload' });
    expect(!missing.ok && missing.message).toContain('issued_at, user_id');
    expect(verifySignedRequest(SECRET, signedRequest({ ...GOOD, user_id: '' }))).toMatchObject({ ok: false, problem: 'invalid_payload' });
  });

  it('refuses garbage with a reason, never throwing', () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'missing'],
      ['', 'missing'],
      ['abc', 'malformed'],
      ['a.b.c', 'malformed'],
      ['.payload', 'malformed'],
      ['signature.', 'malformed'],
      ['sig+nature.pay/load', 'malformed'],
      ['a.YWI', 'malformed'],
      ['%%%.%%%', 'malformed'],
      [`${'A'.repeat(9000)}.YWI`, 'malformed'],
      [`${b64url(Buffer.alloc(32))}.=`, 'malformed'],
    ];
    for (const [input, problem] of cases) {
      const check = verifySignedRequest(SECRET, input);
      expect({ input: input?.slice(0, 20), problem: check.ok ? null : check.problem }).toEqual({ input: input?.slice(0, 20), problem });
      expect(!check.ok && check.message.length).toBeGreaterThan(10);
    }
  });
});
