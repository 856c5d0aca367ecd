/**
 * The inbox API is tenant-tight and pages without loss: for every route, no key and a malformed Authorization
 * are 401, another channel's key is 404 (never 403), a malformed query or body is 400 naming the field; lists page
 * through rows that share a millisecond without losing or repeating one. Real API and database (no worker needed).
 */
import { makeCustomerKey } from '../../src/db/models/customer';
import { startEngine, testConfig, type RunningEngine } from '../support/engine';
import { createApiCaller, createInboxFixtures, pageThrough, uid, type ApiCaller, type InboxFixtures, type Json, type TestChannel } from '../support/inbox-fixtures';

jest.setTimeout(120_000);

const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';

describe('inbox API', () => {
  let engine: RunningEngine;
  let call: ApiCaller;
  let fixtures: InboxFixtures;
  let mine: TestChannel;
  let other: TestChannel;
  const igAccountId = `ig-${uid()}`;
  const igsid = `igsid-${uid()}`;
  let conversationId = '';
  let memberId = '';
  let messageId = '';

  beforeAll(async () => {
    engine = await startEngine({ config: testConfig({ OPERATOR_TOKEN }), worker: false });
    call = createApiCaller(engine.baseUrl);
    fixtures = createInboxFixtures(engine.models);
    mine = await fixtures.channel('mine');
    other = await fixtures.channel('other');
    await fixtures.linkAccount(igAccountId, mine.channelId);
    await fixtures.customer(igAccountId, igsid, mine.channelId);
    const [conversation] = await fixtures.conversations({ channelId: mine.channelId, igAccountId, igsid }, [{ openedAt: new Date(Date.UTC(2026, 1, 1)), lastMessageAt: new Date(Date.UTC(2026, 1, 1, 1)) }]);
    conversationId = conversation!.conversationId;
    const [message] = await fixtures.messages(conversation!, 2, new Date(Date.UTC(2026, 1, 1, 1)));
    messageId = message!._id;
    const created = await call('POST', `/v1/channels/${mine.channelId}/members`, { key: mine.apiKey, body: { name: 'Kim Mina' } });
    expect(created.status).toBe(201);
    memberId = created.body.member.memberId;
  });

  afterAll(async () => {
    await engine?.stop();
  });

  /** Every route of a channel, with a valid request of `mine`. */
  const routes = (): Array<{ name: string; method: string; path: string; body?: unknown }> => [
    { name: 'list conversations', method: 'GET', path: `/v1/channels/${mine.channelId}/conversations` },
    { name: 'read a conversation', method: 'GET', path: `/v1/conversations/${conversationId}` },
    { name: 'list messages', method: 'GET', path: `/v1/conversations/${conversationId}/messages` },
    { name: 'read a customer', method: 'GET', path: `/v1/customers/${igAccountId}/${igsid}` },
    { name: 'create a member', method: 'POST', path: `/v1/channels/${mine.channelId}/members`, body: { name: 'Lee' } },
    { name: 'list members', method: 'GET', path: `/v1/channels/${mine.channelId}/members` },
    { name: 'read a member', method: 'GET', path: `/v1/members/${memberId}` },
    { name: 'merge a customer', method: 'POST', path: `/v1/customers/${igAccountId}/${igsid}/merge`, body: { memberId } },
    { name: 'undo a merge', method: 'DELETE', path: `/v1/customers/${igAccountId}/${igsid}/merge` },
    { name: 'send a reply', method: 'POST', path: `/v1/conversations/${conversationId}/messages`, body: { text: 'Thanks!' } },
    { name: 'read a message', method: 'GET', path: `/v1/conversations/${conversationId}/messages/${messageId}` },
    { name: 'close a conversation', method: 'POST', path: `/v1/conversations/${conversationId}/close` },
  ];
  const routeNames = ['list conversations', 'read a conversation', 'list messages', 'read a customer', 'create a member', 'list members', 'read a member', 'merge a customer', 'undo a merge', 'send a reply', 'read a message', 'close a conversation'];
  const routeIndexes = routeNames.map((name, index) => [index, name] as const);
  it('names every route it tests', () => {
    expect(routes().map((route) => route.name)).toEqual(routeNames);
  });
  const operatorRoutes = (): Array<{ name: string; method: string; path: string; body?: unknown }> => [
    { name: 'round trip', method: 'POST', path: '/v1/diagnostics/round-trip', body: { waitMs: 0 } },
    { name: 'read a probe', method: 'GET', path: '/v1/diagnostics/round-trip/no-such-probe' },
  ];

  describe('authentication', () => {
    const malformed = ['Bearer', 'Basic dXNlcjpwYXNz', 'Bearer two words', 'token-without-scheme', 'Bearer '];

    it.each(routeIndexes)('route %i (%s): no key 401, a malformed Authorization 401, an unknown key 401', async (index) => {
      const route = routes()[index]!;
      const none = await call(route.method, route.path, { body: route.body });
      expect(none.status).toBe(401);
      expect(none.body.error.type).toBe('Unauthenticated');
      for (const authorization of malformed) {
        const refused = await call(route.method, route.path, { authorization, body: route.body });
        expect({ authorization, status: refused.status, type: refused.body.error?.type }).toEqual({ authorization, status: 401, type: 'Unauthenticated' });
      }
      expect((await call(route.method, route.path, { key: 'not-a-key', body: route.body })).status).toBe(401);
    });

    it.each([0, 1])('operator route %i: no key 401, a malformed Authorization 401', async (index) => {
      const route = operatorRoutes()[index]!;
      expect((await call(route.method, route.path, { body: route.body })).status).toBe(401);
      for (const authorization of malformed) expect((await call(route.method, route.path, { authorization, body: route.body })).status).toBe(401);
      expect((await call(route.method, route.path, { key: 'not-the-operator-token', body: route.body })).status).toBe(401);
    });

    it('opens the diagnostics routes to the operator token and to any manager of any channel', async () => {
      for (const key of [OPERATOR_TOKEN, mine.apiKey, other.apiKey]) {
        const probe = await call('GET', '/v1/diagnostics/round-trip/no-such-probe', { key });
        expect(probe.status).toBe(404);
        expect(probe.body.error.type).toBe('ProbeNotFound');
      }
    });

    it('does not take the operator token as a manager key on the inbox routes', async () => {
      expect((await call('GET', `/v1/channels/${mine.channelId}/conversations`, { key: OPERATOR_TOKEN })).status).toBe(401);
    });
  });

  describe("another channel's key", () => {
    it.each(routeIndexes)('route %i (%s) answers 404, as if nothing were there', async (index) => {
      const route = routes()[index]!;
      const answer = await call(route.method, route.path, { key: other.apiKey, body: route.body });
      expect(answer.status).toBe(404);
      expect(answer.body.error.type).toBe('NotFound');
    });

    it('cannot merge its customer into a member of another channel', async () => {
      const theirs = await call('POST', `/v1/channels/${other.channelId}/members`, { key: other.apiKey, body: { name: 'Theirs' } });
      const merged = await call('POST', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: mine.apiKey, body: { memberId: theirs.body.member.memberId } });
      expect(merged.status).toBe(404);
      expect(merged.body.error.message).toContain(theirs.body.member.memberId);
    });
  });

  describe('validation', () => {
    const expectField = (answer: { status: number; body: Json }, field: string): void => {
      expect(answer.status).toBe(400);
      expect(answer.body.error.type).toBe('ValidationFailed');
      expect(answer.body.error.message).toContain(field);
      expect(answer.body.error.details.problems.some((problem: string) => problem.startsWith(field))).toBe(true);
    };

    it.each([
      ['list conversations: limit', () => `/v1/channels/${mine.channelId}/conversations?limit=0`, 'query.limit'],
      ['list conversations: state', () => `/v1/channels/${mine.channelId}/conversations?state=archived`, 'query.state'],
      ['list conversations: unknown parameter', () => `/v1/channels/${mine.channelId}/conversations?before=2026-01-01T00:00:00Z`, 'query.before'],
      ['list conversations: cursor', () => `/v1/channels/${mine.channelId}/conversations?cursor=garbage`, 'query.cursor'],
      ['list messages: limit', () => `/v1/conversations/${conversationId}/messages?limit=abc`, 'query.limit'],
      ['list messages: cursor', () => `/v1/conversations/${conversationId}/messages?cursor=bm90LWEtY3Vyc29y`, 'query.cursor'],
      ['list members: limit', () => `/v1/channels/${mine.channelId}/members?limit=1000`, 'query.limit'],
      ['list members: cursor', () => `/v1/channels/${mine.channelId}/members?cursor=%2F%2F`, 'query.cursor'],
    ])('%s', async (_name, path, field) => {
      expectField(await call('GET', path(), { key: mine.apiKey }), field);
    });

    it("refuses another list's cursor", async () => {
      await call('POST', `/v1/channels/${mine.channelId}/members`, { key: mine.apiKey, body: { name: 'Second' } });
      const members = await call('GET', `/v1/channels/${mine.channelId}/members?limit=1`, { key: mine.apiKey });
      expect(members.body.nextCursor).toEqual(expect.any(String));
      expectField(await call('GET', `/v1/channels/${mine.channelId}/conversations?cursor=${members.body.nextCursor}`, { key: mine.apiKey }), 'query.cursor');
    });

    it.each([
      ['create a member: no name', () => `/v1/channels/${mine.channelId}/members`, { note: 'x' }, 'body.name'],
      ['create a member: bad email', () => `/v1/channels/${mine.channelId}/members`, { name: 'A', email: 'not-an-email' }, 'body.email'],
      ['create a member: unknown field', () => `/v1/channels/${mine.channelId}/members`, { name: 'A', vip: true }, 'body.vip'],
      ['merge: no memberId', () => `/v1/customers/${igAccountId}/${igsid}/merge`, {}, 'body.memberId'],
      ['merge: memberId not a string', () => `/v1/customers/${igAccountId}/${igsid}/merge`, { memberId: 42 }, 'body.memberId'],
      ['round trip: waitMs', () => '/v1/diagnostics/round-trip', { waitMs: 'soon' }, 'body.waitMs'],
      ['send a reply: neither text nor image', () => `/v1/conversations/${conversationId}/messages`, { sender: 'manager' }, 'body: give exactly one of text or image'],
      ['send a reply: empty text', () => `/v1/conversations/${conversationId}/messages`, { text: '' }, 'body.text'],
      ['send a reply: unknown sender', () => `/v1/conversations/${conversationId}/messages`, { text: 'hi', sender: 'robot' }, 'body.sender'],
      ['send a reply: image URL not http', () => `/v1/conversations/${conversationId}/messages`, { image: { url: 'file:///etc/passwd' } }, 'body.image.url'],
      ['send a reply: split not a boolean', () => `/v1/conversations/${conversationId}/messages`, { text: 'hi', split: 'yes' }, 'body.split'],
      ['send a reply: unknown field', () => `/v1/conversations/${conversationId}/messages`, { text: 'hi', tag: 'HUMAN_AGENT' }, 'body.tag'],
      ['send a reply: wait', () => `/v1/conversations/${conversationId}/messages?wait=forever`, { text: 'hi' }, 'query.wait'],
    ])('%s', async (_name, path, body, field) => {
      expectField(await call('POST', path(), { key: mine.apiKey, body }), field);
    });

    it('answers a body that is not JSON with 400 InvalidJson, and one of another type with 415', async () => {
      const broken = await call('POST', `/v1/channels/${mine.channelId}/members`, { key: mine.apiKey, rawBody: '{"name": ' });
      expect(broken.status).toBe(400);
      expect(broken.body.error.type).toBe('InvalidJson');
      const text = await call('POST', `/v1/channels/${mine.channelId}/members`, { key: mine.apiKey, rawBody: 'name=A', contentType: 'text/plain' });
      expect(text.status).toBe(415);
      expect(text.body.error.type).toBe('UnsupportedMediaType');
      const missing = await call('POST', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: mine.apiKey });
      expect(missing.status).toBe(400);
      expect(missing.body.error.message).toBe('body: required');
    });
  });

  describe('paging through rows with equal times', () => {

    it('pages 60 messages sent in the same millisecond, 25 at a time, in id order', async () => {
      const [conversation] = await fixtures.conversations({ channelId: mine.channelId, igAccountId, igsid }, [{ openedAt: new Date(Date.UTC(2026, 2, 1)), lastMessageAt: new Date(Date.UTC(2026, 2, 1)) }]);
      const at = new Date(Date.UTC(2026, 2, 1, 12));
      const messages = await fixtures.messages(conversation!, 60, at);
      const { ids, pages } = await pageThrough(call, `/v1/conversations/${conversation!.conversationId}/messages`, { key: mine.apiKey, field: 'messages', idField: 'messageId', limit: 25 });
      expect(pages).toBe(3);
      expect(ids).toEqual(messages.map((m) => m.messageId).sort());
    });

    it('pages 30 conversations that share a time, and ones with no message yet, 10 at a time, newest first', async () => {
      const channel = await fixtures.channel('paging');
      const account = `ig-paging-${uid()}`;
      await fixtures.linkAccount(account, channel.channelId);
      const same = new Date(Date.UTC(2026, 3, 1, 9));
      const withMessages = await fixtures.conversations({ channelId: channel.channelId, igAccountId: account, igsid: 'c-1' }, Array.from({ length: 30 }, () => ({ openedAt: new Date(Date.UTC(2026, 3, 1)), lastMessageAt: same })));
      // Only a referral so far: listed by the time they opened, among the others.
      const referralsOnly = await fixtures.conversations({ channelId: channel.channelId, igAccountId: account, igsid: 'c-2' }, [
        { openedAt: new Date(Date.UTC(2026, 3, 2)), lastMessageAt: null },
        { openedAt: same, lastMessageAt: null },
        { openedAt: new Date(Date.UTC(2026, 2, 1)), lastMessageAt: null },
      ]);
      const { ids, pages } = await pageThrough(call, `/v1/channels/${channel.channelId}/conversations`, { key: channel.apiKey, field: 'conversations', idField: 'conversationId', limit: 10 });
      expect(pages).toBe(4);
      const tied = [...withMessages.map((c) => c.conversationId), referralsOnly[1]!.conversationId].sort().reverse();
      expect(ids).toEqual([referralsOnly[0]!.conversationId, ...tied, referralsOnly[2]!.conversationId]);
    });

    it('pages 12 members created in the same millisecond, 5 at a time', async () => {
      const channel = await fixtures.channel('members');
      const createdAt = new Date(Date.UTC(2026, 4, 1));
      const members = Array.from({ length: 12 }, (_, index) => ({
        _id: `mem-${uid()}-${index}`,
        channelId: channel.channelId,
        name: `Member ${index}`,
        email: null,
        phone: null,
        note: null,
        instagramProfiles: [],
        createdAt,
      })).map((member) => ({ ...member, memberId: member._id }));
      await engine.models.members.collection.insertMany(members as never[]);
      const { ids, pages } = await pageThrough(call, `/v1/channels/${channel.channelId}/members`, { key: channel.apiKey, field: 'members', idField: 'memberId', limit: 5 });
      expect(pages).toBe(3);
      expect(ids).toEqual(members.map((m) => m.memberId).sort().reverse());
    });
  });

  describe('customers of an Instagram account that moved to another channel', () => {
    it("shows each channel its own conversations, and the customer to both; A's key no longer reads B's conversation", async () => {
      const channelA = await fixtures.channel('a');
      const channelB = await fixtures.channel('b');
      const stranger = await fixtures.channel('c');
      const account = `ig-moved-${uid()}`;
      const customerIgsid = `igsid-moved-${uid()}`;
      await fixtures.customer(account, customerIgsid, channelA.channelId);
      const [inA] = await fixtures.conversations({ channelId: channelA.channelId, igAccountId: account, igsid: customerIgsid }, [{ openedAt: new Date(Date.UTC(2026, 0, 5)), lastMessageAt: new Date(Date.UTC(2026, 0, 5)) }]);
      // The account moved to channel B (A5); the customer wrote again there.
      await fixtures.linkAccount(account, channelB.channelId);
      const [inB] = await fixtures.conversations({ channelId: channelB.channelId, igAccountId: account, igsid: customerIgsid }, [{ openedAt: new Date(Date.UTC(2026, 0, 20)), lastMessageAt: new Date(Date.UTC(2026, 0, 20)) }]);

      const seenByA = await call('GET', `/v1/customers/${account}/${customerIgsid}`, { key: channelA.apiKey });
      expect(seenByA.status).toBe(200);
      expect(seenByA.body.conversations.map((c: { conversationId: string }) => c.conversationId)).toEqual([inA!.conversationId]);
      const seenByB = await call('GET', `/v1/customers/${account}/${customerIgsid}`, { key: channelB.apiKey });
      expect(seenByB.status).toBe(200);
      expect(seenByB.body.conversations.map((c: { conversationId: string }) => c.conversationId)).toEqual([inB!.conversationId]);
      expect((await call('GET', `/v1/customers/${account}/${customerIgsid}`, { key: stranger.apiKey })).status).toBe(404);

      expect((await call('GET', `/v1/conversations/${inB!.conversationId}`, { key: channelA.apiKey })).status).toBe(404);
      expect((await call('GET', `/v1/conversations/${inB!.conversationId}/messages`, { key: channelA.apiKey })).status).toBe(404);
      expect((await call('GET', `/v1/conversations/${inA!.conversationId}`, { key: channelB.apiKey })).status).toBe(404);

      // Unlinked from B too: B still sees the customer through its own conversation; a channel with neither does not.
      await fixtures.linkAccount(account, channelB.channelId, 'unlinked');
      expect((await call('GET', `/v1/customers/${account}/${customerIgsid}`, { key: channelB.apiKey })).status).toBe(200);
      const newcomer = await fixtures.channel('d');
      await fixtures.linkAccount(account, newcomer.channelId, 'unlinked');
      expect((await call('GET', `/v1/customers/${account}/${customerIgsid}`, { key: newcomer.apiKey })).status).toBe(404);
    });

    it('shows a customer of a currently linked account before any conversation', async () => {
      const channel = await fixtures.channel('linked');
      const account = `ig-new-${uid()}`;
      await fixtures.linkAccount(account, channel.channelId);
      await fixtures.customer(account, 'fresh', 'someone-else');
      const seen = await call('GET', `/v1/customers/${account}/fresh`, { key: channel.apiKey });
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({ customer: { igsid: 'fresh', member: null }, conversations: [], conversationsNextCursor: null });
      expect(await engine.models.customers.exists({ _id: makeCustomerKey(account, 'fresh') })).toBeTruthy();
    });
  });
});
