/**
 * The sweeper hands over what the dispatch after the answer did not: events nobody claimed, and events claimed by a
 * dispatcher that stopped before signalling them (a crashed API replica). Real database and Temporal dev server;
 * no worker, so what is checked is the signal in the workflow's history.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createInboundDispatcher } from '../../src/inbound/dispatcher';
import { startDispatcherPresence } from '../../src/inbound/dispatcher-presence';
import type { MessageProjector } from '../../src/inbound/message-projector';
import { createLogger } from '../../src/logger';
import { createApiMetrics } from '../../src/metrics/engine-metrics';
import { createTemporalAccess } from '../../src/temporal/client';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { newLinkedAccount } from '../../src/db/models/linked-account';
import { startEngine, terminateIfRunning, testConfig, type RunningEngine } from '../support/engine';
import { samplesOf, sampleValue } from '../support/metrics';
import { signalledEventIds } from '../support/signals';

/** Refused signals: three tries, 300 ms and then 600 ms apart, so that the back-off can be watched. */
const REFUSAL_DELAY_MS = 300;

describe('sweeper', () => {
  let engine: RunningEngine;
  const igAccountId = `ig-sweep-${Date.now()}`;
  const started: string[] = [];

  beforeAll(async () => {
    const config = testConfig({ WEBHOOK_DISPATCH_REFUSAL_ATTEMPTS: '3', WEBHOOK_DISPATCH_REFUSAL_DELAY_MS: String(REFUSAL_DELAY_MS), WEBHOOK_DISPATCH_REFUSAL_MAX_DELAY_MS: '5000' });
    engine = await startEngine({ config, worker: false });
    await engine.models.linkedAccounts.create(
      newLinkedAccount({ igAccountId, channelId: 'channel-sweep', pageId: 'page-sweep', username: 'sweep.shop', pageToken: { keyId: 'k1', iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' } }),
    );
  });

  afterAll(async () => {
    for (const workflowId of started) await terminateIfRunning(engine.temporal, workflowId);
    await engine.stop();
  });

  async function storeEvent(key: string, igsid: string, fields: Record<string, unknown>): Promise<void> {
    const at = new Date();
    await engine.models.webhookEvents.collection.insertOne({
      _id: key as never,
      eventKey: key,
      status: 'pending',
      kind: 'message',
      igAccountId,
      customerIgsid: igsid,
      mid: key,
      occurredAt: at,
      receivedAt: new Date(at.getTime() - 60_000),
      payload: {},
      problem: null,
      dispatchAttempts: 0,
      ...fields,
    });
  }

  async function signalledEventIdsOf(igsid: string): Promise<string[]> {
    const workflowId = makeConversationWorkflowId(igAccountId, igsid);
    started.push(workflowId);
    const history = await engine.temporal.workflow.getHandle(workflowId).fetchHistory();
    return signalledEventIds(history);
  }

  it('dispatches unclaimed events and stale claims, and leaves fresh claims to their dispatcher', async () => {
    await storeEvent('message:unclaimed', 'c-1', { dispatchedAt: null });
    await storeEvent('message:stale-claim', 'c-2', { dispatchedAt: new Date(Date.now() - 10 * 60_000), dispatchAttempts: 1 });
    await storeEvent('message:fresh-claim', 'c-3', { dispatchedAt: new Date(), dispatchAttempts: 1 });

    const report = await engine.dispatcher.sweep();
    expect(report).toEqual({ dispatched: 2, failed: 0, unlinked: 0, held: 0, ownEchoes: 0, recorded: 0 });

    expect(await signalledEventIdsOf('c-1')).toEqual(['message:unclaimed']);
    expect(await signalledEventIdsOf('c-2')).toEqual(['message:stale-claim']);
    const fresh = engine.temporal.workflow.getHandle(makeConversationWorkflowId(igAccountId, 'c-3'));
    await expect(fresh.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const stale = await engine.models.webhookEvents.findOne({ _id: 'message:stale-claim' }).lean();
    expect(stale?.dispatchAttempts).toBe(2);
    expect(stale?.dispatchedAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('takes over at once the claims of an API process that stopped, and leaves those a live process may still signal', async () => {
    const presences = engine.models.dispatcherPresences;
    const now = Date.now();
    // A process killed a minute ago: it started ten minutes ago and has not said it is alive since.
    await presences.create({ _id: 'stopped-process', startedAt: new Date(now - 10 * 60_000), renewedAt: new Date(now - 60_000) });
    const live = startDispatcherPresence({ models: engine.models, logger: createLogger({ write: () => undefined }) });
    try {
      let orphanedBefore: Date | undefined;
      for (let tries = 0; orphanedBefore === undefined && tries < 100; tries += 1) {
        orphanedBefore = await live.claimsOrphanedBefore();
        if (orphanedBefore === undefined) await sleep(50);
      }
      expect(orphanedBefore!.getTime()).toBeGreaterThan(now - 10_000);

      // Claimed 30 s ago, before the only live process started: the stopped one made that claim.
      await storeEvent('message:orphaned-claim', 'c-orphan', { dispatchedAt: new Date(now - 30_000), dispatchAttempts: 1 });
      await storeEvent('message:live-claim', 'c-live-claim', { dispatchedAt: new Date(), dispatchAttempts: 1 });
      await engine.dispatcher.sweep({ orphanedBefore: orphanedBefore! });
      expect(await signalledEventIdsOf('c-orphan')).toEqual(['message:orphaned-claim']);
      await expect(engine.temporal.workflow.getHandle(makeConversationWorkflowId(igAccountId, 'c-live-claim')).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

      // Another process alive since before that claim may be the one signalling it: it is left alone.
      await presences.create({ _id: 'older-live-process', startedAt: new Date(now - 5 * 60_000), renewedAt: new Date() });
      await storeEvent('message:maybe-live-claim', 'c-maybe-live', { dispatchedAt: new Date(now - 30_000), dispatchAttempts: 1 });
      const withOlderProcess = await live.claimsOrphanedBefore();
      expect(withOlderProcess!.getTime()).toBeLessThan(now - 5 * 60_000);
      await engine.dispatcher.sweep({ orphanedBefore: withOlderProcess! });
      await expect(engine.temporal.workflow.getHandle(makeConversationWorkflowId(igAccountId, 'c-maybe-live')).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    } finally {
      await live.stop();
      await presences.deleteMany({ _id: { $in: ['stopped-process', 'older-live-process'] } });
    }
    // A clean stop leaves no presence to time out.
    expect(await presences.countDocuments()).toBe(0);
  });

  it('records with the ingress only as many conversations at once as it may; the messages of the others go to their workflows', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const projected: string[] = [];
    const projector: MessageProjector = {
      async project(event) {
        projected.push(event.eventKey);
        await held;
        // Recorded, as the real projector would leave it.
        await engine.models.webhookEvents.updateOne({ _id: event.eventKey }, { $set: { status: 'recorded', recordedAt: new Date() } });
        return 'recorded';
      },
    };
    const config = testConfig();
    const dispatcher = createInboundDispatcher({ models: engine.models, temporal: engine.temporal, taskQueue: config.temporal.taskQueue, logger: createLogger({ write: () => undefined }), metrics: createApiMetrics(), projector, maxConversationsRecording: 1 });
    await storeEvent('message:busy-1', 'c-busy-1', { dispatchedAt: null });
    await storeEvent('message:busy-2', 'c-busy-2', { dispatchedAt: null });
    const at = new Date();
    const first = dispatcher.dispatch([{ eventKey: 'message:busy-1', igAccountId, customerIgsid: 'c-busy-1', occurredAt: at, kind: 'message' }]);
    for (let tries = 0; projected.length === 0 && tries < 100; tries += 1) await sleep(20);
    expect(projected).toEqual(['message:busy-1']);
    // The projector is busy with the first conversation: the second one's message is signalled to its workflow.
    const second = await dispatcher.dispatch([{ eventKey: 'message:busy-2', igAccountId, customerIgsid: 'c-busy-2', occurredAt: at, kind: 'message' }]);
    expect(second).toMatchObject({ dispatched: 1, recorded: 0 });
    expect(await signalledEventIdsOf('c-busy-2')).toEqual(['message:busy-2']);
    release();
    expect(await first).toMatchObject({ dispatched: 0, recorded: 1 });
    expect(projected).toEqual(['message:busy-1']);
  });

  it("records the echo of a reply already sent without signalling, and hands an unsettled reply's echo to the workflow", async () => {
    const reply = (id: string, status: string) => ({
      _id: id, messageId: id, conversationId: 'conversation-echo', channelId: 'channel-sweep', igAccountId, igsid: 'c-echo', direction: 'outbound', senderType: 'manager', kind: 'text',
      text: 'thanks', attachments: [], story: null, replyToMid: null, sentAt: new Date(), receivedAt: new Date(), status, deletedAt: null, editCount: 0, reaction: null, error: null,
    });
    await engine.models.messages.collection.insertMany([reply('reply-sent', 'sent'), reply('reply-sending', 'sending')] as never[]);
    await engine.models.outboundMids.collection.insertMany([{ _id: 'mid-sent', messageId: 'reply-sent' }, { _id: 'mid-sending', messageId: 'reply-sending' }] as never[]);
    await storeEvent('echo:mid-sent', 'c-echo', { kind: 'echo', mid: 'mid-sent', dispatchedAt: null });
    await storeEvent('echo:mid-sending', 'c-echo', { kind: 'echo', mid: 'mid-sending', dispatchedAt: null });

    const report = await engine.dispatcher.sweep();
    expect(report).toEqual({ dispatched: 1, failed: 0, unlinked: 0, held: 0, ownEchoes: 1, recorded: 0 });
    expect(await engine.models.webhookEvents.findOne({ _id: 'echo:mid-sent' }).lean()).toMatchObject({ status: 'recorded', conversationId: 'conversation-echo' });
    expect(await signalledEventIdsOf('c-echo')).toEqual(['echo:mid-sending']);
  });

  describe('a poison event: one whose signal Temporal refuses every time', () => {
    // Stored in the shape of events before ids were bounded (running deployments hold such events): a sender id of
    // 5 KB makes a workflow id Temporal refuses.
    const poisonIgsid = '7'.repeat(5 * 1024);
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const refusalsOf = async (key: string) => (await engine.models.webhookEvents.findOne({ _id: key }).lean())!;

    it('is tried again only after a growing back-off, then parked with the reason, never retried for ever', async () => {
      const key = 'message:poison';
      await storeEvent(key, poisonIgsid, { dispatchedAt: null, payload: { sender: { id: poisonIgsid }, message: { mid: 'poison', text: 'x' } } });
      const parkedCount = async () => sampleValue(await samplesOf(engine.metrics.api.registry), 'igdm_inbound_events_parked_total', { kind: 'message' });
      const parkedBefore = await parkedCount();

      expect(await engine.dispatcher.sweep()).toMatchObject({ dispatched: 0, failed: 1 });
      const first = await refusalsOf(key);
      expect(first).toMatchObject({ status: 'pending', dispatchRefusals: 1, dispatchedAt: null });
      expect(first.nextDispatchAt!.getTime()).toBeGreaterThan(Date.now());

      // Backing off: the next rounds leave it alone until its time comes.
      expect(await engine.dispatcher.sweep()).toMatchObject({ dispatched: 0, failed: 0 });
      await wait(REFUSAL_DELAY_MS + 100);
      expect(await engine.dispatcher.sweep()).toMatchObject({ failed: 1 });
      const second = await refusalsOf(key);
      expect(second).toMatchObject({ status: 'pending', dispatchRefusals: 2 });
      // Doubled: 600 ms after the second refusal.
      expect(second.nextDispatchAt!.getTime() - Date.now()).toBeGreaterThan(REFUSAL_DELAY_MS);
      expect(await engine.dispatcher.sweep()).toMatchObject({ failed: 0 });

      await wait(2 * REFUSAL_DELAY_MS + 100);
      expect(await engine.dispatcher.sweep()).toMatchObject({ failed: 1 });
      const parked = await refusalsOf(key);
      expect(parked).toMatchObject({ status: 'parked', dispatchRefusals: 3, nextDispatchAt: null, problem: expect.stringMatching(/^Temporal refused the signal to its conversation 3 times: /) });
      expect(parked.problem!.length).toBeLessThan(400);
      expect(await parkedCount()).toBe(parkedBefore + 1);

      // Parked: no round takes it again.
      await wait(2 * REFUSAL_DELAY_MS);
      expect(await engine.dispatcher.sweep()).toMatchObject({ dispatched: 0, failed: 0 });
      expect((await refusalsOf(key)).dispatchRefusals).toBe(3);
      expect(await parkedCount()).toBe(parkedBefore + 1);
      // The log says so, without the 5 KB id.
      const lines = engine.logs.filter((line) => line.includes('parked'));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of engine.logs) expect(line).not.toContain(poisonIgsid.slice(0, 400));
    });

    it('does not count Temporal being unreachable as a refusal: such events wait for it, however long', async () => {
      const config = testConfig();
      const unreachable = createTemporalAccess({ ...config.temporal, address: '127.0.0.1:1' });
      const dispatcher = createInboundDispatcher({
        models: engine.models,
        temporal: unreachable.client,
        taskQueue: config.temporal.taskQueue,
        logger: createLogger({ write: () => undefined }),
        metrics: createApiMetrics(),
        refusalRetry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
      });
      try {
        await storeEvent('message:temporal-down', 'c-down', { dispatchedAt: null });
        const report = await dispatcher.dispatch([{ eventKey: 'message:temporal-down', igAccountId, customerIgsid: 'c-down', occurredAt: new Date(), kind: 'message' }]);
        expect(report).toMatchObject({ dispatched: 0, failed: 1 });
        const event = await refusalsOf('message:temporal-down');
        expect(event).toMatchObject({ status: 'pending', dispatchedAt: null });
        expect(event.dispatchRefusals ?? 0).toBe(0);
      } finally {
        await unreachable.close();
      }
    });
  });
});
