/**
 * The emulator's deauthorize and data-deletion callbacks (META-API 4.3): a user removing the app makes it post the
 * app's deauthorize URL, a deletion request the data-deletion URL; both as a form with a signed_request that an
 * independent HMAC with the app secret verifies; the control answer reports what the app answered.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { APP_ID, APP_SECRET, closeServer, DEMO, listen, startHarness, type Harness, type Json } from './support/harness';

interface Received {
  path: string;
  contentType: string;
  body: string;
}

/** An app's callback endpoint: records each POST and answers what the test sets. */
async function startCallbackReceiver(): Promise<{ url: string; received: Received[]; answer: { status: number; body: string }; close(): Promise<void> }> {
  const receiver = { url: '', received: [] as Received[], answer: { status: 200, body: '{}' }, close: () => closeServer(server) };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      receiver.received.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = receiver.answer.status;
      res.setHeader('content-type', 'application/json');
      res.end(receiver.answer.body);
    });
  });
  receiver.url = await listen(server);
  return receiver;
}

const fromBase64Url = (segment: string): Buffer => Buffer.from(segment.replaceAll('-', '+').replaceAll('_', '/'), 'base64');

/** Checks the signature over the payload segment as sent, and answers the payload. */
function verified(body: string, secret: string): Json {
  const signedRequest = new URLSearchParams(body).get('signed_request')!;
  const [signature, payload] = signedRequest.split('.') as [string, string];
  expect(signature).not.toContain('=');
  expect(payload).not.toContain('=');
  expect(fromBase64Url(signature)).toEqual(createHmac('sha256', secret).update(payload).digest());
  return JSON.parse(fromBase64Url(payload).toString('utf8'));
}

let h: Harness;
let app: Awaited<ReturnType<typeof startCallbackReceiver>>;

beforeAll(async () => {
  h = await startHarness();
  app = await startCallbackReceiver();
});

afterAll(async () => {
  await h.close();
  await app.close();
});

beforeEach(async () => {
  app.received.length = 0;
  app.answer = { status: 200, body: '{}' };
  const patched = await h.control('PATCH', `/apps/${APP_ID}`, { deauthorizeCallbackUrl: `${app.url}/meta/deauthorize`, dataDeletionCallbackUrl: `${app.url}/meta/data-deletion` });
  expect(patched.status).toBe(200);
});

describe('deauthorize callback', () => {
  it('is posted when the user removes the app, signed with the app secret, and its delivery is reported', async () => {
    await h.linkDemoAccount();
    const before = Math.floor(h.emulator.clock.now() / 1000);
    const { status, body } = await h.control('POST', `/fb-users/${DEMO.user.id}/remove-app`, { appId: APP_ID });
    expect(status).toBe(200);
    expect(body.tokensInvalidated).toBeGreaterThanOrEqual(2);
    expect(body.deauthorize).toMatchObject({ kind: 'deauthorize', callbackUrl: `${app.url}/meta/deauthorize`, delivered: true, status: 200 });

    expect(app.received).toHaveLength(1);
    const [received] = app.received;
    expect(received).toMatchObject({ path: '/meta/deauthorize', contentType: 'application/x-www-form-urlencoded' });
    const payload = verified(received!.body, APP_SECRET);
    expect(payload).toEqual({ algorithm: 'HMAC-SHA256', issued_at: expect.any(Number), user_id: DEMO.user.id });
    expect(payload.issued_at).toBeGreaterThanOrEqual(before);
    expect(payload.issued_at).toBeLessThanOrEqual(before + 5);
  });

  it("reports the app's refusal, and sends nothing for a user who never authorized the app", async () => {
    await h.linkDemoAccount();
    app.answer = { status: 400, body: '{"error":{"type":"InvalidSignedRequest"}}' };
    const refused = await h.control('POST', `/fb-users/${DEMO.user.id}/remove-app`, { appId: APP_ID });
    expect(refused.body.deauthorize).toMatchObject({ delivered: false, status: 400, problem: expect.stringContaining('answered 400: {"error"') });

    const stranger = await h.control('POST', '/businesses', { user: { name: 'Sam', email: `sam-${Date.now()}@example.com`, password: 'pw' }, business: { name: 'Sam Co' }, pages: [{ name: 'Sam page' }] });
    const never = await h.control('POST', `/fb-users/${stranger.body.user.id}/remove-app`, { appId: APP_ID });
    expect(never.body).toEqual({ tokensInvalidated: 0, deauthorize: null });
    expect(app.received).toHaveLength(1);
  });

  it('reports an app without a deauthorize URL, and an unknown app', async () => {
    await h.control('PATCH', `/apps/${APP_ID}`, { deauthorizeCallbackUrl: null });
    await h.linkDemoAccount();
    const { body } = await h.control('POST', `/fb-users/${DEMO.user.id}/remove-app`, { appId: APP_ID });
    expect(body.deauthorize).toMatchObject({ delivered: false, problem: 'the app has no deauthorize callback URL' });
    const unknown = await h.control('POST', `/fb-users/${DEMO.user.id}/remove-app`, { appId: '999' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('no app 999');
  });
});

describe('data-deletion callback', () => {
  it("is posted on the user's request and answers the app's {url, confirmation_code}", async () => {
    app.answer = { status: 200, body: JSON.stringify({ url: 'https://engine.example/meta/data-deletion/abc123', confirmation_code: 'abc123' }) };
    const { status, body } = await h.control('POST', `/fb-users/${DEMO.user.id}/data-deletion`, { appId: APP_ID });
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'data_deletion', delivered: true, status: 200, url: 'https://engine.example/meta/data-deletion/abc123', confirmation_code: 'abc123' });
    expect(app.received.map((received) => received.path)).toEqual(['/meta/data-deletion']);
    expect(verified(app.received[0]!.body, APP_SECRET)).toMatchObject({ algorithm: 'HMAC-SHA256', user_id: DEMO.user.id });
  });

  it('does not count an answer without the fields Meta requires', async () => {
    for (const [answer, problem] of [
      ['{}', 'url: '],
      ['not json', 'not JSON'],
      [JSON.stringify({ url: 'https://x', confirmation_code: 'has spaces' }), 'confirmation_code: must be alphanumeric'],
    ] as const) {
      app.answer = { status: 200, body: answer };
      const { body } = await h.control('POST', `/fb-users/${DEMO.user.id}/data-deletion`, { appId: APP_ID });
      expect(body).toMatchObject({ delivered: false, status: 200, problem: expect.stringContaining(problem) });
    }
  });

  it('refuses an unknown user and reports an app without the URL', async () => {
    const unknown = await h.control('POST', '/fb-users/42/data-deletion', { appId: APP_ID });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('no Facebook user 42');
    await h.control('PATCH', `/apps/${APP_ID}`, { dataDeletionCallbackUrl: null });
    const { body } = await h.control('POST', `/fb-users/${DEMO.user.id}/data-deletion`, { appId: APP_ID });
    expect(body).toMatchObject({ delivered: false, problem: 'the app has no data deletion callback URL' });
    expect(app.received).toEqual([]);
  });
});
