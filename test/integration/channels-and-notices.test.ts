/**
 * Channels, managers, API keys and personal rooms of notices, through the real API and database (no worker
 * needed): the admin route takes the operator token alone; owners invite managers and agents cannot; keys are
 * issued and revoked (a revoked key is 401 from then on); every route refuses a missing or malformed key (401),
 * answers another channel's key 404, refuses a malformed request naming the field, and pages rows of equal times
 * without loss or repeat. The notice board posts each owner a notice once per dedupe key, even when two callers
 * post it at once, and none to agents. The set-up CLI makes a channel whose key works.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createModels, ensureIndexes } from '../../src/db/models';
import { makeNoticeId, createNoticeBoard, type NoticeBoard, type NoticeInput } from '../../src/notices/notice-board';
import { startEngine, testConfig, type RunningEngine } from '../support/engine';
import { createApiCaller, createInboxFixtures, pageThrough, uid, type ApiCaller, type InboxFixtures, type Json, type TestChannel, type TestManager } from '../support/inbox-fixtures';

jest.setTimeout(120_000);

const OPERATOR_TOKEN = 'operator-token-for-channel-tests';
const MALFORMED_AUTHORIZATIONS = ['Bearer', 'Basic dXNlcjpwYXNz', 'Bearer two words', 'token-without-scheme', 'Bearer '];

describe('channels, managers, API keys and notices', () => {
  let engine: RunningEngine;
  let call: ApiCaller;
  let fixtures: InboxFixtures;
  let board: NoticeBoard;
  let mine: TestChannel;
  let agent: TestManager;
  let other: TestChannel;
  let noticeId = '';

  const notice = (channelId: string, dedupeKey = `dedupe-${uid()}`): NoticeInput => ({
    channelId,
    kind: 'reauth_due',
    title: 'Re-authenticate @demo.shop within 7 days',
    body: 'The link of @demo.shop expires in 7 days. Re-authenticate it with the Facebook account that linked it.',
    facts: { igAccountId: 'ig-1', expiresAt: '2026-03-01T00:00:00.000Z', daysLeft: 7, nested: { list: [1, 'two', null] } },
    dedupeKey,
  });

  const expectField = (answer: { status: number; body: Json }, field: string): void => {
    expect(answer.status).toBe(400);
    expect(answer.body.error.type).toBe('ValidationFailed');
    expect(answer.body.error.message).toContain(field);
    expect(answer.body.error.details.problems.some((problem: string) => problem.startsWith(field))).toBe(true);
  };

  beforeAll(async () => {
    engine = await startEngine({ config: testConfig({ OPERATOR_TOKEN }), worker: false });
    call = createApiCaller(engine.baseUrl);
    fixtures = createInboxFixtures(engine.models);
    board = createNoticeBoard({ models: engine.models, now: Date.now });
    mine = await fixtures.channel('mine');
    agent = await fixtures.manager(mine.channelId, 'agent', 'Agent Kim');
    other = await fixtures.channel('other');
    await board.postToOwners(notice(mine.channelId, 'first-notice'));
    noticeId = makeNoticeId(mine.managerId, 'first-notice');
  });

  afterAll(async () => {
    await engine?.stop();
  });

  /** Every new route that takes a manager's key, with a valid request of `mine`'s owner. */
  const managerRoutes = (): Array<{ name: string; method: string; path: string; body?: unknown }> => [
    { name: 'invite a manager', method: 'POST', path: `/v1/channels/${mine.channelId}/managers`, body: { name: 'Lee', role: 'agent' } },
    { name: 'list managers', method: 'GET', path: `/v1/channels/${mine.channelId}/managers` },
    { name: 'issue a key', method: 'POST', path: `/v1/managers/${agent.managerId}/api-keys` },
    { name: 'revoke a key', method: 'DELETE', path: `/v1/managers/${agent.managerId}/api-keys/no-such-key` },
    { name: 'who am I', method: 'GET', path: '/v1/me' },
    { name: 'my notices', method: 'GET', path: '/v1/me/notices' },
    { name: 'mark a notice read', method: 'POST', path: `/v1/me/notices/${noticeId}/read` },
    { name: 'mark all read', method: 'POST', path: '/v1/me/notices/read-all' },
  ];
  const routeNames = ['invite a manager', 'list managers', 'issue a key', 'revoke a key', 'who am I', 'my notices', 'mark a notice read', 'mark all read'];
  const routeIndexes = routeNames.map((name, index) => [index, name] as const);

  it('names every route it tests', () => {
    expect(managerRoutes().map((route) => route.name)).toEqual(routeNames);
  });

  describe('authentication', () => {
    it.each(routeIndexes)('route %i (%s): no key 401, a malformed Authorization 401, an unknown key 401', async (index) => {
      const route = managerRoutes()[index]!;
      const none = await call(route.method, route.path, { body: route.body });
      expect({ status: none.status, type: none.body.error?.type }).toEqual({ status: 401, type: 'Unauthenticated' });
      for (const authorization of MALFORMED_AUTHORIZATIONS) {
        const refused = await call(route.method, route.path, { authorization, body: route.body });
        expect({ authorization, status: refused.status, type: refused.body.error?.type }).toEqual({ authorization, status: 401, type: 'Unauthenticated' });
      }
      expect((await call(route.method, route.path, { key: 'not-a-key', body: route.body })).status).toBe(401);
      expect((await call(route.method, route.path, { key: OPERATOR_TOKEN, body: route.body })).status).toBe(401);
    });

    it('the admin route takes the operator token alone: no key, a malformed header, a manager key (even an owner’s) are 401', async () => {
      const body = { name: 'Shop', owner: { name: 'Dana' } };
      expect((await call('POST', '/v1/admin/channels', { body })).status).toBe(401);
      for (const authorization of MALFORMED_AUTHORIZATIONS) expect((await call('POST', '/v1/admin/channels', { authorization, body })).status).toBe(401);
      for (const key of [mine.apiKey, agent.apiKey, 'not-the-operator-token']) {
        const refused = await call('POST', '/v1/admin/channels', { key, body });
        expect({ status: refused.status, type: refused.body.error.type }).toEqual({ status: 401, type: 'Unauthenticated' });
      }
    });

    it('closes the admin route when no operator token is configured', async () => {
      const closed = await startEngine({ config: testConfig(), worker: false });
      try {
        const refused = await createApiCaller(closed.baseUrl)('POST', '/v1/admin/channels', { key: OPERATOR_TOKEN, body: { name: 'Shop', owner: { name: 'Dana' } } });
        expect(refused.status).toBe(401);
        expect(refused.body.error.message).toContain('OPERATOR_TOKEN');
      } finally {
        await closed.stop();
      }
    });
  });

  describe('channels, made by an operator', () => {
    // The CLI makes its local secrets (as `npm start` does) in a data folder of its own here.
    const cliDataDir = mkdtempSync(path.join(os.tmpdir(), 'igdm-channel-cli-'));
    afterAll(() => rmSync(cliDataDir, { recursive: true, force: true }));

    it('creates a channel with its owner and shows the owner’s key once; the key opens the channel', async () => {
      const created = await call('POST', '/v1/admin/channels', { key: OPERATOR_TOKEN, body: { name: '  Demo shop ', owner: { name: 'Dana' } } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ channel: { name: 'Demo shop', channelId: expect.any(String) }, owner: { name: 'Dana', role: 'owner' }, keyId: expect.any(String), apiKey: expect.any(String) });
      const { channelId } = created.body.channel;
      expect(created.body.owner.channelId).toBe(channelId);

      const me = await call('GET', '/v1/me', { key: created.body.apiKey });
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ manager: created.body.owner, channel: created.body.channel, keyId: created.body.keyId });
      // Only the hash is stored, nowhere the key itself.
      const stored = await engine.models.apiKeys.collection.find({ channelId } as never).toArray();
      expect(stored).toHaveLength(1);
      expect(JSON.stringify(stored)).not.toContain(created.body.apiKey);
      expect(JSON.stringify(await engine.models.managers.collection.find({ channelId } as never).toArray())).not.toContain(created.body.apiKey);
    });

    it.each([
      ['no name', { owner: { name: 'Dana' } }, 'body.name'],
      ['empty name', { name: ' ', owner: { name: 'Dana' } }, 'body.name'],
      ['no owner', { name: 'Shop' }, 'body.owner'],
      ['owner without a name', { name: 'Shop', owner: {} }, 'body.owner.name'],
      ['unknown field', { name: 'Shop', owner: { name: 'Dana' }, plan: 'pro' }, 'body.plan'],
    ])('refuses a malformed body naming the field: %s', async (_name, body, field) => {
      expectField(await call('POST', '/v1/admin/channels', { key: OPERATOR_TOKEN, body }), field);
    });

    it('the set-up CLI makes a channel and prints its owner’s key, which works', async () => {
      const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/channel-create.ts', '--name', 'CLI shop', '--owner', 'Dana'], {
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', MONGODB_URI: engine.config.mongodb.uri, DATA_DIR: cliDataDir },
        timeout: 60_000,
      });
      const apiKey = /owner API key \(shown once\): (\S+)/.exec(run.stdout)?.[1];
      const channelId = /channel "CLI shop": (\S+)/.exec(run.stdout)?.[1];
      expect({ apiKey: typeof apiKey, channelId: typeof channelId }).toEqual({ apiKey: 'string', channelId: 'string' });
      const me = await call('GET', '/v1/me', { key: apiKey! });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ manager: { name: 'Dana', role: 'owner', channelId }, channel: { name: 'CLI shop', channelId } });
    });

    it('the set-up CLI refuses to run without both names', async () => {
      const failed = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/channel-create.ts', '--name', 'Only a name'], {
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', MONGODB_URI: engine.config.mongodb.uri, DATA_DIR: cliDataDir },
        timeout: 60_000,
      }).then(
        () => null,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain('--owner');
    });
  });

  describe('managers, invited by owners', () => {
    it('an owner invites an agent and an owner; each gets a key of their own; the list shows them', async () => {
      const channel = await fixtures.channel('invite');
      const invitedAgent = await call('POST', `/v1/channels/${channel.channelId}/managers`, { key: channel.apiKey, body: { name: 'Park', role: 'agent' } });
      expect(invitedAgent.status).toBe(201);
      expect(invitedAgent.body.manager).toMatchObject({ name: 'Park', role: 'agent', channelId: channel.channelId });
      const invitedOwner = await call('POST', `/v1/channels/${channel.channelId}/managers`, { key: channel.apiKey, body: { name: 'Choi', role: 'owner' } });
      expect(invitedOwner.status).toBe(201);
      expect((await call('GET', '/v1/me', { key: invitedAgent.body.apiKey })).body.manager).toEqual(invitedAgent.body.manager);
      // The invited owner invites in turn.
      expect((await call('POST', `/v1/channels/${channel.channelId}/managers`, { key: invitedOwner.body.apiKey, body: { name: 'Jung', role: 'agent' } })).status).toBe(201);
      const listed = await call('GET', `/v1/channels/${channel.channelId}/managers`, { key: invitedAgent.body.apiKey });
      expect(listed.status).toBe(200);
      expect(listed.body.managers.map((m: Json) => m.name).sort()).toEqual(['Choi', 'Jung', 'Owner', 'Park']);
      expect(listed.body.nextCursor).toBeNull();
    });

    it('an agent inviting a manager gets 403 OwnerRequired naming the role needed', async () => {
      const refused = await call('POST', `/v1/channels/${mine.channelId}/managers`, { key: agent.apiKey, body: { name: 'Lee', role: 'agent' } });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ type: 'OwnerRequired', details: { requiredRole: 'owner', role: 'agent' } });
      expect(refused.body.error.message).toContain('owner');
    });

    it.each([
      ['no name', { role: 'agent' }, 'body.name'],
      ['unknown role', { name: 'Lee', role: 'admin' }, 'body.role'],
      ['no role', { name: 'Lee' }, 'body.role'],
      ['unknown field', { name: 'Lee', role: 'agent', email: 'lee@example.com' }, 'body.email'],
    ])('inviting: refuses a malformed body naming the field: %s', async (_name, body, field) => {
      expectField(await call('POST', `/v1/channels/${mine.channelId}/managers`, { key: mine.apiKey, body }), field);
    });

    it.each([
      ['limit', '?limit=0', 'query.limit'],
      ['cursor', '?cursor=garbage', 'query.cursor'],
      ['unknown parameter', '?role=owner', 'query.role'],
    ])('listing: refuses a malformed query naming the field: %s', async (_name, query, field) => {
      expectField(await call('GET', `/v1/channels/${mine.channelId}/managers${query}`, { key: mine.apiKey }), field);
    });
  });

  describe("another channel's key", () => {
    it.each([
      ['invite a manager', 'POST', () => `/v1/channels/${mine.channelId}/managers`, { name: 'Lee', role: 'agent' }],
      ['list managers', 'GET', () => `/v1/channels/${mine.channelId}/managers`, undefined],
      ['issue a key', 'POST', () => `/v1/managers/${agent.managerId}/api-keys`, undefined],
      ['revoke a key', 'DELETE', () => `/v1/managers/${agent.managerId}/api-keys/${agent.keyId}`, undefined],
      ['mark a notice read', 'POST', () => `/v1/me/notices/${noticeId}/read`, undefined],
    ])('%s answers 404, as if nothing were there', async (_name, method, path, body) => {
      const answer = await call(method, path(), { key: other.apiKey, body });
      expect({ status: answer.status, type: answer.body.error?.type }).toEqual({ status: 404, type: 'NotFound' });
    });

    it('an agent of another channel gets 404 too, not 403', async () => {
      const theirAgent = await fixtures.manager(other.channelId, 'agent');
      expect((await call('POST', `/v1/channels/${mine.channelId}/managers`, { key: theirAgent.apiKey, body: { name: 'Lee', role: 'agent' } })).status).toBe(404);
      expect((await call('POST', `/v1/managers/${mine.managerId}/api-keys`, { key: theirAgent.apiKey })).status).toBe(404);
    });

    it("/v1/me and the notices answer only the key's own manager", async () => {
      expect((await call('GET', '/v1/me', { key: other.apiKey })).body.manager.channelId).toBe(other.channelId);
      expect((await call('GET', '/v1/me/notices', { key: other.apiKey })).body).toEqual({ notices: [], nextCursor: null, unreadCount: 0 });
      expect((await call('POST', '/v1/me/notices/read-all', { key: other.apiKey })).body).toEqual({ marked: 0 });
      expect((await engine.models.notices.findOne({ _id: noticeId }).lean())?.readAt).toBeNull();
    });
  });

  describe('API keys', () => {
    it('a manager issues another key; revoking one answers 401 for it from then on, and the other key still works', async () => {
      const manager = await fixtures.manager(mine.channelId, 'agent');
      const issued = await call('POST', `/v1/managers/${manager.managerId}/api-keys`, { key: manager.apiKey });
      expect(issued.status).toBe(201);
      expect(issued.body).toEqual({ keyId: expect.any(String), apiKey: expect.any(String) });
      expect(issued.body.apiKey).not.toBe(manager.apiKey);
      expect((await call('GET', '/v1/me', { key: issued.body.apiKey })).body.keyId).toBe(issued.body.keyId);

      const revoked = await call('DELETE', `/v1/managers/${manager.managerId}/api-keys/${manager.keyId}`, { key: issued.body.apiKey });
      expect(revoked.status).toBe(200);
      expect(revoked.body).toEqual({ keyId: manager.keyId, managerId: manager.managerId, revokedAt: expect.any(String) });
      const refused = await call('GET', '/v1/me', { key: manager.apiKey });
      expect({ status: refused.status, type: refused.body.error.type }).toEqual({ status: 401, type: 'Unauthenticated' });
      expect((await call('GET', `/v1/channels/${mine.channelId}/managers`, { key: manager.apiKey })).status).toBe(401);
      expect((await call('GET', '/v1/me', { key: issued.body.apiKey })).status).toBe(200);

      // Revoking again answers the first revocation.
      const again = await call('DELETE', `/v1/managers/${manager.managerId}/api-keys/${manager.keyId}`, { key: issued.body.apiKey });
      expect(again.body).toEqual(revoked.body);
      // A key can revoke itself: the request it came with is the last it opens.
      expect((await call('DELETE', `/v1/managers/${manager.managerId}/api-keys/${issued.body.keyId}`, { key: issued.body.apiKey })).status).toBe(200);
      expect((await call('GET', '/v1/me', { key: issued.body.apiKey })).status).toBe(401);
    });

    it('an owner issues and revokes the keys of any manager of the channel', async () => {
      const manager = await fixtures.manager(mine.channelId, 'agent');
      const issued = await call('POST', `/v1/managers/${manager.managerId}/api-keys`, { key: mine.apiKey });
      expect(issued.status).toBe(201);
      expect((await call('GET', '/v1/me', { key: issued.body.apiKey })).body.manager.managerId).toBe(manager.managerId);
      expect((await call('DELETE', `/v1/managers/${manager.managerId}/api-keys/${manager.keyId}`, { key: mine.apiKey })).status).toBe(200);
      expect((await call('GET', '/v1/me', { key: manager.apiKey })).status).toBe(401);
    });

    it("an agent issuing or revoking another manager's key gets 403 OwnerRequired", async () => {
      const issued = await call('POST', `/v1/managers/${mine.managerId}/api-keys`, { key: agent.apiKey });
      expect({ status: issued.status, type: issued.body.error.type, requiredRole: issued.body.error.details.requiredRole }).toEqual({ status: 403, type: 'OwnerRequired', requiredRole: 'owner' });
      const revoked = await call('DELETE', `/v1/managers/${mine.managerId}/api-keys/${mine.keyId}`, { key: agent.apiKey });
      expect({ status: revoked.status, type: revoked.body.error.type }).toEqual({ status: 403, type: 'OwnerRequired' });
      expect((await call('GET', '/v1/me', { key: mine.apiKey })).status).toBe(200);
    });

    it("answers 404 for a key that is not the manager's", async () => {
      const unknown = await call('DELETE', `/v1/managers/${agent.managerId}/api-keys/no-such-key`, { key: agent.apiKey });
      expect({ status: unknown.status, type: unknown.body.error.type }).toEqual({ status: 404, type: 'NotFound' });
      // The owner's key id, named under the agent: not the agent's key, and nothing is revoked.
      expect((await call('DELETE', `/v1/managers/${agent.managerId}/api-keys/${mine.keyId}`, { key: mine.apiKey })).status).toBe(404);
      expect((await call('GET', '/v1/me', { key: mine.apiKey })).status).toBe(200);
    });
  });

  describe('the personal room of notices', () => {
    it('posts each owner once per dedupe key, even when posted twice at once, and none to agents', async () => {
      const channel = await fixtures.channel('notices');
      const secondOwner = await fixtures.manager(channel.channelId, 'owner');
      const channelAgent = await fixtures.manager(channel.channelId, 'agent');
      const input = notice(channel.channelId);
      const [first, second] = await Promise.all([board.postToOwners(input), board.postToOwners(input)]);
      expect(first.posted + second.posted).toBe(2);
      expect((await board.postToOwners(input)).posted).toBe(0);

      for (const owner of [channel, secondOwner]) {
        const room = await call('GET', '/v1/me/notices', { key: owner.apiKey });
        expect(room.status).toBe(200);
        expect(room.body.unreadCount).toBe(1);
        expect(room.body.notices).toEqual([
          { noticeId: expect.any(String), channelId: channel.channelId, kind: 'reauth_due', title: input.title, body: input.body, facts: input.facts, createdAt: expect.any(String), readAt: null },
        ]);
      }
      expect((await call('GET', '/v1/me/notices', { key: channelAgent.apiKey })).body).toEqual({ notices: [], nextCursor: null, unreadCount: 0 });
      // Another dedupe key is another notice.
      expect((await board.postToOwners(notice(channel.channelId))).posted).toBe(2);
    });

    it('posts to one manager once per dedupe key, and to nobody of another channel', async () => {
      const input = { ...notice(mine.channelId), managerId: agent.managerId };
      const posts = await Promise.all([board.postToManager(input), board.postToManager(input), board.postToManager(input)]);
      expect(posts.map((post) => post.posted).sort()).toEqual([0, 0, 1]);
      expect((await board.postToManager({ ...notice(other.channelId), managerId: agent.managerId })).posted).toBe(0);
      const room = await call('GET', '/v1/me/notices', { key: agent.apiKey });
      expect(room.body.notices.map((n: Json) => n.channelId)).toEqual([mine.channelId]);
    });

    it('counts the unread, lists only them on request, marks one read (keeping the first time) and then all', async () => {
      const channel = await fixtures.channel('reading');
      for (let index = 0; index < 3; index += 1) await board.postToOwners(notice(channel.channelId, `reading-${index}`));
      const all = await call('GET', '/v1/me/notices', { key: channel.apiKey });
      expect(all.body.unreadCount).toBe(3);
      const target = all.body.notices[1].noticeId as string;

      const read = await call('POST', `/v1/me/notices/${target}/read`, { key: channel.apiKey });
      expect(read.status).toBe(200);
      expect(read.body.notice).toMatchObject({ noticeId: target, readAt: expect.any(String) });
      const readAgain = await call('POST', `/v1/me/notices/${target}/read`, { key: channel.apiKey });
      expect(readAgain.body.notice.readAt).toBe(read.body.notice.readAt);

      const unread = await call('GET', '/v1/me/notices?unread=true', { key: channel.apiKey });
      expect(unread.body.unreadCount).toBe(2);
      expect(unread.body.notices.map((n: Json) => n.noticeId)).toEqual(all.body.notices.filter((n: Json) => n.noticeId !== target).map((n: Json) => n.noticeId));

      expect((await call('POST', '/v1/me/notices/read-all', { key: channel.apiKey })).body).toEqual({ marked: 2 });
      expect((await call('GET', '/v1/me/notices?unread=true', { key: channel.apiKey })).body).toEqual({ notices: [], nextCursor: null, unreadCount: 0 });
      expect((await call('POST', '/v1/me/notices/read-all', { key: channel.apiKey })).body).toEqual({ marked: 0 });
    });

    it("answers 404 for another manager's notice, even of the same channel, and leaves it unread", async () => {
      const answer = await call('POST', `/v1/me/notices/${noticeId}/read`, { key: agent.apiKey });
      expect({ status: answer.status, type: answer.body.error.type }).toEqual({ status: 404, type: 'NotFound' });
      expect((await engine.models.notices.findOne({ _id: noticeId }).lean())?.readAt).toBeNull();
      expect((await call('POST', '/v1/me/notices/no-such-notice/read', { key: mine.apiKey })).status).toBe(404);
    });

    it.each([
      ['limit', '?limit=500', 'query.limit'],
      ['unread', '?unread=yes', 'query.unread'],
      ['cursor', '?cursor=garbage', 'query.cursor'],
      ['unknown parameter', '?kind=reauth_due', 'query.kind'],
    ])('refuses a malformed query naming the field: %s', async (_name, query, field) => {
      expectField(await call('GET', `/v1/me/notices${query}`, { key: mine.apiKey }), field);
    });

    it("refuses another list's cursor", async () => {
      const channel = await fixtures.channel('cursors');
      await fixtures.manager(channel.channelId, 'agent');
      const managers = await call('GET', `/v1/channels/${channel.channelId}/managers?limit=1`, { key: channel.apiKey });
      expect(managers.body.nextCursor).toEqual(expect.any(String));
      expectField(await call('GET', `/v1/me/notices?cursor=${managers.body.nextCursor}`, { key: channel.apiKey }), 'query.cursor');
    });
  });

  describe('a database of an earlier version', () => {
    it("drops the old unique index on the managers' key hash, which would refuse every second manager without one", async () => {
      // A database of its own, as that version left it: every manager had a key hash, under a unique index (which a
      // database refuses to build over two managers without one, as MongoDB does).
      const earlier = createModels(engine.database.useDb(`igdm_earlier_${uid()}`));
      const manager = (managerId: string, apiKeyHash?: string) => ({ _id: managerId, managerId, channelId: 'upgraded', name: managerId, role: 'agent', createdAt: new Date(), ...(apiKeyHash ? { apiKeyHash } : {}) });
      await earlier.managers.collection.insertMany([manager('owner', 'hash-1'), manager('agent', 'hash-2')] as never[]);
      await earlier.managers.collection.createIndex({ apiKeyHash: 1 }, { unique: true, name: 'apiKeyHash_1' });
      try {
        await ensureIndexes(earlier);
        expect(await earlier.managers.collection.indexExists('apiKeyHash_1')).toBe(false);
        await earlier.managers.collection.insertMany([manager('invited-1'), manager('invited-2')] as never[]);
        expect(await earlier.managers.countDocuments({ channelId: 'upgraded' })).toBe(4);
      } finally {
        await earlier.managers.db.dropDatabase();
      }
    });
  });

  describe('paging through rows with equal times', () => {
    const pageAll = (path: string, key: string, field: string, idField: string, limit: number) => pageThrough(call, path, { key, field, idField, limit });

    it('pages 12 managers created in the same millisecond, 5 at a time, newest first', async () => {
      const channel = await fixtures.channel('paging-managers');
      const createdAt = new Date(Date.UTC(2026, 4, 1));
      const managers = Array.from({ length: 12 }, (_, index) => `mgr-${uid()}-${index}`).map((managerId) => ({ _id: managerId, managerId, channelId: channel.channelId, name: managerId, role: 'agent', createdAt }));
      await engine.models.managers.collection.insertMany(managers as never[]);
      const { ids, pages } = await pageAll(`/v1/channels/${channel.channelId}/managers`, channel.apiKey, 'managers', 'managerId', 5);
      expect(pages).toBe(3);
      // The owner was created now, after the fixed time: first.
      expect(ids).toEqual([channel.managerId, ...managers.map((m) => m.managerId).sort().reverse()]);
    });

    it('pages 14 notices posted in the same millisecond, 4 at a time, newest first, and the unread ones alone', async () => {
      const channel = await fixtures.channel('paging-notices');
      const sameTime = createNoticeBoard({ models: engine.models, now: () => Date.UTC(2026, 5, 1) });
      for (let index = 0; index < 14; index += 1) await sameTime.postToOwners(notice(channel.channelId, `same-${index}`));
      const expected = Array.from({ length: 14 }, (_, index) => makeNoticeId(channel.managerId, `same-${index}`)).sort().reverse();
      const all = await pageAll('/v1/me/notices', channel.apiKey, 'notices', 'noticeId', 4);
      expect(all.pages).toBe(4);
      expect(all.ids).toEqual(expected);
      expect(all.unreadCounts).toEqual([14, 14, 14, 14]);

      // Every third one read: the unread list pages the rest, none lost or repeated.
      const read = expected.filter((_, index) => index % 3 === 0);
      for (const id of read) expect((await call('POST', `/v1/me/notices/${id}/read`, { key: channel.apiKey })).status).toBe(200);
      const unread = await pageAll('/v1/me/notices?unread=true', channel.apiKey, 'notices', 'noticeId', 4);
      expect(unread.ids).toEqual(expected.filter((id) => !read.includes(id)));
      expect(unread.unreadCounts.every((count) => count === 14 - read.length)).toBe(true);
    });
  });
});
