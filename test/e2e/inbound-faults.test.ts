/**
 * Inbound under Meta's delivery habits and our own failures (B11, E2): a 1,000-entry batch; every event delivered
 * twice, in reverse order and late; Temporal stopped during a burst; the worker killed during a burst. In every
 * case each acknowledged event arrives once, in the customer's order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { findFreePort, startTemporalDevServer, type ManagedProcess } from '../../scripts/lib/processes';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';
import { signalledEventIds } from '../support/signals';
import { startWorldWorker, type RunningWorker } from '../support/world-worker';
import { createWorkerProcesses } from '../support/worker-processes';

jest.setTimeout(600_000);

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates `count` Instagram users in the emulator; answers their usernames. */
async function createCustomers(world: InboundWorld, prefix: string, count: number): Promise<string[]> {
  const usernames: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const username = `${prefix}.${index}`;
    const created = await world.control('POST', '/ig-users', { username, name: `Customer ${index}` });
    if (created.status !== 201) throw new Error(`could not create ${username}: ${JSON.stringify(created.body)}`);
    usernames.push(username);
  }
  return usernames;
}

/** Each customer sends `perCustomer` numbered texts, round robin, 2 ms apart so Meta's timestamps differ. */
async function burst(world: InboundWorld, usernames: string[], perCustomer: number, label: string, between?: (sent: number) => Promise<void>) {
  const sent = new Map<string, Array<{ mid: string; text: string; timestamp: number }>>();
  let total = 0;
  for (let round = 0; round < perCustomer; round += 1) {
    for (const username of usernames) {
      const text = `${label} ${username} #${round}`;
      const result = await world.customer({ kind: 'text', text }, username);
      sent.set(result.igsid, [...(sent.get(result.igsid) ?? []), { mid: result.mid!, text, timestamp: result.timestamp }]);
      total += 1;
      await between?.(total);
      await pause(2);
    }
  }
  return sent;
}

/** Every customer's conversation shows exactly what was sent, once each, in the order sent. */
async function expectAllArrivedInOrder(world: InboundWorld, sent: Map<string, Array<{ mid: string; text: string }>>, timeoutMs: number) {
  // Wait on one count rather than polling every conversation: the local database answers other filters by scanning.
  const total = [...sent.values()].reduce((sum, messages) => sum + messages.length, 0);
  await world.eventually(async () => ((await world.engine.models.messages.countDocuments({})) >= total ? true : undefined), timeoutMs, `${total} messages`, 500);
  for (const [igsid, messages] of sent) {
    const shown: Json[] = await world.messagesOf(igsid, messages.length, timeoutMs);
    expect(shown.map((m) => m.text)).toEqual(messages.map((m) => m.text));
    expect(new Set(shown.map((m) => m.mid)).size).toBe(messages.length);
  }
}

async function allDeliveriesAcknowledged(world: InboundWorld): Promise<Json[]> {
  const idle = await world.control('POST', '/webhooks/wait-idle', { timeoutMs: 60_000 });
  expect(idle.body.idle).toBe(true);
  const deliveries = (await world.control('GET', '/deliveries')).body.data as Json[];
  expect(deliveries.length).toBeGreaterThan(0);
  expect(deliveries.filter((d) => d.state !== 'delivered')).toEqual([]);
  return deliveries;
}

describe('a batch of 1,000 events', () => {
  let world: InboundWorld;
  beforeAll(async () => {
    world = await startInboundWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('stores and shows every event of one 1,000-entry delivery', async () => {
    const usernames = await createCustomers(world, 'batch', 20);
    await world.control('PUT', '/webhooks/switches', { hold: true, batchSize: 1000 });
    const sent = await burst(world, usernames, 50, 'batch');
    await world.control('PUT', '/webhooks/switches', { hold: false });
    await world.control('POST', '/webhooks/flush');
    const deliveries = await allDeliveriesAcknowledged(world);
    expect(deliveries.map((d) => d.entryCount)).toEqual([1000]);
    expect(await world.engine.models.webhookEvents.countDocuments({ kind: 'message' })).toBe(1000);
    // Two cores record a few dozen events a second end to end here: allow minutes.
    await expectAllArrivedInOrder(world, sent, 400_000);
  });
});

describe('one customer, 1,000 events pending at once', () => {
  // A Temporal server of its own that suggests continuing as new from 64 KB of history, so that a run is told to while
  // events are still pending: the 1,000 event ids alone are about 90 KB, however many signals carry them (the
  // default is 4 MB).
  let temporal: ManagedProcess;
  let dir: string;
  let world: InboundWorld;
  let worker: RunningWorker | undefined;
  const workerLogs: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'igdm-pending-'));
    const port = await findFreePort();
    temporal = await startTemporalDevServer({
      port,
      uiPort: port + 1000,
      headless: true,
      output: { file: path.join(dir, 'temporal.log') },
      dynamicConfig: { 'limit.historySize.suggestContinueAsNew': 64 * 1024 },
    });
    world = await startInboundWorld({ engineEnv: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` }, worker: false });
  });
  afterAll(async () => {
    await worker?.stop();
    await world?.close();
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands the pending events to the next run as soon as Temporal suggests it, losing and reordering none', async () => {
    const [username] = await createCustomers(world, 'pending', 1);
    await world.control('PUT', '/webhooks/switches', { hold: true, batchSize: 1000 });
    const sent = await burst(world, [username!], 1000, 'pending');
    await world.control('PUT', '/webhooks/switches', { hold: false });
    await world.control('POST', '/webhooks/flush');
    await allDeliveriesAcknowledged(world);
    const [igsid] = [...sent.keys()];
    const workflowId = makeConversationWorkflowId(world.igAccountId, igsid!);
    // No worker yet: the signals of the 1,000 events wait in the first run's history, all pending when it first runs.
    await world.eventually(async () => {
      const history = await world.engine.temporal.workflow.getHandle(workflowId).fetchHistory();
      return signalledEventIds(history).length >= 1000 ? true : undefined;
    }, 120_000, 'the signals of the 1,000 events', 500);

    worker = await startWorldWorker(world, workerLogs);
    await expectAllArrivedInOrder(world, sent, 400_000);

    const runs: WorkflowExecutionInfo[] = [];
    for await (const run of world.engine.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(run);
    runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    // The run that holds the signals recorded one batch of them: told to continue as new, it carried the other 950
    // over (a run that waited until nothing was pending would have recorded them all first, in 20 local-activity
    // markers; one that continued before recording any would be told the same in the next run, for ever).
    const first = await world.engine.temporal.workflow.getHandle(workflowId, runs[0]!.runId).fetchHistory();
    const localActivityMarkers = (first.events ?? []).filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    expect(localActivityMarkers).toHaveLength(1);
    expect((first.events ?? []).some((event) => event.workflowExecutionContinuedAsNewEventAttributes)).toBe(true);
    expect(runs.length).toBeGreaterThan(1);
    // One conversation throughout.
    expect(new Set((await world.engine.models.conversations.find({ igsid }).lean()).map((c) => c._id)).size).toBe(1);
  });
});

describe('duplicated, reversed and late deliveries', () => {
  let world: InboundWorld;
  beforeAll(async () => {
    world = await startInboundWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('shows each message once, in the order the customer sent them', async () => {
    const usernames = await createCustomers(world, 'order', 3);
    // Everything twice, newest first, one event per POST, and each delivery late.
    await world.control('PUT', '/webhooks/switches', { hold: true, duplicates: 1, reorder: true, batchSize: 1, delayMs: 300 });
    const sent = await burst(world, usernames, 8, 'order');
    await world.control('PUT', '/webhooks/switches', { hold: false });
    await world.control('POST', '/webhooks/flush');
    const deliveries = await allDeliveriesAcknowledged(world);
    expect(deliveries).toHaveLength(2 * 24);

    await expectAllArrivedInOrder(world, sent, 60_000);
    expect(await world.engine.models.webhookEvents.countDocuments({ kind: 'message' })).toBe(24);
    expect(await world.engine.models.messages.countDocuments({})).toBe(24);

    // An unsend delivered before the message it deletes still leaves one deleted message.
    const [first] = usernames;
    await world.control('PUT', '/webhooks/switches', { hold: true, duplicates: 0, reorder: true, delayMs: 0 });
    const message = await world.customer({ kind: 'text', text: 'regret' }, first);
    await world.customer({ kind: 'unsend', mid: message.mid }, first);
    await world.control('PUT', '/webhooks/switches', { hold: false, reorder: false });
    await world.control('POST', '/webhooks/flush');
    await allDeliveriesAcknowledged(world);
    const shown = await world.eventually(async () => {
      const found = await world.engine.models.messages.findOne({ mid: message.mid }).lean();
      return found?.deletedAt ? found : undefined;
    }, 30_000, 'the unsent message');
    expect(shown.text).toBeNull();
    expect(await world.engine.models.messages.countDocuments({ mid: message.mid })).toBe(1);
  });
});

describe('Temporal stopped during a burst', () => {
  let world: InboundWorld;
  let temporal: ManagedProcess;
  let port: number;
  // Made in beforeAll, not at load: a run filtered to other tests skips this block's hooks and would leak it.
  let dir = '';
  const startTemporal = async (): Promise<ManagedProcess> =>
    startTemporalDevServer({ port, uiPort: port + 1000, headless: true, dbFile: path.join(dir, 'temporal.db'), output: { file: path.join(dir, 'temporal.log') } });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'igdm-temporal-outage-'));
    port = await findFreePort();
    temporal = await startTemporal();
    world = await startInboundWorld({ engineEnv: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    await world?.close();
    await temporal?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('acknowledges while Temporal is down and delivers every event once it is back', async () => {
    const usernames = await createCustomers(world, 'outage', 5);
    let outage: Promise<void> | undefined;
    const sent = await burst(world, usernames, 12, 'outage', async (count) => {
      if (count === 20) {
        await temporal.stop();
        // Back after a while, while the burst goes on.
        outage = pause(4_000).then(async () => {
          temporal = await startTemporal();
        });
      }
    });
    await outage;
    const deliveries = await allDeliveriesAcknowledged(world);
    expect(deliveries).toHaveLength(60);
    expect(await world.engine.models.webhookEvents.countDocuments({ kind: 'message' })).toBe(60);
    await expectAllArrivedInOrder(world, sent, 120_000);
    expect(await world.engine.models.webhookEvents.countDocuments({ status: { $in: ['pending', 'dispatched'] } })).toBe(0);
  });
});

describe('the worker killed during a burst', () => {
  let world: InboundWorld;
  const workers = createWorkerProcesses(() => world.env, 'igdm-worker-kill');

  beforeAll(async () => {
    world = await startInboundWorld({ worker: false });
  });
  afterAll(async () => {
    await workers.stopAll();
    await world?.close();
  });

  it('loses nothing: a new worker takes over what the killed one held', async () => {
    const first = workers.start();
    const usernames = await createCustomers(world, 'killed', 5);
    const sent = await burst(world, usernames, 12, 'killed', async (count) => {
      if (count === 25) {
        first.child.kill('SIGKILL');
        await first.exited;
        workers.start();
      }
    });
    await allDeliveriesAcknowledged(world);
    await expectAllArrivedInOrder(world, sent, 120_000);
    expect(await world.engine.models.messages.countDocuments({})).toBe(60);
  });
});
