/**
 * Hostile input, generated (property-based, fast-check) against a running engine with a linked account: requests
 * to every route of the API document by every kind of caller, and webhook deliveries signed, unsigned and badly
 * signed, with the values that once broke the engine. Nothing may be answered 5xx or hang, nothing unsigned is
 * stored, no other channel's data is served, no link is served that is not http(s). Afterwards the engine is ready
 * again within 30 s, a normal message is readable within 10 s, and neither the logs nor the workflow histories hold a
 * secret, a token or a message's text.
 *
 * HOSTILE_REQUESTS sets how many requests (a bounded count by default; `npm run fuzz` runs 10,000), HOSTILE_SEED
 * replays a run.
 */
import fc from 'fast-check';
import { signatureSha256 } from '../../emulator/meta-json';
import { createInboxFixtures } from '../support/inbox-fixtures';
import { documentedRoutes, hostileRequest, judgeApiAnswer, type Answer, type Callers, type DocumentedRoute, type HostileRequest } from '../support/hostile-requests';
import { CANARY, hostileDelivery, isSafeLink, judgeWebhookAnswer, type HostileDelivery } from '../support/hostile-webhooks';
import { startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';
import { historiesOfTaskQueue, unsafeLinksIn } from '../support/leak-scan';
import { assertProperty } from '../support/property';

const OPERATOR_TOKEN = 'hostile-operator-token-0123456789';
const APP_SECRET = 'inbound-test-app-secret';
const REQUESTS = Number(process.env.HOSTILE_REQUESTS ?? 450);
const SEED = process.env.HOSTILE_SEED === undefined ? undefined : Number(process.env.HOSTILE_SEED);
/** Longer than any answer may take: a request still open after it is a hang. */
const HANG_AFTER_MS = 20_000;

jest.setTimeout(Math.max(600_000, REQUESTS * 200));

/** Routes whose success would end the world this test runs in (its account unlinked); they are tested elsewhere. */
const LEFT_OUT = new Set(['unlinkInstagramAccount', 'webhookDelivery']);

async function send(baseUrl: string, method: string, path: string, headers: Record<string, string>, body: Uint8Array | string | undefined): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body, signal: AbortSignal.timeout(HANG_AFTER_MS), redirect: 'manual' });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

const runOptions = (numRuns: number): fc.Parameters<[unknown]> => ({ numRuns, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true });

describe('hostile input', () => {
  let world: InboundWorld;
  let callers: Callers;
  let ids: string[];
  let routes: DocumentedRoute[];
  const secrets: string[] = [];

  beforeAll(async () => {
    world = await startInboundWorld({ engineEnv: { OPERATOR_TOKEN } });
    const fixtures = createInboxFixtures(world.engine.models);
    const other = await fixtures.channel('other');
    const agent = await fixtures.manager(world.channelId, 'agent');
    const created = await world.control('POST', '/ig-users', { username: 'hostile.after', name: 'After The Storm' });
    if (created.status !== 201) throw new Error(`could not create a customer: ${JSON.stringify(created.body)}`);
    callers = { agentKey: agent.apiKey, ownerKey: world.apiKey, otherOwnerKey: other.apiKey, operatorToken: OPERATOR_TOKEN };
    const { igsid } = await world.customer({ kind: 'text', text: 'a first message before the storm' });
    const [message] = await world.messagesOf(igsid, 1);
    const conversation = await world.conversationOf(igsid);
    ids = [world.channelId, world.igAccountId, igsid, conversation.conversationId, message.messageId, agent.managerId];
    const document = (await (await fetch(`${world.engine.baseUrl}/openapi.json`)).json()) as Parameters<typeof documentedRoutes>[0];
    routes = documentedRoutes(document).filter((route) => !LEFT_OUT.has(route.operationId));
    secrets.push(APP_SECRET, world.pageToken, world.apiKey, agent.apiKey, other.apiKey, OPERATOR_TOKEN, world.env.TOKEN_ENCRYPTION_KEYS!.split(':')[1]!);
  });

  afterAll(async () => {
    await world?.close();
  });

  it('answers every request to every route without a 5xx, a hang or another channel’s data', async () => {
    expect(routes.length).toBeGreaterThan(30);
    const statuses = new Map<number, number>();
    await assertProperty(
      fc.asyncProperty(hostileRequest(routes, ids, callers), async (request: HostileRequest) => {
        const answer = await send(world.engine.baseUrl, request.method, request.path, request.headers, request.body);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const wrong = judgeApiAnswer(request, answer);
        if (wrong) throw new Error(`${request.method} ${request.path.slice(0, 200)} as ${request.caller}: ${wrong}`);
      }),
      runOptions(Math.ceil((REQUESTS * 2) / 3)),
    );
    // The generator reached the routes' own answers, not only their refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(404) ?? 0).toBeGreaterThan(0);
  });

  it('answers every webhook delivery as Meta expects and stores nothing unsigned', async () => {
    const outcomes = new Map<string, number>();
    await assertProperty(
      fc.asyncProperty(hostileDelivery(APP_SECRET, world.igAccountId), async (delivery: HostileDelivery) => {
        // Marked so that the store can be searched for it: nothing unsigned may be there.
        const body = delivery.signing === 'signed' ? delivery.body : delivery.body.replaceAll('m_hostile_', 'm_unsigned_');
        const answer = await send(world.engine.baseUrl, 'POST', '/webhooks/instagram', delivery.headers, body);
        outcomes.set(`${delivery.signing} ${answer.status}`, (outcomes.get(`${delivery.signing} ${answer.status}`) ?? 0) + 1);
        const wrong = judgeWebhookAnswer(delivery, answer.status);
        if (wrong) throw new Error(`${wrong}: ${answer.text.slice(0, 300)}`);
      }),
      runOptions(Math.ceil(REQUESTS / 3)),
    );
    expect(outcomes.get('signed 200') ?? 0).toBeGreaterThan(0);
    const stored = await world.engine.models.webhookEvents.find({}).lean();
    expect(stored.length).toBeGreaterThan(0);
    expect(JSON.stringify(stored)).not.toContain('m_unsigned_');
  });

  it('is ready again within 30 s, and once what it stored is worked off a normal message is readable within 10 s', async () => {
    await world.eventually(async () => ((await fetch(`${world.engine.baseUrl}/readyz`)).status === 200 ? true : undefined), 30_000, 'readiness');
    const text = `an ordinary message after the storm ${Date.now()}`;
    // What the storm stored is worked off first (new customers by the hundred); then the stack is as usual.
    const drained = await world.eventually(async () => ((await world.engine.models.webhookEvents.countDocuments({ status: 'pending' })) === 0 ? Date.now() : undefined), Math.max(120_000, REQUESTS * 40), 'the stored events to be worked off', 250);
    expect(drained).toBeGreaterThan(0);
    const { igsid } = await world.customer({ kind: 'text', text }, 'hostile.after');
    // Within 10 s of the customer sending it: its conversation found and the message in it.
    const shown = await world.eventually(async () => {
      const customer = await world.inbox(`/v1/customers/${world.igAccountId}/${igsid}`);
      const conversationId = (customer.body.conversations as Json[] | undefined)?.[0]?.conversationId as string | undefined;
      if (!conversationId) return undefined;
      const { body } = await world.inbox(`/v1/conversations/${conversationId}/messages`);
      return (body.messages as Json[]).find((message) => message.text === text);
    }, 10_000, 'the ordinary message');
    expect(shown.direction).toBe('inbound');
  });

  it('then refuses two signed deliveries of 100,000 entries each with 413 and stores nothing of them, while a message sent meanwhile is shown as usual', async () => {
    const before = await world.engine.models.webhookEvents.countDocuments({});
    const entry = JSON.stringify({ id: world.igAccountId, time: Date.now(), messaging: [{ sender: { id: '1111111111111111' }, recipient: { id: world.igAccountId }, timestamp: Date.now(), message: { mid: 'm_flood', text: `${CANARY} flood` } }] });
    const flood = `{"object":"instagram","entry":[${Array.from({ length: 100_000 }, () => entry).join(',')}]}`;
    const body = flood.length > world.engine.config.api.webhookMaxBodyBytes ? `{"object":"instagram","entry":[${Array.from({ length: 100_000 }, () => '{}').join(',')}]}` : flood;
    const headers = { 'content-type': 'application/json', 'x-hub-signature-256': signatureSha256(APP_SECRET, body) };
    const text = `sent during the flood ${Date.now()}`;
    const [first, second, sent] = await Promise.all([
      send(world.engine.baseUrl, 'POST', '/webhooks/instagram', headers, body),
      send(world.engine.baseUrl, 'POST', '/webhooks/instagram', headers, body),
      world.customer({ kind: 'text', text }, 'hostile.after'),
    ]);
    expect([first.status, second.status]).toEqual([413, 413]);
    expect(JSON.parse(first.text).error).toMatchObject({ type: 'TooManyEntries', message: expect.stringContaining('100000 entries') });
    const shown = await world.eventually(async () => (await world.messagesOf(sent.igsid, 1)).find((message: Json) => message.text === text), 20_000, 'the message sent during the flood');
    expect(shown.direction).toBe('inbound');
    expect(await world.engine.models.webhookEvents.countDocuments({ mid: 'm_flood' })).toBe(0);
    expect(await world.engine.models.webhookEvents.countDocuments({})).toBeGreaterThan(before);
  });

  it('serves no link that is not http(s)', async () => {
    const { body } = await world.inbox(`/v1/channels/${world.channelId}/conversations?limit=100`);
    const conversations = body.conversations as Json[];
    expect(conversations.length).toBeGreaterThan(1);
    let attachments = 0;
    for (const conversation of conversations) {
      const messages = await world.inbox(`/v1/conversations/${conversation.conversationId}/messages?limit=1000`);
      expect(messages.status).toBe(200);
      expect(unsafeLinksIn(messages.body, isSafeLink)).toEqual([]);
      attachments += (messages.body.messages as Json[]).reduce((count, message) => count + (message.attachments as Json[]).length, 0);
    }
    // The deliveries' links reached the inbox: the check above had something to judge.
    expect(attachments).toBeGreaterThan(0);
  });

  it('leaves no secret, token or message text in the logs or the workflow histories', async () => {
    const logs = world.engine.logs.join('\n');
    const histories = await historiesOfTaskQueue(world.engine.temporal, world.engine.config.temporal.taskQueue);
    expect(logs.length).toBeGreaterThan(0);
    expect(histories.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(logs.includes(secret)).toBe(false);
      expect(histories.includes(secret)).toBe(false);
    }
    expect(logs.includes(CANARY)).toBe(false);
    expect(histories.includes(CANARY)).toBe(false);
  });
});
