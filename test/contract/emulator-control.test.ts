/** The control API itself: clock, state inspection, reset, stories and its refusals. */
import { DEMO, type Harness, type Json, startHarness } from './support/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

describe('control API', () => {
  it('moves the clock and reports it', async () => {
    const before = (await h.control('GET', '/clock')).body.now as number;
    const moved = await h.control('POST', '/clock', { advanceDays: 2 });
    expect(moved.body.now - before).toBeGreaterThanOrEqual(2 * 86_400_000);
    expect(moved.body.now - before).toBeLessThan(2 * 86_400_000 + 5_000);
    const reset = await h.control('POST', '/clock', { reset: true });
    expect(reset.body.offsetMs).toBe(0);
  });

  it('names the choices when the clock body is wrong', async () => {
    const { status, body } = await h.control('POST', '/clock', { advanceMs: 1, advanceDays: 1 });
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ type: 'EmulatorControlException', code: 100 });
    expect(body.error.message).toContain('give exactly one of advanceMs, advanceHours, advanceDays, setTo, reset');
  });

  it('shows the seeded world with tokens masked and no app secret', async () => {
    const linked = await h.linkDemoAccount();
    const { body } = await h.control('GET', '/state');
    expect(body.igAccounts).toEqual(expect.arrayContaining([expect.objectContaining({ id: DEMO.igAccount.id, username: DEMO.igAccount.username, messagesAccess: true })]));
    expect(JSON.stringify(body)).not.toContain(linked.pageToken);
    expect(JSON.stringify(body)).not.toContain('contract-test-app-secret');
    expect((body.tokens as Json[]).some((token: Json) => token.kind === 'PAGE' && token.valid === true)).toBe(true);
  });

  it('a deleted story stops opening at once', async () => {
    const story = await h.control('POST', `/ig-accounts/${DEMO.igAccount.id}/stories`);
    expect((await fetch(String(story.body.url))).status).toBe(200);
    await h.control('POST', `/stories/${String(story.body.id)}/delete`);
    expect((await fetch(String(story.body.url))).status).toBe(404);
  });

  it('refuses an Instagram-app reply to someone who is not a customer of the account', async () => {
    const { status, body } = await h.control('POST', `/ig-accounts/${DEMO.igAccount.id}/app-replies`, { to: { igsid: '42' }, text: 'hi' });
    expect(status).toBe(400);
    expect(body.error.message).toContain('no customer 42');
  });

  it('resets to the seeded world', async () => {
    await h.control('POST', '/ig-users', { username: 'temporary.user' });
    await h.control('POST', '/reset', { seedDemo: true });
    const { body } = await h.control('GET', '/state');
    expect((body.igUsers as Json[]).map((user: Json) => user.username as string)).toEqual(DEMO.customers.map((customer) => customer.username));
    expect(body.tokens).toEqual([]);
  });
});
