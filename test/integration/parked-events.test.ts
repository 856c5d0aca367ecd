/**
 * Parked events through the real API, worker, database and Temporal dev server: the listing (newest first, paged,
 * every channel's for the operator token, the channel's own for a manager's key, 404 for another channel's account),
 * the replay of one event and of all of an account's (operator token or owner; agents 403), what becomes of an
 * event whose account must be re-authenticated or is not linked, two replays at once dispatching an event once, and
 * the operators' CLI. Events are stored parked by the test, as the conversation workflow leaves them (e2e makes one
 * the real way).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WebhookEvent } from '../../src/db/models/webhook-event';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { startEngine, testConfig, type RunningEngine } from '../support/engine';
import { signalledEventIds } from '../support/signals';
import { createApiCaller, createInboxFixtures, pageThrough, uid, type ApiCaller, type InboxFixtures, type Json, type TestChannel, type TestManager } from '../support/inbox-fixtures';
import { pollUntil } from '../support/poll';

jest.setTimeout(180_000);

const OPERATOR_TOKEN = 'operator-token-for-parked-event-tests';
const MINUTE_MS = 60_000;

describe('parked events', () => {
  let engine: RunningEngine;
  let call: ApiCaller;
  let fixtures: InboxFixtures;
  let mine: TestChannel;
  let agent: TestManager;
  let other: TestChannel;
  const igMine = `ig-parked-${uid()}`;
  const igOther = `ig-parked-other-${uid()}`;

  beforeAll(async () => {
    engine = await startEngine({ config: testConfig({ OPERATOR_TOKEN }) });
    call = createApiCaller(engine.baseUrl);
    fixtures = createInboxFixtures(engine.models);
    mine = await fixtures.channel('parked');
    other = await fixtures.channel('parked-other');
    agent = await fixtures.manager(mine.channelId, 'agent');
    await fixtures.linkAccount(igMine, mine.channelId);
    await fixtures.linkAccount(igOther, other.channelId);
  });

  afterAll(async () => {
    await engine?.stop();
  });

  const replayPath = (eventId: string): string => `/v1/parked-events/${encodeURIComponent(eventId)}/replay`;
  const statusOf = async (eventId: string): Promise<string | undefined> => (await engine.models.webhookEvents.findOne({ _id: eventId }).lean<WebhookEvent>())?.status;

  const eventually = <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> => pollUntil(probe, what, timeoutMs);

  const recorded = (eventId: string): Promise<true> => eventually(async () => ((await statusOf(eventId)) === 'recorded' ? true : undefined), `${eventId} recorded`);

  /** The `inboundEvent` signals its conversation workflow got for an event. */
  async function signalsFor(event: WebhookEvent): Promise<number> {
    const history = await engine.temporal.workflow.getHandle(makeConversationWorkflowId(event.igAccountId!, event.customerIgsid!)).fetchHistory();
    return signalledEventIds(history).filter((eventId) => eventId === event._id).length;
  }

  describe('the listing', () => {
    const at = new Date(Date.UTC(2026, 4, 1, 12));
    let listed: WebhookEvent[];
    let ofOther: WebhookEvent;

    beforeAll(async () => {
      const igsid = `c-list-${uid()}`;
      // Two share their receive time: the id breaks the tie.
      listed = [
        await fixtures.webhookEvent(igMine, igsid, { receivedAt: new Date(at.getTime() - MINUTE_MS) }),
        await fixtures.webhookEvent(igMine, igsid, { receivedAt: at, problem: 'Cannot read properties of null', recordAttempts: null }),
        await fixtures.webhookEvent(igMine, igsid, { receivedAt: at }),
      ];
      await fixtures.webhookEvent(igMine, igsid, { receivedAt: at, status: 'recorded' });
      ofOther = await fixtures.webhookEvent(igOther, `c-other-${uid()}`, { receivedAt: at });
    });

    const newestFirst = (events: WebhookEvent[]): string[] =>
      [...events].sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime() || (a._id < b._id ? 1 : -1)).map((event) => event._id);

    it("shows a manager the channel's parked events, newest first, page by page, with what went wrong", async () => {
      for (const key of [mine.apiKey, agent.apiKey]) {
        const paged = await pageThrough(call, `/v1/parked-events?igAccountId=${igMine}`, { key, field: 'parkedEvents', idField: 'eventId', limit: 1 });
        expect(paged.ids).toEqual(newestFirst(listed));
        expect(paged.pages).toBe(3);
        const all = await pageThrough(call, '/v1/parked-events', { key, field: 'parkedEvents', idField: 'eventId', limit: 2 });
        expect(all.ids).toEqual(newestFirst(listed));
      }
      const page = await call('GET', `/v1/parked-events?igAccountId=${igMine}&limit=200`, { key: mine.apiKey });
      const unknownAttempts = listed[1]!;
      expect(page.body.parkedEvents.find((row: Json) => row.eventId === unknownAttempts._id)).toEqual({
        eventId: unknownAttempts._id,
        igAccountId: igMine,
        customerIgsid: unknownAttempts.customerIgsid,
        kind: 'message',
        mid: unknownAttempts.mid,
        receivedAt: at.toISOString(),
        reason: 'Cannot read properties of null',
        attempts: null,
        replays: 0,
        lastReplayedAt: null,
      });
      expect(page.body.parkedEvents.find((row: Json) => row.eventId === listed[0]!._id)).toMatchObject({ attempts: 10, reason: 'the database did not answer' });
    });

    it('shows the operator every channel’s, and one account’s when asked', async () => {
      const all = await pageThrough(call, '/v1/parked-events', { key: OPERATOR_TOKEN, field: 'parkedEvents', idField: 'eventId', limit: 2 });
      expect(all.ids).toEqual(newestFirst([...listed, ofOther]));
      const theirs = await call('GET', `/v1/parked-events?igAccountId=${igOther}`, { key: OPERATOR_TOKEN });
      expect(theirs.body.parkedEvents.map((row: Json) => row.eventId)).toEqual([ofOther._id]);
    });

    it("answers another channel's account 404, and refuses no key, a bad key and a bad request", async () => {
      const theirs = await call('GET', `/v1/parked-events?igAccountId=${igOther}`, { key: mine.apiKey });
      expect(theirs.status).toBe(404);
      expect(theirs.body.error.message).toContain(igOther);
      expect((await call('GET', '/v1/parked-events', { key: other.apiKey })).body.parkedEvents.map((row: Json) => row.eventId)).toEqual([ofOther._id]);
      expect((await call('GET', '/v1/parked-events?igAccountId=no-such-account', { key: OPERATOR_TOKEN })).status).toBe(404);
      expect((await call('GET', '/v1/parked-events')).status).toBe(401);
      expect((await call('GET', '/v1/parked-events', { key: 'not-a-key' })).status).toBe(401);
      const badLimit = await call('GET', '/v1/parked-events?limit=0', { key: mine.apiKey });
      expect(badLimit.status).toBe(400);
      expect(badLimit.body.error.message).toContain('query.limit');
      const managersCursor = (await call('GET', `/v1/channels/${mine.channelId}/managers?limit=1`, { key: mine.apiKey })).body.nextCursor as string;
      const foreignCursor = await call('GET', `/v1/parked-events?cursor=${managersCursor}`, { key: mine.apiKey });
      expect(foreignCursor.status).toBe(400);
      expect(foreignCursor.body.error.message).toContain('query.cursor');
    });
  });

  describe('replaying one event', () => {
    it('makes it pending and dispatches it to its conversation, where it is recorded; again it is 409 naming its status', async () => {
      const event = await fixtures.webhookEvent(igMine, `c-one-${uid()}`, { text: 'the message that was parked' });
      const replayed = await call('POST', replayPath(event._id), { key: mine.apiKey });
      expect(replayed.status).toBe(200);
      expect(replayed.body).toEqual({ eventId: event._id, outcome: 'dispatched' });
      await recorded(event._id);
      const message = await engine.models.messages.findOne({ _id: event.mid }).lean();
      expect(message).toMatchObject({ text: 'the message that was parked', igsid: event.customerIgsid, direction: 'inbound' });
      const stored = await engine.models.webhookEvents.findOne({ _id: event._id }).lean<WebhookEvent>();
      expect(stored).toMatchObject({ status: 'recorded', problem: null, replays: 1, dispatchAttempts: 2, conversationId: message!.conversationId });

      const again = await call('POST', replayPath(event._id), { key: OPERATOR_TOKEN });
      expect(again.status).toBe(409);
      expect(again.body.error).toMatchObject({ type: 'EventNotParked', details: { status: 'recorded' } });
      expect(again.body.error.message).toContain(`${event._id} is recorded`);
      const listedNow = await call('GET', `/v1/parked-events?igAccountId=${igMine}&limit=200`, { key: mine.apiKey });
      expect(listedNow.body.parkedEvents.map((row: Json) => row.eventId)).not.toContain(event._id);
    });

    it('answers an unknown event 404 naming it, another channel’s 404, an agent 403, and changes nothing', async () => {
      const unknown = await call('POST', replayPath('message:no-such-mid'), { key: OPERATOR_TOKEN });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.message).toContain('message:no-such-mid');
      const event = await fixtures.webhookEvent(igMine, `c-refused-${uid()}`);
      expect((await call('POST', replayPath(event._id), { key: other.apiKey })).status).toBe(404);
      const byAgent = await call('POST', replayPath(event._id), { key: agent.apiKey });
      expect(byAgent.status).toBe(403);
      expect(byAgent.body.error.type).toBe('OwnerRequired');
      expect((await call('POST', replayPath(event._id))).status).toBe(401);
      expect(await statusOf(event._id)).toBe('parked');
    });

    it('keeps the event of an account that must be re-authenticated held, and of an account not linked unlinked', async () => {
      const igHeld = `ig-parked-held-${uid()}`;
      const igGone = `ig-parked-gone-${uid()}`;
      await fixtures.linkAccount(igHeld, mine.channelId, 'reauth_required');
      await fixtures.linkAccount(igGone, mine.channelId, 'unlinked');
      const held = await fixtures.webhookEvent(igHeld, `c-held-${uid()}`);
      const gone = await fixtures.webhookEvent(igGone, `c-gone-${uid()}`);
      expect((await call('POST', replayPath(held._id), { key: mine.apiKey })).body).toEqual({ eventId: held._id, outcome: 'held' });
      expect((await call('POST', replayPath(gone._id), { key: OPERATOR_TOKEN })).body).toEqual({ eventId: gone._id, outcome: 'unlinked' });
      expect(await statusOf(held._id)).toBe('held');
      expect(await statusOf(gone._id)).toBe('unlinked');
    });
  });

  describe('replaying every parked event of an account', () => {
    it("dispatches them in Meta's order to their conversation, where each is recorded once", async () => {
      const igAccount = `ig-parked-all-${uid()}`;
      await fixtures.linkAccount(igAccount, mine.channelId);
      const igsid = `c-all-${uid()}`;
      const start = Date.now() - 10 * MINUTE_MS;
      // Delivered (and parked) newest first: the replay puts them back in the customer's order.
      const events = [];
      for (const offset of [2, 1, 0]) events.push(await fixtures.webhookEvent(igAccount, igsid, { occurredAt: new Date(start + offset * MINUTE_MS), receivedAt: new Date(start + (3 - offset) * MINUTE_MS) }));
      const replayed = await call('POST', '/v1/parked-events/replay', { key: mine.apiKey, body: { igAccountId: igAccount } });
      expect(replayed.status).toBe(200);
      expect(replayed.body).toEqual({ igAccountId: igAccount, replayed: 3, dispatched: 3, queued: 0, held: 0, unlinked: 0, recorded: 0 });
      for (const event of events) await recorded(event._id);
      const stored = await engine.models.webhookEvents.find({ igAccountId: igAccount }).lean<WebhookEvent[]>();
      const byRecording = [...stored].sort((a, b) => a.recordedAt!.getTime() - b.recordedAt!.getTime() || (a.occurredAt < b.occurredAt ? -1 : 1));
      expect(byRecording.map((event) => event.occurredAt.getTime())).toEqual([0, 1, 2].map((offset) => start + offset * MINUTE_MS));
      expect(new Set(stored.map((event) => event.conversationId)).size).toBe(1);
      for (const event of events) expect(await signalsFor(event)).toBe(1);

      const again = await call('POST', '/v1/parked-events/replay', { key: OPERATOR_TOKEN, body: { igAccountId: igAccount } });
      expect(again.body).toMatchObject({ replayed: 0, dispatched: 0 });
    });

    it('answers an account of another channel or none 404, an agent 403, a bad body 400', async () => {
      const theirs = await call('POST', '/v1/parked-events/replay', { key: mine.apiKey, body: { igAccountId: igOther } });
      expect(theirs.status).toBe(404);
      expect(theirs.body.error.message).toContain(igOther);
      expect((await call('POST', '/v1/parked-events/replay', { key: OPERATOR_TOKEN, body: { igAccountId: 'no-such-account' } })).status).toBe(404);
      const byAgent = await call('POST', '/v1/parked-events/replay', { key: agent.apiKey, body: { igAccountId: igMine } });
      expect(byAgent.status).toBe(403);
      const bad = await call('POST', '/v1/parked-events/replay', { key: mine.apiKey, body: { account: igMine } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain('body.igAccountId');
    });
  });

  describe('two replays at once', () => {
    it('dispatch an event once: one replays it, the other is told it is not parked any more', async () => {
      const event = await fixtures.webhookEvent(igMine, `c-race-${uid()}`);
      const answers = await Promise.all([call('POST', replayPath(event._id), { key: mine.apiKey }), call('POST', replayPath(event._id), { key: OPERATOR_TOKEN })]);
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
      expect(answers.find((answer) => answer.status === 409)!.body.error.type).toBe('EventNotParked');
      await recorded(event._id);
      expect(await signalsFor(event)).toBe(1);
      expect(await engine.models.webhookEvents.findOne({ _id: event._id }).lean<WebhookEvent>()).toMatchObject({ replays: 1, dispatchAttempts: 2 });
    });

    it("of a whole account, and of one of its events, dispatch each event once", async () => {
      const igAccount = `ig-parked-race-${uid()}`;
      await fixtures.linkAccount(igAccount, mine.channelId);
      const igsid = `c-race-all-${uid()}`;
      const events = [await fixtures.webhookEvent(igAccount, igsid), await fixtures.webhookEvent(igAccount, igsid), await fixtures.webhookEvent(igAccount, igsid)];
      const [first, second, single] = await Promise.all([
        call('POST', '/v1/parked-events/replay', { key: mine.apiKey, body: { igAccountId: igAccount } }),
        call('POST', '/v1/parked-events/replay', { key: OPERATOR_TOKEN, body: { igAccountId: igAccount } }),
        call('POST', replayPath(events[1]!._id), { key: OPERATOR_TOKEN }),
      ]);
      expect(first.body.replayed + second.body.replayed + (single.status === 200 ? 1 : 0)).toBe(3);
      for (const event of events) await recorded(event._id);
      for (const event of events) expect(await signalsFor(event)).toBe(1);
    });
  });

  describe('the CLI', () => {
    let dataDir: string;
    beforeAll(() => {
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'igdm-parked-cli-'));
    });
    afterAll(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** `npm run events:parked -- <args>` against the test engine's database and task queue. */
    async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      const env = {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        DATA_DIR: dataDir,
        MONGODB_URI: engine.config.mongodb.uri,
        TEMPORAL_ADDRESS: engine.config.temporal.address,
        TEMPORAL_TASK_QUEUE: engine.config.temporal.taskQueue,
        OPERATOR_TOKEN,
        TOKEN_ENCRYPTION_KEYS: `cli:${Buffer.alloc(32, 3).toString('base64')}`,
      };
      return promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/parked-events.ts', ...args], { env, timeout: 60_000 }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    }

    it('lists an account’s parked events, replays one, refuses it again, and replays the rest of the account', async () => {
      const igAccount = `ig-parked-cli-${uid()}`;
      await fixtures.linkAccount(igAccount, mine.channelId);
      const igsid = `c-cli-${uid()}`;
      const [one, two] = [await fixtures.webhookEvent(igAccount, igsid, { problem: 'the database did not answer' }), await fixtures.webhookEvent(igAccount, igsid)];

      const listed = await cli('list', '--account', igAccount);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(`2 parked event(s) of account ${igAccount}`);
      expect(listed.stdout).toContain(`${one._id}  account ${igAccount}  customer ${igsid}  message  received ${one.receivedAt.toISOString()}  attempts 10`);
      expect(listed.stdout).toContain('reason: the database did not answer');

      const replayed = await cli('replay', one._id);
      expect(replayed).toMatchObject({ code: 0 });
      expect(replayed.stdout).toContain(`replayed ${one._id}: dispatched to its conversation`);
      await recorded(one._id);
      const again = await cli('replay', one._id);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`webhook event ${one._id} is recorded, not parked`);
      expect((await cli('replay', 'message:no-such-mid')).stderr).toContain('no webhook event message:no-such-mid');

      const rest = await cli('replay', '--account', igAccount);
      expect(rest.stdout).toContain(`replayed 1 parked event(s) of account ${igAccount}: 1 dispatched`);
      await recorded(two._id);
      expect((await cli('list', '--account', igAccount)).stdout).toContain(`no parked events of account ${igAccount}`);
    });

    it('prints the usage and exits 2 for arguments it does not understand', async () => {
      for (const args of [[], ['lsit'], ['replay'], ['replay', 'a', 'b'], ['replay', 'a', '--account', 'b'], ['list', '--limit', 'zero'], ['list', '--colour']]) {
        const refused = await cli(...args);
        expect({ args, code: refused.code }).toEqual({ args, code: 2 });
        expect(refused.stderr).toContain('usage: npm run events:parked -- list');
      }
    });
  });
});
