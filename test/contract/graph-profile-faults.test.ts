/**
 * The emulator's Profile API fault switches (`/_emulator/faults/profile-api`), seen through the engine's Graph
 * client: a slow answer, a hang, Meta's transient error and its permanent refusals, each in Meta's shape.
 */
import { ConsentRequiredError, NotFoundError, TransientUpstreamError } from '../../src/domain/errors';
import { DEMO, type Harness, makeClient, startHarness, rejection } from './support/harness';

let h: Harness;
let pageToken: string;
let mina: string;
let anon: string;

beforeAll(async () => {
  h = await startHarness();
  ({ pageToken } = await h.linkDemoAccount());
  mina = (await h.customer({ kind: 'text', text: 'hello' })).igsid;
  anon = (await h.customer({ kind: 'text', text: 'hi' }, { username: DEMO.customers[1].username })).igsid;
});

afterAll(async () => {
  await h.close();
});

beforeEach(async () => {
  await h.control('DELETE', '/faults/profile-api');
});

const profileOf = (igsid: string, client = h.client) => client.getUserProfile({ igsid, accessToken: pageToken });

describe('Profile API faults', () => {
  it('slow: holds the answer, then serves the profile', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'slow', count: 1, hangMs: 400 });
    const started = Date.now();
    await expect(profileOf(mina)).resolves.toMatchObject({ username: DEMO.customers[0].username });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('slow: a client that gives up first gets a transient timeout; the next call is served at once', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'slow', count: 1, hangMs: 5_000 });
    const impatient = makeClient(h.baseUrl, { timeoutMs: 300 });
    const error = await rejection(profileOf(mina, impatient), TransientUpstreamError);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/timed out after 300 ms/);
    expect(error.message).not.toContain(pageToken);
    await expect(profileOf(mina, impatient)).resolves.toMatchObject({ username: DEMO.customers[0].username });
  });

  it('a timeout given with the call wins over the client\'s own', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'slow', count: 1, hangMs: 5_000 });
    const started = Date.now();
    const error = await rejection(h.client.getUserProfile({ igsid: mina, accessToken: pageToken, timeoutMs: 300 }), TransientUpstreamError);
    expect(error.message).toMatch(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('timeout: holds the call and drops the connection', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'timeout', count: 1, hangMs: 200 });
    const error = await rejection(profileOf(mina), TransientUpstreamError);
    expect(error.message).toMatch(/network error/);
  });

  it('transient: Meta code 2 with is_transient, HTTP 500 → a retryable TransientUpstream', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'transient', count: 1 });
    const raw = await fetch(`${h.baseUrl}/v25.0/${mina}?fields=username`, { headers: { authorization: `Bearer ${pageToken}` } });
    expect(raw.status).toBe(500);
    const body = (await raw.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ code: 2, is_transient: true, type: 'OAuthException' });
    expect(body.error.fbtrace_id).toEqual(expect.any(String));

    await h.control('PUT', '/faults/profile-api', { mode: 'transient', count: 1 });
    const error = await rejection(profileOf(mina), TransientUpstreamError);
    expect(error.retryable).toBe(true);
    expect(error.upstream).toMatchObject({ code: 2, httpStatus: 500 });
    await expect(profileOf(mina)).resolves.toMatchObject({ id: mina });
  });

  it('refusal consent_required: 230, permanent', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'refusal', refusal: 'consent_required', count: 1 });
    const error = await rejection(profileOf(mina), ConsentRequiredError);
    expect(error.retryable).toBe(false);
    expect(error.upstream).toMatchObject({ code: 230, httpStatus: 400 });
  });

  it('refusal not_found: 100/33, permanent', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'refusal', refusal: 'not_found', rate: 1 });
    const error = await rejection(profileOf(mina), NotFoundError);
    expect(error.retryable).toBe(false);
    expect(error.upstream).toMatchObject({ code: 100, subcode: 33 });
    // A rate keeps failing until cleared.
    await rejection(profileOf(anon), NotFoundError);
    await h.control('DELETE', '/faults/profile-api');
    await expect(profileOf(mina)).resolves.toMatchObject({ id: mina });
  });

  it('narrowed to one customer, other customers are served', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'transient', rate: 1, igsid: mina });
    await expect(profileOf(anon)).resolves.toMatchObject({ id: anon });
    await rejection(profileOf(mina), TransientUpstreamError);
  });

  it('leaves the Send API alone, and the Send API faults leave the Profile API alone', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'transient', rate: 1 });
    await expect(h.client.sendMessage({ accessToken: pageToken, recipientId: mina, message: { kind: 'text', text: 'still sends' } })).resolves.toHaveProperty('messageId');
    await h.control('DELETE', '/faults/profile-api');
    await h.control('PUT', '/faults/send-api', { mode: 'transient_1', rate: 1 });
    await expect(profileOf(mina)).resolves.toMatchObject({ id: mina });
    await h.control('DELETE', '/faults/send-api');
  });

  it('an unauthorized call gets its own refusal, not the fault', async () => {
    await h.control('PUT', '/faults/profile-api', { mode: 'transient', count: 1 });
    await rejection(h.client.getUserProfile({ igsid: mina, accessToken: 'not-a-token' }), Error);
    // The count was not used by the refused call.
    expect((await h.control('GET', '/faults/profile-api')).body.rule).toMatchObject({ mode: 'transient', remaining: 1 });
  });

  it('shows, refuses and clears rules through the control API; a reset clears them too', async () => {
    const refused = await h.control('PUT', '/faults/profile-api', { mode: 'refusal', count: 1 });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'EmulatorControlException' });
    expect(refused.body.error.message).toMatch(/refusal/);
    const neither = await h.control('PUT', '/faults/profile-api', { mode: 'slow' });
    expect(neither.body.error.message).toMatch(/count or rate/);

    const set = await h.control('PUT', '/faults/profile-api', { mode: 'slow', count: 2, hangMs: 12_000 });
    expect(set.body.rule).toMatchObject({ mode: 'slow', count: 2, remaining: 2, hangMs: 12_000 });
    await h.control('POST', '/reset', { seedDemo: true });
    expect((await h.control('GET', '/faults/profile-api')).body.rule).toBeNull();
  });
});
