/**
 * The floor under bench:sends: the same load (replies over as many conversations, as many in flight) on the same
 * Temporal server, through a workflow shaped like the conversation's outbox that does nothing else
 * (outbox-floor-workflow.ts): one update to queue a reply, one activity to deliver it. No database, no Graph call, no
 * API. Its sends per second are the most the design (an update and an activity per reply) gets out of this machine's
 * Temporal, whatever the engine does; its CPU per reply is Temporal's own share. Run with a normal activity (as the
 * engine sends) and with a local activity (the alternative: no activity task, but the update's answer then waits for
 * the delivery, since a workflow task completes only once its local activities are done).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createOutboxFloorActivities } from './outbox-floor-activities';
import { queueReplyUpdate } from './outbox-floor-workflow';
import { distribution, pool, type Distribution } from './lib';
import { machineCpuSeconds, processTreesUsage } from './process-usage';

export interface OutboxFloorSettings {
  temporalAddress: string;
  namespace: string;
  /** The Temporal server's pid, for its CPU; undefined when this run did not start it. */
  temporalPid: number | undefined;
  conversations: number;
  messages: number;
  concurrency: number;
  timeoutMs: number;
}

export interface OutboxFloorResult {
  localActivity: boolean;
  delivered: number;
  missing: number;
  sendsPerSecond: number;
  /** Update sent → answered: the floor of the API's POST → 202. */
  queued: Distribution;
  /** Update answered → activity ran: the floor of accepted → received by Meta. */
  delivery: Distribution;
  /** CPU seconds per 1,000 replies: this process (client and worker), and the Temporal server (undefined: not ours). */
  cpuPer1000: { thisProcess: number; temporal: number | undefined };
}

function cpuNow(temporalPid: number | undefined): { own: number; temporal: number | undefined } {
  const own = process.cpuUsage();
  return { own: (own.user + own.system) / 1e6, temporal: processTreesUsage({ temporal: temporalPid }).temporal?.cpuSeconds };
}

/** Most of a core idle for a second: what ran before (the engine's echoes of its replies, say) is done. */
const QUIET_CORES = 0.2;
const QUIET_WAIT_MS = 60_000;

/** Waits (a minute at most) until the machine is quiet, so the floor is not measured beside the engine's leftovers. */
async function untilQuiet(): Promise<void> {
  const deadline = Date.now() + QUIET_WAIT_MS;
  let before = machineCpuSeconds().busy;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = machineCpuSeconds().busy;
    if (now - before < QUIET_CORES) return;
    before = now;
  }
}

export async function measureOutboxFloor(settings: OutboxFloorSettings, localActivity: boolean): Promise<OutboxFloorResult> {
  const runId = randomUUID().slice(0, 8);
  const taskQueue = `bench-outbox-floor-${runId}`;
  const delivered = new Map<string, number>();
  const nativeConnection = await NativeConnection.connect({ address: settings.temporalAddress });
  const connection = await Connection.connect({ address: settings.temporalAddress });
  const client = new Client({ connection, namespace: settings.namespace });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: settings.namespace,
    taskQueue,
    workflowsPath: require.resolve('./outbox-floor-workflow'),
    activities: createOutboxFloorActivities(delivered),
  });
  const running = worker.run();
  let handles: WorkflowHandle[] = [];
  try {
    handles = await Promise.all(
      Array.from({ length: settings.conversations }, (_, index) =>
        client.workflow.start('outboxFloorWorkflow', { taskQueue, workflowId: `outbox-floor/${runId}/${index}`, args: [{ localActivity }] }),
      ),
    );
    await untilQuiet();
    const answeredAt = new Map<string, number>();
    const queued: number[] = [];
    const cpuBefore = cpuNow(settings.temporalPid);
    const firstAt = Date.now();
    await pool(settings.messages, settings.concurrency, async (index) => {
      const replyId = `reply-${index}`;
      const sentAt = performance.now();
      await handles[index % handles.length]!.executeUpdate(queueReplyUpdate, { args: [replyId] });
      queued.push(performance.now() - sentAt);
      answeredAt.set(replyId, Date.now());
    });
    const deadline = Date.now() + settings.timeoutMs;
    while (delivered.size < settings.messages && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const cpuAfter = cpuNow(settings.temporalPid);
    const lastAt = Math.max(...delivered.values());
    // A local activity may run before the update's answer reaches the client: that reply took no time after it.
    const delivery = [...delivered].map(([replyId, at]) => Math.max(0, at - (answeredAt.get(replyId) ?? at)));
    const per1000 = (seconds: number): number => (1000 * seconds) / Math.max(delivered.size, 1);
    return {
      localActivity,
      delivered: delivered.size,
      missing: settings.messages - delivered.size,
      sendsPerSecond: delivered.size / Math.max((lastAt - firstAt) / 1000, 1e-3),
      queued: distribution(queued),
      delivery: distribution(delivery),
      cpuPer1000: {
        thisProcess: per1000(cpuAfter.own - cpuBefore.own),
        temporal: cpuAfter.temporal === undefined || cpuBefore.temporal === undefined ? undefined : per1000(cpuAfter.temporal - cpuBefore.temporal),
      },
    };
  } finally {
    // The worker first: a workflow terminated under it would leave it completing a task that is gone.
    worker.shutdown();
    await running;
    await Promise.all(handles.map((handle) => handle.terminate('benchmark over').catch(() => undefined)));
    await nativeConnection.close();
    await connection.close();
  }
}
