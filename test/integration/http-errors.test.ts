/**
 * A client's mistake is a 4xx that names it, on every kind of route (the inbox API, the webhook, Meta's callbacks,
 * diagnostics, health, docs, metrics, media): bad percent-encoding, a body that is not what its Content-Encoding
 * says or an encoding the API does not read, the wrong Content-Type, a method the path does not serve, a body too
 * large or nested too deep, a path that does not exist. A 500 is a fault of the engine: logged once under an id the
 * answer carries, nothing of its internals in the answer. Links from Meta are served only when they are web
 * addresses. Requests go over plain HTTP (node:http), so that paths, methods and bytes go out exactly as written.
 */
import { createHmac } from 'node:crypto';
import { request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/logger';
import { startEngine, testConfig, type RunningEngine } from '../support/engine';
import { createInboxFixtures, uid, type InboxFixtures, type Json, type TestChannel } from '../support/inbox-fixtures';

jest.setTimeout(120_000);

const OPERATOR_TOKEN = 'operator-token-for-http-error-tests';
const WEBHOOK_MAX_BODY_BYTES = 64 * 1024;
const BAD_ENCODING = '%E0%A4%A';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: Json;
}

/** One request as written: the path is not normalised, the body is sent byte for byte. */
function send(baseUrl: string, method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = request({ hostname, port, method, path, headers: { ...options.headers, ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Json = {};
        if ((response.headers['content-type'] ?? '').includes('json') && text !== '') body = JSON.parse(text);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body });
      });
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** What every refusal must look like: the status, the one JSON error body with the type, nothing of our internals. */
function expectRefusal(answer: Answer, status: number, type: string): void {
  expect({ status: answer.status, type: answer.body.error?.type }).toEqual({ status, type });
  expect(answer.headers['content-type']).toContain('application/json');
  expect(typeof answer.body.error.message).toBe('string');
  expect(answer.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|Error:/);
}

/** `{"a":{"a":…}}` nested `depth` levels. */
const nestedJson = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('HTTP errors', () => {
  let engine: RunningEngine;
  let fixtures: InboxFixtures;
  let mine: TestChannel;
  let conversationId = '';
  const igAccountId = `ig-${uid()}`;
  const igsid = `igsid-${uid()}`;

  const call = (method: string, path: string, options?: Parameters<typeof send>[3]) => send(engine.baseUrl, method, path, options);
  const withKey = (headers: Record<string, string> = {}) => ({ authorization: `Bearer ${mine.apiKey}`, ...headers });
  const membersPath = () => `/v1/channels/${mine.channelId}/members`;
  const sign = (body: string | Buffer) => `sha256=${createHmac('sha256', engine.config.meta.appSecret).update(body).digest('hex')}`;

  beforeAll(async () => {
    engine = await startEngine({ config: testConfig({ OPERATOR_TOKEN, WEBHOOK_MAX_BODY_BYTES: String(WEBHOOK_MAX_BODY_BYTES) }), worker: false });
    fixtures = createInboxFixtures(engine.models);
    mine = await fixtures.channel('errors');
    await fixtures.linkAccount(igAccountId, mine.channelId);
    await fixtures.customer(igAccountId, igsid, mine.channelId);
    const [conversation] = await fixtures.conversations({ channelId: mine.channelId, igAccountId, igsid }, [{ openedAt: new Date(Date.UTC(2026, 1, 1)), lastMessageAt: new Date(Date.UTC(2026, 1, 1, 1)) }]);
    conversationId = conversation!.conversationId;
  });

  afterAll(async () => {
    await engine?.stop();
  });

  describe('a path parameter that is not valid percent-encoding', () => {
    it.each([
      ['GET', `/v1/conversations/${BAD_ENCODING}`, true],
      ['GET', `/v1/conversations/${BAD_ENCODING}`, false],
      ['GET', `/v1/diagnostics/round-trip/${BAD_ENCODING}`, false],
      ['POST', `/v1/conversations/%FF/messages`, true],
      ['GET', `/v1/customers/%C0%AF/${BAD_ENCODING}`, false],
      ['DELETE', `/v1/customers/x/%E0%80/merge`, true],
      ['PATCH', `/v1/conversations/${BAD_ENCODING}`, false],
      ['GET', `/media/${BAD_ENCODING}`, false],
      ['GET', `/meta/data-deletion/${BAD_ENCODING}`, false],
    ])('%s %s (with a key: %s) is 400 InvalidPathEncoding', async (method, path, keyed) => {
      const answer = await call(method, path, { headers: keyed ? withKey({ 'content-type': 'application/json' }) : { 'content-type': 'application/json' }, body: method === 'GET' || method === 'DELETE' ? undefined : '{"text":"hi"}' });
      expectRefusal(answer, 400, 'InvalidPathEncoding');
      expect(answer.body.error.message).toContain('percent-encoded');
    });
  });

  it('a query value that is not valid percent-encoding is read as it came, and refused for what it is', async () => {
    const answer = await call('GET', `/v1/channels/${mine.channelId}/conversations?cursor=${BAD_ENCODING}&limit=%FF`, { headers: withKey() });
    expectRefusal(answer, 400, 'ValidationFailed');
    expect(answer.body.error.details.problems.join('; ')).toMatch(/query\.(cursor|limit)/);
  });

  describe('Content-Encoding', () => {
    const garbage = Buffer.from('this is not gzip at all');
    const truncated = gzipSync(Buffer.from(JSON.stringify({ name: 'Kim' }))).subarray(0, 12);

    it.each([
      ['an inbox route', () => ({ method: 'POST', path: membersPath(), headers: withKey({ 'content-type': 'application/json' }) })],
      ['the webhook', () => ({ method: 'POST', path: '/webhooks/instagram', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(garbage) } })],
      ['a Meta callback', () => ({ method: 'POST', path: '/meta/deauthorize', headers: { 'content-type': 'application/x-www-form-urlencoded' } })],
      ['diagnostics', () => ({ method: 'POST', path: '/v1/diagnostics/round-trip', headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' } })],
    ])('gzip that is not gzip is 400 InvalidContentEncoding on %s, and so is cut-off gzip', async (_name, route) => {
      const { method, path, headers } = route();
      for (const body of [garbage, truncated]) {
        const answer = await call(method, path, { headers: { ...headers, 'content-encoding': 'gzip' }, body });
        expectRefusal(answer, 400, 'InvalidContentEncoding');
        expect(answer.body.error.message).toContain('gzip');
      }
    });

    it('reads a body that is gzip as it says', async () => {
      const answer = await call('POST', membersPath(), { headers: withKey({ 'content-type': 'application/json', 'content-encoding': 'gzip' }), body: gzipSync(JSON.stringify({ name: 'Gzip Kim' })) });
      expect(answer.status).toBe(201);
      expect(answer.body.member.name).toBe('Gzip Kim');
    });

    it.each([
      ['an inbox route', () => ({ path: membersPath(), headers: withKey({ 'content-type': 'application/json' }) })],
      ['the webhook', () => ({ path: '/webhooks/instagram', headers: { 'content-type': 'application/json' } })],
      ['a Meta callback', () => ({ path: '/meta/data-deletion', headers: { 'content-type': 'application/x-www-form-urlencoded' } })],
    ])('an encoding the API does not read is 415 UnsupportedEncoding on %s', async (_name, route) => {
      const { path, headers } = route();
      for (const encoding of ['compress', 'x-custom']) {
        const answer = await call('POST', path, { headers: { ...headers, 'content-encoding': encoding }, body: '{"name":"x"}' });
        expectRefusal(answer, 415, 'UnsupportedEncoding');
        expect(answer.body.error.message).toContain(encoding);
      }
    });

    it('a compressed multipart upload is 415 UnsupportedEncoding', async () => {
      const boundary = 'b0undary';
      const body = gzipSync(`--${boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nhi\r\n--${boundary}--\r\n`);
      const answer = await call('POST', `/v1/conversations/${conversationId}/messages`, { headers: withKey({ 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-encoding': 'gzip' }), body });
      expectRefusal(answer, 415, 'UnsupportedEncoding');
    });

    it('a charset the API does not read is 415 UnsupportedCharset', async () => {
      const answer = await call('POST', membersPath(), { headers: withKey({ 'content-type': 'application/json; charset=klingon' }), body: '{"name":"x"}' });
      expectRefusal(answer, 415, 'UnsupportedCharset');
    });
  });

  it.each([
    ['text/plain', membersPath],
    ['application/x-www-form-urlencoded', membersPath],
    [null, membersPath],
    ['text/plain', () => `/v1/conversations/${conversationId}/messages`],
  ])('a body of Content-Type %s where JSON is read is 415 UnsupportedMediaType', async (contentType, path) => {
    const answer = await call('POST', path(), { headers: withKey(contentType === null ? {} : { 'content-type': contentType }), body: '{"name":"x","text":"x"}' });
    expectRefusal(answer, 415, 'UnsupportedMediaType');
    expect(answer.body.error.message).toContain('application/json');
  });

  describe('a method the path does not serve', () => {
    it.each([
      ['PUT', '/v1/conversations/{conversation}', 'GET, HEAD'],
      ['DELETE', '/v1/channels/{channel}/members', 'GET, HEAD, POST'],
      ['PUT', '/v1/customers/a/b/merge', 'DELETE, POST'],
      ['GET', '/v1/diagnostics/round-trip', 'POST'],
      ['HEAD', '/v1/diagnostics/round-trip', 'POST'],
      ['PATCH', '/webhooks/instagram', 'GET, HEAD, POST'],
      ['GET', '/meta/deauthorize', 'POST'],
      ['PUT', '/meta/data-deletion/some-code', 'GET, HEAD'],
      ['DELETE', '/healthz', 'GET, HEAD'],
      ['POST', '/readyz', 'GET, HEAD'],
      ['POST', '/metrics', 'GET, HEAD'],
      ['POST', '/openapi.json', 'GET, HEAD'],
      ['DELETE', '/docs', 'GET, HEAD'],
      ['POST', '/docs/assets/swagger-ui.css', 'GET, HEAD'],
      ['POST', '/media/0123', 'GET, HEAD'],
      ['PUT', '/V1/ME/', 'GET, HEAD'],
    ])('%s %s is 405 with Allow: %s', async (method, template, allow) => {
      const path = template.replace('{conversation}', conversationId).replace('{channel}', mine.channelId);
      const answer = await call(method, path, { headers: { 'content-type': 'application/json' }, body: method === 'GET' || method === 'HEAD' ? undefined : '{}' });
      expect({ status: answer.status, allow: answer.headers.allow }).toEqual({ status: 405, allow });
      if (method !== 'HEAD') {
        expectRefusal(answer, 405, 'MethodNotAllowed');
        expect(answer.body.error.message).toContain(allow);
      }
    });

    it('still answers OPTIONS with the methods of the path', async () => {
      const answer = await call('OPTIONS', membersPath());
      expect(answer.status).toBe(200);
      expect(answer.headers.allow).toBe('GET, HEAD, POST');
    });
  });

  describe('too large', () => {
    it('an inbox body over 256 KB is 413, and so is a small gzip that inflates past it', async () => {
      const large = JSON.stringify({ name: 'x'.repeat(300 * 1024) });
      expectRefusal(await call('POST', membersPath(), { headers: withKey({ 'content-type': 'application/json' }), body: large }), 413, 'PayloadTooLarge');
      const bomb = gzipSync(Buffer.from(`{"name":"${' '.repeat(2 * 1024 * 1024)}"}`));
      expect(bomb.length).toBeLessThan(16 * 1024);
      expectRefusal(await call('POST', membersPath(), { headers: withKey({ 'content-type': 'application/json', 'content-encoding': 'gzip' }), body: bomb }), 413, 'PayloadTooLarge');
    });

    it('a webhook delivery over its limit is 413 and a Meta callback over 16 KB is 413', async () => {
      const delivery = JSON.stringify({ object: 'instagram', entry: [{ id: 'x', padding: 'x'.repeat(WEBHOOK_MAX_BODY_BYTES) }] });
      expectRefusal(await call('POST', '/webhooks/instagram', { headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(delivery) }, body: delivery }), 413, 'PayloadTooLarge');
      const form = `signed_request=${'a'.repeat(17 * 1024)}`;
      expectRefusal(await call('POST', '/meta/deauthorize', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form }), 413, 'PayloadTooLarge');
    });
  });

  describe("what node's HTTP parser refuses before the API sees it", () => {
    it('a URL longer than the server accepts is 431 HeadersTooLarge with the JSON error body', async () => {
      expectRefusal(await call('GET', `/v1/conversations/${'x'.repeat(20_000)}`, { headers: withKey() }), 431, 'HeadersTooLarge');
    });

    it('a request that is not HTTP is 400 MalformedRequest with the JSON error body, and the connection closed', async () => {
      const { port } = new URL(engine.baseUrl);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n'));
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(answer).toContain('Content-Type: application/json');
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Json;
      expect(body.error.type).toBe('MalformedRequest');
    });
  });

  describe('nested too deep', () => {
    it('an inbox body nested 10,000 deep is 400 JsonTooDeep naming the limit; 60 deep is read (and refused for its fields)', async () => {
      const deep = await call('POST', membersPath(), { headers: withKey({ 'content-type': 'application/json' }), body: `{"name":"x","note":${nestedJson(10_000)}}` });
      expectRefusal(deep, 400, 'JsonTooDeep');
      expect(deep.body.error.message).toContain('64 levels');
      const shallow = await call('POST', membersPath(), { headers: withKey({ 'content-type': 'application/json' }), body: `{"name":"x","note":${nestedJson(60)}}` });
      expectRefusal(shallow, 400, 'ValidationFailed');
    });

    it('a signed delivery nested 10,000 deep inside an entry is stored as an invalid event with the reason (Meta signed it: never refused for good, never a 503 loop); unsigned it is 401 and stores nothing', async () => {
      const delivery = `{"object":"instagram","entry":[{"id":"17841400000000777","time":1795305599000,"messaging":[{"sender":{"id":"1234567890123456"},"recipient":{"id":"17841400000000777"},"timestamp":1795305599000,"message":{"mid":"mid-deep-${uid()}","text":${nestedJson(10_000)}}}]}]}`;
      const before = await engine.models.webhookEvents.countDocuments({});
      expectRefusal(await call('POST', '/webhooks/instagram', { headers: { 'content-type': 'application/json' }, body: delivery }), 401, 'InvalidSignature');
      expect(await engine.models.webhookEvents.countDocuments({})).toBe(before);
      const signed = await call('POST', '/webhooks/instagram', { headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(delivery) }, body: delivery });
      expect(signed.status).toBe(200);
      const stored = await engine.models.webhookEvents.find({ status: 'invalid', problem: /nests \d+ levels deep/ }).lean();
      expect(stored).toHaveLength(1);
      expect(JSON.stringify(stored[0]!.payload)).toContain('mid-deep-');
    });
  });

  it.each(['/nowhere', '/v1/nothing/here', `/v1/conversations/x/unknown`, '/docs/assets/index.html', '/webhooks/instagram/extra'])('an unknown path %s is 404 NotFound in JSON', async (path) => {
    expectRefusal(await call('GET', path, { headers: withKey() }), 404, 'NotFound');
  });

  describe('a fault of the engine', () => {
    let server: Server;
    let faultyUrl = '';
    const lines: string[] = [];

    beforeAll(async () => {
      // The real app, with a database read that fails the way a bug does (not a refusal of ours).
      const brokenProbes = {
        findOne: () => {
          throw new TypeError("Cannot read properties of undefined (reading 'probeId') at /srv/engine/src/secret-internals.ts:42");
        },
      };
      const app = createApp({
        config: engine.config,
        logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
        temporal: { client: engine.temporal, ping: async () => undefined, close: async () => undefined },
        database: engine.database,
        models: { ...engine.models, roundTripProbes: brokenProbes } as never,
        dispatcher: engine.dispatcher,
        metrics: engine.metrics.api,
      });
      server = await new Promise((resolve) => {
        const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
      });
      faultyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('is 500 InternalError with an id, no internals in the answer, and one log line under that id', async () => {
      const answer = await send(faultyUrl, 'GET', '/v1/diagnostics/round-trip/probe-1', { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
      expectRefusal(answer, 500, 'InternalError');
      const { errorId } = answer.body.error;
      expect(errorId).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.body.error.message).toContain(errorId);
      expect(answer.text).not.toMatch(/TypeError|probeId|secret-internals/);

      const aboutIt = lines.filter((line) => line.includes('/v1/diagnostics/round-trip/probe-1'));
      expect(aboutIt).toHaveLength(1);
      const logged = JSON.parse(aboutIt[0]!);
      expect(logged).toMatchObject({ level: 'error', msg: 'internal error', errorId, method: 'GET', path: '/v1/diagnostics/round-trip/probe-1' });
      expect(logged.error.message).toContain("reading 'probeId'");
    });

    it('a client mistake on the same app is still its 4xx, logged at info once', async () => {
      const answer = await send(faultyUrl, 'GET', `/v1/diagnostics/round-trip/${BAD_ENCODING}`);
      expectRefusal(answer, 400, 'InvalidPathEncoding');
      const aboutIt = lines.filter((line) => line.includes(BAD_ENCODING));
      expect(aboutIt.map((line) => JSON.parse(line)).map(({ level, msg, status }) => ({ level, msg, status }))).toEqual([{ level: 'info', msg: 'request refused', status: 400 }]);
    });
  });

  describe('links from Meta', () => {
    const unsafe = ['javascript:alert(document.cookie)', 'file:///etc/passwd', 'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)', 'JaVaScRiPt:alert(1)', 'java\nscript:alert(1)'];
    const safe = 'https://cdn.example/ok.jpg?oh=1&oe=2';
    let linkIgsid = '';
    let linkConversationId = '';
    let messageId = '';

    beforeAll(async () => {
      linkIgsid = `igsid-links-${uid()}`;
      await fixtures.customer(igAccountId, linkIgsid, mine.channelId, { profilePicUrl: 'javascript:alert(1)' });
      const [conversation] = await fixtures.conversations({ channelId: mine.channelId, igAccountId, igsid: linkIgsid }, [{ openedAt: new Date(Date.UTC(2026, 1, 2)), lastMessageAt: new Date(Date.UTC(2026, 1, 2, 1)) }]);
      linkConversationId = conversation!.conversationId;
      const [message] = await fixtures.messages(conversation!, 1, new Date(Date.UTC(2026, 1, 2, 1)));
      messageId = message!.messageId;
      const attachments = [...unsafe, safe].map((url) => ({ type: 'file', url, title: null, mediaId: null }));
      await engine.models.messages.updateOne({ _id: messageId }, { $set: { kind: 'story_reply', attachments, story: { id: 's1', url: 'data:text/html;base64,PHNjcmlwdD4=', expiresAt: Date.now() + 3_600_000 } } });
    });

    it('serves only the https link of the attachments; each other one is null with a marker naming its scheme', async () => {
      const answer = await call('GET', `/v1/conversations/${linkConversationId}/messages/${messageId}`, { headers: withKey() });
      expect(answer.status).toBe(200);
      const { attachments, story } = answer.body.message;
      expect(attachments.map((attachment: Json) => ({ url: attachment.url, urlRemoved: attachment.urlRemoved }))).toEqual([
        { url: null, urlRemoved: { reason: 'UnsafeScheme', scheme: 'javascript' } },
        { url: null, urlRemoved: { reason: 'UnsafeScheme', scheme: 'file' } },
        { url: null, urlRemoved: { reason: 'UnsafeScheme', scheme: 'data' } },
        { url: null, urlRemoved: { reason: 'UnsafeScheme', scheme: 'vbscript' } },
        { url: null, urlRemoved: { reason: 'UnsafeScheme', scheme: 'javascript' } },
        { url: null, urlRemoved: { reason: 'UnsafeScheme', scheme: 'javascript' } },
        { url: safe, urlRemoved: null },
      ]);
      expect(story).toMatchObject({ id: 's1', url: null, urlRemoved: { reason: 'UnsafeScheme', scheme: 'data' }, available: true });
      expect(answer.text).not.toMatch(/javascript:|vbscript:|file:|data:text/i);
      const listed = await call('GET', `/v1/conversations/${linkConversationId}/messages`, { headers: withKey() });
      expect(listed.text).not.toMatch(/javascript:|vbscript:|file:|data:text/i);
      expect(listed.text).toContain(safe);
    });

    it("withholds the customer's picture link in every answer that shows the customer", async () => {
      const customer = await call('GET', `/v1/customers/${igAccountId}/${linkIgsid}`, { headers: withKey() });
      expect(customer.body.customer).toMatchObject({ profilePicUrl: null, profilePicUrlRemoved: { reason: 'UnsafeScheme', scheme: 'javascript' } });
      const conversation = await call('GET', `/v1/conversations/${linkConversationId}`, { headers: withKey() });
      expect(conversation.body.conversation.customer).toMatchObject({ profilePicUrl: null, profilePicUrlRemoved: { reason: 'UnsafeScheme', scheme: 'javascript' } });
      const list = await call('GET', `/v1/channels/${mine.channelId}/conversations`, { headers: withKey() });
      expect(list.text).not.toContain('javascript:');
      const kept = await call('GET', `/v1/customers/${igAccountId}/${igsid}`, { headers: withKey() });
      expect(kept.body.customer).toMatchObject({ profilePicUrl: 'https://cdn.example/p.jpg', profilePicUrlRemoved: null });
    });

    it('keeps what came in the database', async () => {
      const stored = await engine.models.messages.findById(messageId).lean<Json>();
      expect(stored!.attachments.map((attachment: Json) => attachment.url)).toEqual([...unsafe, safe]);
      expect((await engine.models.customers.findOne({ igsid: linkIgsid }).lean<Json>())!.profilePicUrl).toBe('javascript:alert(1)');
    });
  });
});
