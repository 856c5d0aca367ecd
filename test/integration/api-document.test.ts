/**
 * The API document and the API agree. `/openapi.json` is a valid OpenAPI 3.1 document; every route the Express
 * app registers is in it and everything in it is a registered route; and every documented operation, called on a
 * running engine (API, worker, Temporal, database), answers with a status the document gives and a body that the
 * document's schema for that status accepts.
 */
import { createHmac, randomInt } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import type { Express } from 'express';
import { createApp } from '../../src/api/app';
import type { OpenApiDocument } from '../../src/api/openapi';
import { createNoticeBoard } from '../../src/notices/notice-board';
import { startEngine, testConfig, type RunningEngine } from '../support/engine';
import { createApiCaller, createInboxFixtures, uid, type ApiCaller, type Json, type TestChannel } from '../support/inbox-fixtures';
import { dialogRedirect } from '../../scripts/lib/login-dialog';
import { startTestEmulator, type TestEmulator } from '../support/test-emulator';
import openApi31Schema from '@seriousme/openapi-schema-validator/schemas/v3.1/schema.json';

jest.setTimeout(120_000);

const OPERATOR_TOKEN = 'operator-token-for-document-tests';
const APP_ID = '100000000000001';
const APP_SECRET = 'document-test-app-secret';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  slash?: boolean;
}

/** `METHOD /path` of every route the app registers, found by walking its router (and routers mounted at the root). */
function registeredRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: RouterLayer[]): void => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths) for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) {
        // A router mounted under a prefix would need the prefix here; the app mounts its routers at the root.
        expect(layer.slash).toBe(true);
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack);
  return found.sort();
}

function documentedRoutes(document: OpenApiDocument): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, operations]) => Object.keys(operations).filter((key) => (METHODS as readonly string[]).includes(key)).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

describe('the API document', () => {
  let engine: RunningEngine;
  let document: OpenApiDocument;
  let call: ApiCaller;
  let emulator: TestEmulator;

  beforeAll(async () => {
    // Meta's stand-in, for the routes that call it (Facebook Login).
    emulator = await startTestEmulator({ appId: APP_ID, appSecret: APP_SECRET, verifyToken: 'document-verify-token', webhookUrl: 'http://127.0.0.1:9/webhooks/instagram' });
    engine = await startEngine({
      config: testConfig({ OPERATOR_TOKEN, GRAPH_API_URL: emulator.url, META_LOGIN_DIALOG_URL: `${emulator.url}/dialog/oauth`, META_APP_ID: APP_ID, META_APP_SECRET: APP_SECRET, META_WEBHOOK_VERIFY_TOKEN: 'document-verify-token' }),
    });
    call = createApiCaller(engine.baseUrl);
    const answer = await call('GET', '/openapi.json');
    expect(answer.status).toBe(200);
    document = answer.body as OpenApiDocument;
  });

  afterAll(async () => {
    await engine?.stop();
    await emulator?.close();
  });

  it('is a valid OpenAPI 3.1 document whose schemas are valid JSON Schema (draft 2020-12)', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    const validate = ajv.compile(openApi31Schema);
    expect(validate(document) ? [] : validate.errors).toEqual([]);
    expect(document.openapi).toBe('3.1.0');
    // The check has teeth: a document without its info, or with an operation that has no responses, is refused.
    expect(validate({ ...document, info: undefined })).toBe(false);
    expect(validate({ ...document, paths: { '/x': { get: { responses: 'none' } } } })).toBe(false);
    // Each schema compiles (ajv checks it against the 2020-12 meta-schema), with its references resolved.
    const schemas = new Ajv2020({ strict: false, validateFormats: false });
    schemas.addSchema({ $id: 'https://api.test/openapi.json', components: document.components });
    for (const name of Object.keys(document.components.schemas)) expect(() => schemas.compile({ $ref: `https://api.test/openapi.json#/components/schemas/${name}` })).not.toThrow();
  });

  it('lists exactly the routes the app registers, and the app registers exactly the routes it lists', () => {
    const app = createApp({
      config: engine.config,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never,
      temporal: { client: engine.temporal, ping: async () => undefined, close: async () => undefined },
      database: engine.database,
      models: engine.models,
      dispatcher: engine.dispatcher,
      metrics: engine.metrics.api,
    });
    const registered = registeredRoutes(app);
    const documented = documentedRoutes(document);
    expect(registered.filter((route) => !documented.includes(route))).toEqual([]);
    expect(documented.filter((route) => !registered.includes(route))).toEqual([]);
    expect(registered.length).toBeGreaterThan(10);
    // A route added without a declaration is caught.
    app.get('/v1/undeclared/:thing', (_req, res) => res.json({}));
    expect(registeredRoutes(app).filter((route) => !documented.includes(route))).toEqual(['GET /v1/undeclared/{thing}']);
  });

  it('serves a reference page that loads only files of this server', async () => {
    const page = await call('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.contentType).toContain('text/html');
    const sources = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const source of sources) {
      expect(source).toMatch(/^\/docs\/assets\//);
      expect((await fetch(`${engine.baseUrl}${source}`)).status).toBe(200);
    }
    expect(await fetch(`${engine.baseUrl}/docs/assets/init.js`).then((r) => r.text())).toContain("'/openapi.json'");
    expect((await fetch(`${engine.baseUrl}/docs/assets/index.html`)).status).toBe(404);
  });

  describe('every documented operation, called', () => {
    let mine: TestChannel;
    let other: TestChannel;
    // Ids as Meta writes them (strings of digits): the webhook below refuses any other.
    const igAccountId = `1784${String(randomInt(1e12)).padStart(13, '0')}`;
    const igsid = `igsid-doc-${uid()}`;
    let conversationId = '';
    const answered = new Map<string, Set<number>>();

    /** The document's schema of one answer, compiled with the document's components. */
    function validatorFor(path: string, method: string, status: number, contentType: string) {
      const response = (document.paths[path]?.[method] as Json | undefined)?.responses?.[String(status)];
      if (!response) throw new Error(`${method.toUpperCase()} ${path} answered ${status}, which the document does not give`);
      const mediaType = Object.keys(response.content).find((type) => contentType.startsWith(type));
      if (!mediaType) throw new Error(`${method.toUpperCase()} ${path} ${status} answered ${contentType}; the document gives ${Object.keys(response.content).join(', ')}`);
      const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
      return ajv.compile({ ...response.content[mediaType].schema, components: document.components });
    }

    /** Calls a documented operation (path as in the document) and checks the answer against the document. */
    async function check(method: string, documentedPath: string, values: Record<string, string>, options: Parameters<ApiCaller>[2] & { query?: string; headers?: Record<string, string> } = {}): Promise<Json> {
      const path = documentedPath.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name]!));
      let answer: { status: number; body: Json; text: string; contentType: string };
      if (options.headers) {
        const response = await fetch(`${engine.baseUrl}${path}${options.query ?? ''}`, { method, headers: options.headers, body: options.rawBody });
        const text = await response.text();
        const contentType = response.headers.get('content-type') ?? '';
        answer = { status: response.status, text, contentType, body: contentType.includes('json') ? JSON.parse(text) : {} };
      } else {
        answer = await call(method, `${path}${options.query ?? ''}`, options);
      }
      const validate = validatorFor(documentedPath, method.toLowerCase(), answer.status, answer.contentType);
      const value = answer.contentType.includes('json') ? answer.body : answer.text;
      expect({ operation: `${method} ${documentedPath} ${answer.status}`, errors: validate(value) ? null : validate.errors }).toEqual({ operation: `${method} ${documentedPath} ${answer.status}`, errors: null });
      const key = `${method.toLowerCase()} ${documentedPath}`;
      answered.set(key, (answered.get(key) ?? new Set()).add(answer.status));
      return answer;
    }

    beforeAll(async () => {
      const fixtures = createInboxFixtures(engine.models);
      mine = await fixtures.channel('doc');
      other = await fixtures.channel('doc-other');
      await fixtures.linkAccount(igAccountId, mine.channelId);
      await fixtures.customer(igAccountId, igsid, mine.channelId);
      const [conversation] = await fixtures.conversations({ channelId: mine.channelId, igAccountId, igsid }, [
        { openedAt: new Date(Date.UTC(2026, 5, 1)), lastMessageAt: new Date(Date.UTC(2026, 5, 1, 1)) },
        { openedAt: new Date(Date.UTC(2026, 5, 2)), lastMessageAt: null },
      ]);
      conversationId = conversation!.conversationId;
      await fixtures.messages(conversation!, 3, new Date(Date.UTC(2026, 5, 1, 1)));
      // One message of every shape the presenter has: a story reply with a reaction, an unsent one, a failed reply.
      const [story, unsent, failed] = await fixtures.messages(conversation!, 3, new Date(Date.UTC(2026, 5, 1, 2)));
      await engine.models.messages.updateOne({ _id: story!._id }, { $set: { kind: 'story_reply', story: { id: 's1', url: 'https://cdn.example/s1', expiresAt: Date.UTC(2026, 5, 2) }, reaction: { by: 'customer', reaction: 'love', emoji: '\u2764', at: new Date() }, attachments: [{ type: 'story', url: 'https://cdn.example/s1', title: null, mediaId: null }] } });
      await engine.models.messages.updateOne({ _id: unsent!._id }, { $set: { deletedAt: new Date(), text: null } });
      await engine.models.messages.updateOne({ _id: failed!._id }, { $set: { direction: 'outbound', senderType: 'manager', status: 'failed', error: { type: 'WindowClosed', message: 'closed', code: 10, subcode: 2534022 } } });
    });

    afterAll(() => {
      // Every operation of the document was called and answered with one of its success statuses at least once.
      const notCalled = Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations)
          .filter((method) => ![...(answered.get(`${method} ${path}`) ?? [])].some((status) => status < 300))
          .map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(notCalled).toEqual([]);
    });

    it('health, readiness, metrics and the documentation', async () => {
      await check('GET', '/healthz', {});
      await check('GET', '/readyz', {});
      await check('GET', '/metrics', {});
      await check('GET', '/openapi.json', {});
      await check('GET', '/docs', {});
    });

    it('the webhooks: handshake and a signed delivery', async () => {
      const { webhookVerifyToken, appSecret } = engine.config.meta;
      await check('GET', '/webhooks/instagram', {}, { query: `?hub.mode=subscribe&hub.verify_token=${webhookVerifyToken}&hub.challenge=42` });
      await check('GET', '/webhooks/instagram', {}, { query: '?hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=42' });
      await check('GET', '/webhooks/instagram', {}, { query: '?hub.mode=unsubscribe' });
      const body = JSON.stringify({ object: 'instagram', entry: [{ id: `ig-unlinked-${uid()}`, time: Date.now(), messaging: [] }] });
      const signature = `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
      await check('POST', '/webhooks/instagram', {}, { headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, rawBody: body });
      await check('POST', '/webhooks/instagram', {}, { headers: { 'content-type': 'application/json' }, rawBody: body });
    });

    it("Meta's deauthorize and data-deletion callbacks, and the status page", async () => {
      const segment = Buffer.from(JSON.stringify({ algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: `fb-doc-${uid()}` })).toString('base64url');
      const signed = `${createHmac('sha256', engine.config.meta.appSecret).update(segment).digest('base64url')}.${segment}`;
      const form = (signedRequest: string) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody: new URLSearchParams({ signed_request: signedRequest }).toString() });
      await check('POST', '/meta/deauthorize', {}, form(signed));
      await check('POST', '/meta/deauthorize', {}, form('forged.request'));
      const deletion = await check('POST', '/meta/data-deletion', {}, form(signed));
      await check('POST', '/meta/data-deletion', {}, form(`x${signed}`));
      await check('GET', '/meta/data-deletion/{confirmationCode}', { confirmationCode: deletion.body.confirmation_code }, {});
      await check('GET', '/meta/data-deletion/{confirmationCode}', { confirmationCode: 'unknown' }, {});
    });

    it('the diagnostics', async () => {
      const probe = await check('POST', '/v1/diagnostics/round-trip', {}, { key: OPERATOR_TOKEN });
      expect(probe.status).toBe(200);
      await check('POST', '/v1/diagnostics/round-trip', {}, { key: mine.apiKey, body: { waitMs: 5000 } });
      await check('POST', '/v1/diagnostics/round-trip', {}, { key: OPERATOR_TOKEN, body: { waitMs: -1 } });
      await check('POST', '/v1/diagnostics/round-trip', {}, {});
      await check('GET', '/v1/diagnostics/round-trip/{probeId}', { probeId: probe.body.probeId }, { key: OPERATOR_TOKEN });
      await check('GET', '/v1/diagnostics/round-trip/{probeId}', { probeId: 'unknown' }, { key: other.apiKey });
    });

    it('the inbox reads', async () => {
      const channel = { channelId: mine.channelId };
      const firstPage = await check('GET', '/v1/channels/{channelId}/conversations', channel, { key: mine.apiKey, query: '?limit=1' });
      await check('GET', '/v1/channels/{channelId}/conversations', channel, { key: mine.apiKey, query: `?limit=1&cursor=${firstPage.body.nextCursor}` });
      await check('GET', '/v1/channels/{channelId}/conversations', channel, { key: mine.apiKey, query: '?state=maybe' });
      await check('GET', '/v1/channels/{channelId}/conversations', channel, { key: other.apiKey });
      await check('GET', '/v1/channels/{channelId}/conversations', channel, {});
      await check('GET', '/v1/conversations/{conversationId}', { conversationId }, { key: mine.apiKey });
      await check('GET', '/v1/conversations/{conversationId}', { conversationId }, { key: other.apiKey });
      const messages = await check('GET', '/v1/conversations/{conversationId}/messages', { conversationId }, { key: mine.apiKey, query: '?limit=3' });
      expect(messages.body.messages).toHaveLength(3);
      const rest = await check('GET', '/v1/conversations/{conversationId}/messages', { conversationId }, { key: mine.apiKey, query: `?cursor=${messages.body.nextCursor}` });
      const shapes = rest.body.messages.map((m: Json) => [m.deleted, m.status, m.story?.available ?? null]);
      expect(shapes).toHaveLength(3);
      expect(shapes).toEqual(
        expect.arrayContaining([
          [false, 'received', false],
          [true, 'received', null],
          [false, 'failed', null],
        ]),
      );
      await check('GET', '/v1/conversations/{conversationId}/messages', { conversationId }, { key: mine.apiKey, query: '?cursor=nope' });
      await check('GET', '/v1/customers/{igAccountId}/{igsid}', { igAccountId, igsid }, { key: mine.apiKey });
      await check('GET', '/v1/customers/{igAccountId}/{igsid}', { igAccountId, igsid }, { key: other.apiKey });
    });

    it('the replies, and the images they send', async () => {
      // A conversation with its workflow running: a signed customer message to the linked account.
      const liveIgsid = `1000${String(randomInt(1e12)).padStart(12, '0')}`;
      const at = Date.now();
      const body = JSON.stringify({ object: 'instagram', entry: [{ id: igAccountId, time: at, messaging: [{ sender: { id: liveIgsid }, recipient: { id: igAccountId }, timestamp: at, message: { mid: `m-doc-${uid()}`, text: 'hello' } }] }] });
      const signature = `sha256=${createHmac('sha256', engine.config.meta.appSecret).update(body).digest('hex')}`;
      const delivered = await fetch(`${engine.baseUrl}/webhooks/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
      expect(delivered.status).toBe(200);
      let live: { conversationId: string } | undefined;
      for (let round = 0; round < 400 && !live; round += 1) {
        const conversation = await engine.models.conversations.findOne({ igAccountId, igsid: liveIgsid, lastCustomerMessageAt: { $ne: null } }).lean();
        if (conversation) live = { conversationId: conversation.conversationId };
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (!live) throw new Error('the customer message never opened a conversation');

      const route = '/v1/conversations/{conversationId}/messages';
      const accepted = await check('POST', route, live, { key: mine.apiKey, body: { text: 'Thanks for writing!' } });
      expect(accepted.status).toBe(202);
      await check('POST', route, live, { key: mine.apiKey, body: { text: 'both', image: { url: 'https://cdn.example/a.png' } } });
      await check('POST', route, live, { key: mine.apiKey, body: { text: 'é'.repeat(501) } });
      await check('POST', route, live, { key: mine.apiKey, rawBody: 'hello', contentType: 'text/plain' });
      await check('POST', route, live, { key: other.apiKey, body: { text: 'not yours' } });
      await check('POST', route, live, {});
      // The fixture conversation has no running workflow and its customer never wrote.
      await check('POST', route, { conversationId }, { key: mine.apiKey, body: { text: 'anyone?' } });
      const messageId = accepted.body.messages[0].messageId as string;
      await check('GET', '/v1/conversations/{conversationId}/messages/{messageId}', { ...live, messageId }, { key: mine.apiKey });
      await check('GET', '/v1/conversations/{conversationId}/messages/{messageId}', { ...live, messageId }, { key: other.apiKey });
      const closed = await check('POST', '/v1/conversations/{conversationId}/close', live, { key: mine.apiKey });
      expect([200, 202]).toContain(closed.status);
      await check('POST', '/v1/conversations/{conversationId}/close', live, { key: other.apiKey });

      const mediaId = 'a'.repeat(64);
      await engine.models.mediaFiles.create({ _id: mediaId, channelId: mine.channelId, contentType: 'image/png', size: 8, bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), source: { kind: 'upload', filename: null }, createdAt: new Date() });
      await check('GET', '/media/{mediaId}', { mediaId }, {});
      await check('GET', '/media/{mediaId}', { mediaId: 'b'.repeat(64) }, {});
    });

    it('linking through Facebook Login', async () => {
      const channel = { channelId: mine.channelId };
      // A Facebook user and account of this test only: an account's workflow id is the account's.
      const credentials = { email: `doc-${uid()}@example.com`, password: 'doc-password' };
      const seeded = await fetch(`${emulator.url}/_emulator/businesses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: { name: 'Doc Owner', ...credentials }, business: { name: 'Doc business' }, pages: [{ name: 'Doc page', igAccount: { username: `doc.${uid()}`, name: 'Doc' } }] }),
      });
      const linkable = String(((await seeded.json()) as Json).pages[0].igAccountId);
      const started = await check('POST', '/v1/channels/{channelId}/instagram/link', channel, { key: mine.apiKey });
      const agent = await createInboxFixtures(engine.models).manager(mine.channelId, 'agent');
      await check('POST', '/v1/channels/{channelId}/instagram/link', channel, { key: agent.apiKey });
      await check('POST', '/v1/channels/{channelId}/instagram/link', channel, { key: other.apiKey });
      const callbackQuery = (redirect: string) => new URL(redirect).search;
      const choice = await check('GET', '/v1/oauth/facebook/callback', {}, { query: callbackQuery(await dialogRedirect(started.body.loginUrl, credentials)) });
      await check('GET', '/v1/oauth/facebook/callback', {}, { query: '?state=forged.state&code=x' });
      const route = '/v1/channels/{channelId}/instagram/link/{loginId}';
      const login = { ...channel, loginId: choice.body.loginId };
      await check('POST', route, login, { key: mine.apiKey, body: { igAccountIds: [] } });
      await check('POST', route, { ...channel, loginId: 'no-such-login' }, { key: mine.apiKey, body: { igAccountIds: [linkable] } });
      await check('POST', route, login, { key: agent.apiKey, body: { igAccountIds: [linkable] } });
      expect((await check('POST', route, login, { key: mine.apiKey, body: { igAccountIds: [linkable] } })).status).toBe(200);
      await check('POST', route, login, { key: mine.apiKey, body: { igAccountIds: [linkable] } });
      // Last: a login that declines a permission also replaces what the user grants the app (as on Meta).
      const declined = await check('POST', '/v1/channels/{channelId}/instagram/link', channel, { key: mine.apiKey });
      await check('GET', '/v1/oauth/facebook/callback', {}, { query: callbackQuery(await dialogRedirect(declined.body.loginUrl, { ...credentials, grantedScopes: ['instagram_basic'] })) });
    });

    it('the channels, managers and API keys', async () => {
      const created = await check('POST', '/v1/admin/channels', {}, { key: OPERATOR_TOKEN, body: { name: 'Doc shop', owner: { name: 'Dana' } } });
      expect(created.status).toBe(201);
      await check('POST', '/v1/admin/channels', {}, { key: OPERATOR_TOKEN, body: { name: 'Doc shop' } });
      await check('POST', '/v1/admin/channels', {}, { key: mine.apiKey, body: { name: 'Doc shop', owner: { name: 'Dana' } } });
      const owner = { key: created.body.apiKey as string };
      const channel = { channelId: created.body.channel.channelId as string };
      const invited = await check('POST', '/v1/channels/{channelId}/managers', channel, { ...owner, body: { name: 'Agent Kim', role: 'agent' } });
      expect(invited.status).toBe(201);
      await check('POST', '/v1/channels/{channelId}/managers', channel, { key: invited.body.apiKey, body: { name: 'Lee', role: 'agent' } });
      await check('POST', '/v1/channels/{channelId}/managers', channel, { ...owner, body: { name: 'Lee', role: 'boss' } });
      await check('POST', '/v1/channels/{channelId}/managers', channel, { key: other.apiKey, body: { name: 'Lee', role: 'agent' } });
      const firstPage = await check('GET', '/v1/channels/{channelId}/managers', channel, { ...owner, query: '?limit=1' });
      await check('GET', '/v1/channels/{channelId}/managers', channel, { ...owner, query: `?cursor=${firstPage.body.nextCursor}` });
      await check('GET', '/v1/channels/{channelId}/managers', channel, { key: other.apiKey });
      const agent = { managerId: invited.body.manager.managerId as string };
      const issued = await check('POST', '/v1/managers/{managerId}/api-keys', agent, owner);
      expect(issued.status).toBe(201);
      await check('POST', '/v1/managers/{managerId}/api-keys', { managerId: created.body.owner.managerId }, { key: invited.body.apiKey });
      await check('POST', '/v1/managers/{managerId}/api-keys', agent, { key: other.apiKey });
      const revoked = await check('DELETE', '/v1/managers/{managerId}/api-keys/{keyId}', { ...agent, keyId: issued.body.keyId }, { key: invited.body.apiKey });
      expect(revoked.status).toBe(200);
      await check('DELETE', '/v1/managers/{managerId}/api-keys/{keyId}', { managerId: created.body.owner.managerId, keyId: created.body.keyId }, { key: invited.body.apiKey });
      await check('DELETE', '/v1/managers/{managerId}/api-keys/{keyId}', { ...agent, keyId: 'no-such-key' }, owner);
    });

    it('the manager of the key and their notices', async () => {
      await check('GET', '/v1/me', {}, { key: mine.apiKey });
      await check('GET', '/v1/me', {}, {});
      const board = createNoticeBoard({ models: engine.models, now: Date.now });
      for (const dedupeKey of ['doc-1', 'doc-2']) {
        await board.postToOwners({ channelId: mine.channelId, kind: 'link_expired', title: 'The link of @doc.shop expired', body: 'Re-authenticate it.', facts: { igAccountId, at: null, counts: [1, 2] }, dedupeKey });
      }
      const firstPage = await check('GET', '/v1/me/notices', {}, { key: mine.apiKey, query: '?limit=1' });
      expect(firstPage.body.notices).toHaveLength(1);
      await check('GET', '/v1/me/notices', {}, { key: mine.apiKey, query: `?unread=true&cursor=${firstPage.body.nextCursor}` });
      await check('GET', '/v1/me/notices', {}, { key: mine.apiKey, query: '?unread=maybe' });
      const noticeId = firstPage.body.notices[0].noticeId as string;
      const read = await check('POST', '/v1/me/notices/{noticeId}/read', { noticeId }, { key: mine.apiKey });
      expect(read.status).toBe(200);
      await check('POST', '/v1/me/notices/{noticeId}/read', { noticeId }, { key: other.apiKey });
      const all = await check('POST', '/v1/me/notices/read-all', {}, { key: mine.apiKey });
      expect(all.body).toEqual({ marked: 1 });
      await check('POST', '/v1/me/notices/read-all', {}, { authorization: 'Basic eDp5' });
    });

    it('the parked events', async () => {
      const fixtures = createInboxFixtures(engine.models);
      const agent = await fixtures.manager(mine.channelId, 'agent');
      const parked = await fixtures.webhookEvent(igAccountId, `igsid-parked-${uid()}`);
      await fixtures.webhookEvent(igAccountId, `igsid-parked-${uid()}`);
      const firstPage = await check('GET', '/v1/parked-events', {}, { key: OPERATOR_TOKEN, query: '?limit=1' });
      expect(firstPage.body.parkedEvents).toHaveLength(1);
      await check('GET', '/v1/parked-events', {}, { key: mine.apiKey, query: `?igAccountId=${igAccountId}&cursor=${firstPage.body.nextCursor}` });
      await check('GET', '/v1/parked-events', {}, { key: other.apiKey, query: `?igAccountId=${igAccountId}` });
      await check('GET', '/v1/parked-events', {}, { key: mine.apiKey, query: '?limit=0' });
      const route = '/v1/parked-events/{eventId}/replay';
      await check('POST', route, { eventId: parked._id }, { key: agent.apiKey });
      expect((await check('POST', route, { eventId: parked._id }, { key: mine.apiKey })).status).toBe(200);
      await check('POST', route, { eventId: parked._id }, { key: OPERATOR_TOKEN });
      await check('POST', route, { eventId: 'message:no-such-mid' }, { key: OPERATOR_TOKEN });
      expect((await check('POST', '/v1/parked-events/replay', {}, { key: OPERATOR_TOKEN, body: { igAccountId } })).body.replayed).toBe(1);
      await check('POST', '/v1/parked-events/replay', {}, { key: agent.apiKey, body: { igAccountId } });
      await check('POST', '/v1/parked-events/replay', {}, { key: other.apiKey, body: { igAccountId } });
      await check('POST', '/v1/parked-events/replay', {}, { key: mine.apiKey, body: {} });
    });

    it('the linked Instagram accounts', async () => {
      const fixtures = createInboxFixtures(engine.models);
      const agent = await fixtures.manager(mine.channelId, 'agent');
      const leaving = `ig-doc-leaving-${uid()}`;
      await fixtures.linkAccount(leaving, mine.channelId);
      const channel = { channelId: mine.channelId };
      const account = { ...channel, igAccountId: leaving };
      await check('GET', '/v1/channels/{channelId}/instagram/accounts', channel, { key: mine.apiKey });
      await check('GET', '/v1/channels/{channelId}/instagram/accounts', channel, { key: other.apiKey });
      await check('GET', '/v1/channels/{channelId}/instagram/accounts/{igAccountId}', account, { key: mine.apiKey });
      await check('GET', '/v1/channels/{channelId}/instagram/accounts/{igAccountId}', account, { key: other.apiKey });
      const route = '/v1/channels/{channelId}/instagram/accounts/{igAccountId}';
      await check('PATCH', route, account, { key: mine.apiKey, body: { representative: true, settings: { openOnPostShare: false } } });
      await check('PATCH', route, account, { key: mine.apiKey, body: { settings: { openOnPostShare: 'no' } } });
      await check('PATCH', route, account, { key: agent.apiKey, body: { representative: true } });
      await check('PATCH', route, { ...channel, igAccountId: 'no-such-account' }, { key: mine.apiKey, body: { representative: true } });
      const unlinked = await check('DELETE', route, account, { key: mine.apiKey });
      expect(unlinked.body.account.status.state).toBe('unlinked');
      await check('DELETE', route, account, { key: agent.apiKey });
      await check('DELETE', route, account, { key: other.apiKey });
      await check('PATCH', route, account, { key: mine.apiKey, body: { representative: true } });
      // Every state the status can show, against the document's schema.
      const now = Date.now();
      const stored: Array<[string, Json | null]> = [
        ['reauth_required', { type: 'LinkExpired', reason: 'reauth_period_over', message: 'm', at: new Date(now) }],
        ['reauth_required', { type: 'TokenInvalid', reason: 'password_changed', message: 'm', at: new Date(now) }],
        ['messages_access_off', { type: 'MessagesAccessOff', reason: 'messages_access_off', message: 'm', at: new Date(now) }],
        ['active', null],
      ];
      for (const [status, statusReason] of stored) {
        const igAccountId = `ig-doc-state-${uid()}`;
        await fixtures.linkAccount(igAccountId, mine.channelId, status as never);
        await engine.models.linkedAccounts.updateOne({ _id: igAccountId }, { $set: { statusReason, linkedAt: new Date(now - 55 * 24 * 3600 * 1000) } });
      }
      const listed = await check('GET', '/v1/channels/{channelId}/instagram/accounts', channel, { key: mine.apiKey });
      expect(new Set(listed.body.accounts.map((a: Json) => a.status.state))).toEqual(new Set(['linked', 'reauth_due', 'expired', 'dropped', 'messages_access_off', 'unlinked']));
    });

    it('the members and merging', async () => {
      const channel = { channelId: mine.channelId };
      const created = await check('POST', '/v1/channels/{channelId}/members', channel, { key: mine.apiKey, body: { name: 'Doc Member', email: 'doc@example.com' } });
      await check('POST', '/v1/channels/{channelId}/members', channel, { key: mine.apiKey, body: { name: '' } });
      await check('POST', '/v1/channels/{channelId}/members', channel, { key: mine.apiKey, rawBody: 'name', contentType: 'text/plain' });
      await check('POST', '/v1/channels/{channelId}/members', channel, { key: other.apiKey, body: { name: 'x' } });
      await check('GET', '/v1/channels/{channelId}/members', channel, { key: mine.apiKey });
      await check('GET', '/v1/channels/{channelId}/members', channel, { key: other.apiKey });
      const memberId = created.body.member.memberId as string;
      await check('GET', '/v1/members/{memberId}', { memberId }, { key: mine.apiKey });
      await check('GET', '/v1/members/{memberId}', { memberId }, { key: other.apiKey });
      const customer = { igAccountId, igsid };
      await check('POST', '/v1/customers/{igAccountId}/{igsid}/merge', customer, { key: mine.apiKey, body: { memberId } });
      const second = await check('POST', '/v1/channels/{channelId}/members', channel, { key: mine.apiKey, body: { name: 'Second' } });
      await check('POST', '/v1/customers/{igAccountId}/{igsid}/merge', customer, { key: mine.apiKey, body: { memberId: second.body.member.memberId } });
      await check('GET', '/v1/channels/{channelId}/conversations', channel, { key: mine.apiKey });
      await check('DELETE', '/v1/customers/{igAccountId}/{igsid}/merge', customer, { key: mine.apiKey });
      await check('DELETE', '/v1/customers/{igAccountId}/{igsid}/merge', customer, { key: mine.apiKey });
      await check('DELETE', '/v1/customers/{igAccountId}/{igsid}/merge', customer, { key: other.apiKey });
    });
  });
});
