/** Meta codes mapped to the domain taxonomy (META-API 2.6): type, reason and whether a retry can help. */
import { MAX_TEXT_BYTES } from '../../src/domain/text';
import { mapMetaError, retryAfterFromUsageHeader, type MetaErrorBody } from '../../src/graph/meta-errors';

const body = (code: number, subcode?: number, extra: Partial<MetaErrorBody['error']> = {}): MetaErrorBody => ({
  error: { message: 'meta says no', type: 'OAuthException', code, ...(subcode === undefined ? {} : { error_subcode: subcode }), fbtrace_id: 'trace', ...extra },
});

describe('mapMetaError', () => {
  it.each([
    [10, 2534022, 'WindowClosed', false],
    [10, 2018278, 'WindowClosed', false],
    [10, 1893063, 'SendingRestricted', false],
    [10, 2018108, 'RecipientUnavailable', false],
    [10, undefined, 'PermissionDenied', false],
    [551, undefined, 'RecipientUnavailable', false],
    [551, 1545041, 'RecipientUnavailable', false],
    [200, 1545041, 'RecipientUnavailable', false],
    [200, 2534041, 'MessagesAccessOff', false],
    [200, undefined, 'PermissionDenied', false],
    [100, 2534014, 'RecipientUnavailable', false],
    [100, 2534015, 'InvalidRequest', false],
    [100, 2534029, 'SendingRestricted', false],
    [100, 2534013, 'AccountNotLinked', false],
    [100, 2018008, 'MediaRejected', false],
    [100, 2018047, 'MediaRejected', false],
    [100, 2018109, 'MediaRejected', false],
    [100, 2018294, 'MediaRejected', false],
    [100, 33, 'NotFound', false],
    [100, undefined, 'InvalidRequest', false],
    [230, undefined, 'ConsentRequired', false],
    [1, 1357046, 'UnknownOutcome', false],
    [1, undefined, 'TransientUpstream', true],
    [2, undefined, 'TransientUpstream', true],
    [4, undefined, 'RateLimited', true],
    [17, undefined, 'RateLimited', true],
    [32, undefined, 'RateLimited', true],
    [613, 2534040, 'RateLimited', true],
    [80002, undefined, 'RateLimited', true],
    [190, 460, 'TokenInvalid', false],
    [102, undefined, 'TokenInvalid', false],
    [104, undefined, 'TokenInvalid', false],
    [9999, undefined, 'UpstreamError', false],
  ])('%i/%s → %s (retryable %s)', (code, subcode, type, retryable) => {
    const error = mapMetaError(400, body(code, subcode));
    expect(error.type).toBe(type);
    expect(error.retryable).toBe(retryable);
    expect(error.name).toBe(type);
    expect(error.upstream).toMatchObject({ httpStatus: 400, code, fbtraceId: 'trace' });
  });

  it.each([
    [undefined, 'invalid'],
    [458, 'app_removed'],
    [459, 'checkpointed'],
    [460, 'password_changed'],
    [463, 'expired'],
    [464, 'unconfirmed_user'],
    [467, 'invalid'],
    [492, 'page_role_lost'],
  ])('190/%s is a token that is %s', (subcode, reason) => {
    expect(mapMetaError(400, body(190, subcode))).toMatchObject({ type: 'TokenInvalid', reason });
  });

  it.each([
    [2018008, 'fetch_failed'],
    [2018047, 'unsupported_type'],
    [2018109, 'too_large'],
    [2018294, 'fetch_timeout'],
  ])('100/%i is media rejected because %s', (subcode, reason) => {
    expect(mapMetaError(400, body(100, subcode))).toMatchObject({ type: 'MediaRejected', reason });
  });

  it('reads 100/2534015 as text too long when the text sent was over the limit', () => {
    const error = mapMetaError(400, body(100, 2534015), {}, { sentText: 'é'.repeat(501) });
    expect(error).toMatchObject({ type: 'TextTooLong', bytes: 1002, limit: MAX_TEXT_BYTES });
    expect(mapMetaError(400, body(100, 2534015), {}, { sentText: 'short' }).type).toBe('InvalidRequest');
  });

  it('takes the retry delay from X-Business-Use-Case-Usage, else a per-code default', () => {
    const usage = JSON.stringify({ '178414': [{ type: 'instagram', call_count: 100, estimated_time_to_regain_access: 7 }] });
    expect(mapMetaError(400, body(80002), { businessUseCaseUsage: usage })).toMatchObject({ retryAfterMs: 7 * 60_000, scope: 'account' });
    expect(mapMetaError(400, body(613, 2534040))).toMatchObject({ retryAfterMs: 1_000 });
    expect(mapMetaError(400, body(4))).toMatchObject({ retryAfterMs: 60_000, scope: 'app' });
    expect(mapMetaError(400, body(17))).toMatchObject({ scope: 'user' });
    expect(mapMetaError(400, body(32))).toMatchObject({ scope: 'page' });
  });

  it('treats unknown codes marked transient, or 5xx answers, as transient', () => {
    expect(mapMetaError(400, body(12345, undefined, { is_transient: true })).type).toBe('TransientUpstream');
    expect(mapMetaError(503, body(12345)).type).toBe('TransientUpstream');
  });

  it('never carries a token Meta echoes in its message', () => {
    const token = `EAA${'x'.repeat(40)}`;
    const error = mapMetaError(400, body(190, undefined, { message: `Malformed access token ${token}` }));
    expect(JSON.stringify(error.toJSON())).not.toContain(token);
    expect(error.message).not.toContain(token);
  });

  it('serializes to a plain object with type, retryable and the extra fields', () => {
    expect(mapMetaError(400, body(613, 2534040)).toJSON()).toMatchObject({ type: 'RateLimited', retryable: true, retryAfterMs: 1_000, scope: 'account' });
  });
});

describe('retryAfterFromUsageHeader', () => {
  it('takes the longest wait in minutes', () => {
    const header = JSON.stringify({ a: [{ estimated_time_to_regain_access: 2 }], b: [{ estimated_time_to_regain_access: 5 }] });
    expect(retryAfterFromUsageHeader(header)).toBe(300_000);
  });

  it.each([undefined, null, '', 'not json', '{"a":[{"estimated_time_to_regain_access":0}]}', '[1,2]'])('gives nothing for %p', (header) => {
    expect(retryAfterFromUsageHeader(header)).toBeUndefined();
  });
});
