/**
 * Send benchmark: how fast replies go from the inbox API to Meta. Everything is real and local: the Temporal dev
 * server and the local database (started here unless TEMPORAL_ADDRESS / MONGODB_URI name them), the API and the Meta
 * emulator in this process with its demo account linked (test/support/inbound-world.ts), and the engine's worker as a
 * process of its own, as production runs it (the built `dist/worker.js`), so each one's CPU is its own.
 *
 * Warm-up: N customers each write once through the emulator, which opens N conversations (each a workflow).
 * Load: M replies POSTed to the API with bounded concurrency, round-robin over the conversations. Figures:
 *   - POST → 202 (the API's answer; nothing waits for Meta),
 *   - accepted → received: from the 202 to the moment the emulator (Meta) recorded the message,
 *   - sustained sends per second, first POST to last message received,
 *   - CPU seconds per 1,000 replies and cores used, for this process (API, emulator, load), the worker, Temporal and
 *     the database, which say which of them holds the rate back.
 * At the end the emulator's records are checked: every reply received once, each conversation in the order the
 * replies were accepted.
 * Then the floor (outbox-floor.ts): the same load through a workflow that only queues by update and delivers by
 * activity, on the same Temporal server, with a normal and with a local activity: what Temporal alone allows.
 *
 *   npm run bench:sends
 *   npm run bench:sends -- --conversations 200 --messages 5000 --concurrency 32
 *   npm run bench:sends -- --skip-floor
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { startInboundWorld, type InboundWorld } from '../test/support/inbound-world';
import { describeMachine, distribution, ms, pool, rate, servicePid, startLocalServices, table, type LocalServices } from './lib';
import { measureOutboxFloor, type OutboxFloorResult, type OutboxFloorSettings } from './outbox-floor';
import { machineCpuSeconds, processTreesUsage } from './process-usage';
import { buildEngine, describeWorkerLog, startWorkerProcess, type WorkerProcess } from './worker-process';

interface Settings {
  conversations: number;
  messages: number;
  concurrency: number;
  timeoutMs: number;
  floor: boolean;
}

function readSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: { conversations: { type: 'string' }, messages: { type: 'string' }, concurrency: { type: 'string' }, 'timeout-ms': { type: 'string' }, 'skip-floor': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log('usage: npm run bench:sends -- [--conversations 50] [--messages 1000] [--concurrency 16] [--timeout-ms 300000] [--skip-floor]');
    process.exit(0);
  }
  const number = (name: string, given: string | undefined, fallback: number, min: number, max: number): number => {
    if (given === undefined) return fallback;
    const parsed = Number(given);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(given)}`);
    return parsed;
  };
  return {
    conversations: number('conversations', values.conversations, 50, 1, 5_000),
    messages: number('messages', values.messages, 1_000, 1, 100_000),
    concurrency: number('concurrency', values.concurrency, 16, 1, 256),
    timeoutMs: number('timeout-ms', values['timeout-ms'], 300_000, 1_000, 3_600_000),
    floor: values['skip-floor'] !== true,
  };
}

interface Target {
  igsid: string;
  conversationId: string;
}

/** N customers write once through the emulator; their conversations are what the replies go to. */
async function openConversations(world: InboundWorld, count: number, runId: string, concurrency: number): Promise<Target[]> {
  const targets: Target[] = [];
  await pool(count, concurrency, async (index) => {
    const username = `sends.${runId}.customer${index}`;
    const created = await world.control('POST', '/ig-users', { username, name: `Send Bench ${index}` });
    if (created.status !== 201) throw new Error(`emulator refused customer ${username}: ${JSON.stringify(created.body)}`);
    const { igsid } = await world.customer({ kind: 'text', text: `Hello, I am customer ${index}` }, username);
    const conversation = await world.conversationOf(igsid);
    targets[index] = { igsid, conversationId: conversation.conversationId as string };
  });
  return targets;
}

interface EmulatorMessage {
  igsid: string;
  text?: string;
  at: number;
}

async function receivedAtMeta(world: InboundWorld): Promise<EmulatorMessage[]> {
  const { body } = await world.control('GET', '/sent-messages');
  return body.data as EmulatorMessage[];
}

/** The processes whose CPU is read: this one (API, emulator and load generator), the worker, Temporal and the database. */
const SEND_CPU_NAMES = ['API + emulator + load (this process)', 'worker', 'Temporal', 'database'] as const;
type SendCpuName = (typeof SEND_CPU_NAMES)[number];

interface SendCpuSample {
  atMs: number;
  seconds: Record<SendCpuName, number | undefined>;
  machineBusySeconds: number;
}

function sampleSendCpu(services: LocalServices, worker: WorkerProcess): SendCpuSample {
  const trees = processTreesUsage({ worker: worker.process.child.pid, temporal: servicePid(services, 'temporal'), database: servicePid(services, 'mongo-server') });
  const own = process.cpuUsage();
  return {
    atMs: performance.now(),
    seconds: { 'API + emulator + load (this process)': (own.user + own.system) / 1e6, worker: trees.worker?.cpuSeconds, Temporal: trees.temporal?.cpuSeconds, database: trees.database?.cpuSeconds },
    machineBusySeconds: machineCpuSeconds().busy,
  };
}

interface SendCpuSpan {
  wallSeconds: number;
  used: Record<SendCpuName, number | undefined>;
  machineBusySeconds: number;
}

function sendCpuSpan(from: SendCpuSample, to: SendCpuSample): SendCpuSpan {
  const used = Object.fromEntries(SEND_CPU_NAMES.map((name) => [name, from.seconds[name] === undefined || to.seconds[name] === undefined ? undefined : to.seconds[name] - from.seconds[name]]));
  return { wallSeconds: (to.atMs - from.atMs) / 1000, used: used as Record<SendCpuName, number | undefined>, machineBusySeconds: to.machineBusySeconds - from.machineBusySeconds };
}

/** Where the CPU of the load went, per 1,000 replies and in cores, so the figures say which process holds the rate back. */
function printSendCpu(span: SendCpuSpan, sends: number): void {
  const fixed = (value: number) => value.toFixed(2);
  const cell = (seconds: number | undefined, value: (seconds: number) => string) => (seconds === undefined ? 'n/m' : value(seconds));
  const per1000 = (seconds: number) => fixed((1000 * seconds) / Math.max(sends, 1));
  const cores = (seconds: number) => fixed(seconds / Math.max(span.wallSeconds, 1e-3));
  console.log(`
CPU from the first POST until the last reply reached Meta (${span.wallSeconds.toFixed(1)} s; the machine has ${os.cpus().length} cores)`);
  console.log(
    table(
      ['', ...SEND_CPU_NAMES, 'machine'],
      [
        ['seconds per 1,000 replies', ...SEND_CPU_NAMES.map((name) => cell(span.used[name], per1000)), per1000(span.machineBusySeconds)],
        ['cores', ...SEND_CPU_NAMES.map((name) => cell(span.used[name], cores)), cores(span.machineBusySeconds)],
      ],
    ),
  );
  if (SEND_CPU_NAMES.some((name) => span.used[name] === undefined)) console.log('(n/m: a service TEMPORAL_ADDRESS or MONGODB_URI named, which this run did not start)');
}

/** The floor beside the engine: what Temporal alone allows with an update and an activity per reply. */
function printOutboxFloor(floors: OutboxFloorResult[], engineSendsPerSecond: number): void {
  console.log('\nThe floor: the same load through a workflow that only queues (update) and delivers (activity), same Temporal server');
  console.log(
    table(
      ['delivery by', 'delivered', 'missing', 'sends/s', 'update p50', 'p99', 'to delivery p50', 'p99', 'CPU s/1,000: this process', 'Temporal'],
      floors.map((floor) => [
        floor.localActivity ? 'local activity' : 'activity',
        String(floor.delivered),
        String(floor.missing),
        floor.sendsPerSecond.toFixed(1),
        ms(floor.queued.p50),
        ms(floor.queued.p99),
        ms(floor.delivery.p50),
        ms(floor.delivery.p99),
        floor.cpuPer1000.thisProcess.toFixed(2),
        floor.cpuPer1000.temporal === undefined ? 'n/m' : floor.cpuPer1000.temporal.toFixed(2),
      ]),
    ),
  );
  const activity = floors.find((floor) => !floor.localActivity);
  if (activity) console.log(`the engine sends at ${((100 * engineSendsPerSecond) / activity.sendsPerSecond).toFixed(0)} % of the floor with an activity per reply`);
}

async function main(): Promise<number> {
  const settings = readSettings(process.argv.slice(2));
  const runId = randomUUID().slice(0, 8);
  console.log('Send benchmark');
  console.log(`machine:  ${describeMachine()}`);
  console.log(`settings: conversations=${settings.conversations} messages=${settings.messages} concurrency=${settings.concurrency}`);
  const started = performance.now();
  let services: LocalServices | undefined;
  let world: InboundWorld | undefined;
  let worker: WorkerProcess | undefined;
  try {
    const buildLog = path.join(os.tmpdir(), `igdm-bench-sends-build-${runId}.log`);
    [services] = await Promise.all([startLocalServices('igdm_bench_sends'), buildEngine(buildLog, () => undefined)]);
    console.log(`stack:    ${services.description}; API, Meta emulator and load generator in this node process, the worker (dist/worker.js) as a process of its own; loopback only`);
    world = await startInboundWorld({ engineEnv: { LOG_LEVEL: 'warn', PROFILE_STALE_AFTER_SECONDS: '3600' }, worker: false });
    worker = startWorkerProcess({ ...process.env, ...world.env }, path.join(services.workDir, 'worker.log'));
    await worker.waitUntilPolling(world.engine.temporal, world.env.TEMPORAL_TASK_QUEUE!);
    // Meta's per-account send rate is not what is measured here.
    await world.control('PATCH', `/ig-accounts/${world.igAccountId}`, { sendRateLimitPerSecond: 100_000 });

    let step = performance.now();
    const targets = await openConversations(world, settings.conversations, runId, Math.min(settings.concurrency, 8));
    console.log(`warm-up:  ${targets.length} conversations opened by a customer message each, in ${ms(performance.now() - step)} ms\n`);

    const cpuBefore = sampleSendCpu(services, worker);
    const acceptedAt = new Map<string, number>();
    const postedAt = new Map<string, number>();
    const expectedOrder = new Map<string, string[]>();
    const postLatencies: number[] = [];
    const refused = new Map<number, number>();
    const firstPostAt = Date.now();
    step = performance.now();
    // A worker that dies fails the run at once: nothing would send what is still queued.
    await worker.unlessExits(pool(settings.messages, settings.concurrency, async (index) => {
      const target = targets[index % targets.length]!;
      const text = `bench ${runId} reply #${index} to ${target.igsid}`;
      const posted = performance.now();
      const postedWallClock = Date.now();
      const response = await fetch(`${world!.engine.baseUrl}/v1/conversations/${target.conversationId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${world!.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      });
      await response.text();
      if (response.status !== 202) {
        refused.set(response.status, (refused.get(response.status) ?? 0) + 1);
        return;
      }
      postLatencies.push(performance.now() - posted);
      acceptedAt.set(text, Date.now());
      postedAt.set(text, postedWallClock);
      // Accepted in this order for this conversation: the order Meta must receive them in.
      expectedOrder.set(target.igsid, [...(expectedOrder.get(target.igsid) ?? []), text]);
    }));
    const postElapsed = performance.now() - step;

    const deadline = performance.now() + settings.timeoutMs;
    let atMeta: EmulatorMessage[] = [];
    for (;;) {
      atMeta = (await worker.unlessExits(receivedAtMeta(world))).filter((message) => message.text?.startsWith(`bench ${runId} `));
      if (atMeta.length >= acceptedAt.size || performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    const cpuUsed = sendCpuSpan(cpuBefore, sampleSendCpu(services, worker));
    const latencies: number[] = [];
    const postToMeta: number[] = [];
    const counts = new Map<string, number>();
    let lastReceivedAt = 0;
    for (const message of atMeta) {
      const text = message.text!;
      counts.set(text, (counts.get(text) ?? 0) + 1);
      const accepted = acceptedAt.get(text);
      if (accepted !== undefined && counts.get(text) === 1) {
        latencies.push(message.at - accepted);
        postToMeta.push(message.at - postedAt.get(text)!);
      }
      lastReceivedAt = Math.max(lastReceivedAt, message.at);
    }
    const duplicates = [...counts.values()].filter((count) => count > 1).length;
    const missing = [...acceptedAt.keys()].filter((text) => !counts.has(text)).length;
    let outOfOrder = 0;
    for (const [igsid, texts] of expectedOrder) {
      const received = atMeta.filter((message) => message.igsid === igsid).map((message) => message.text);
      if (received.join('\n') !== texts.filter((text) => counts.has(text)).join('\n')) outOfOrder += 1;
    }

    const post = distribution(postLatencies);
    const delivery = distribution(latencies);
    console.log('POST /v1/conversations/:id/messages → 202, ms');
    console.log(table(['requests', 'refused', 'req/s', 'p50', 'p95', 'p99', 'max'], [[String(settings.messages), String([...refused.values()].reduce((a, b) => a + b, 0)), rate(postLatencies.length, postElapsed), ms(post.p50), ms(post.p95), ms(post.p99), ms(post.max)]]));
    // Negative when the reply reached Meta before the 202 reached the client: the send starts as soon as the workflow
    // took the reply, while the answer still travels back through Temporal and the API.
    console.log('\nAccepted (202 received) → received by the emulator (Meta), and POST sent → received by Meta, ms');
    const whole = distribution(postToMeta);
    console.log(
      table(
        ['from', 'received', 'missing', 'duplicated', 'p50', 'p95', 'p99', 'max'],
        [
          ['202', String(delivery.count), String(missing), String(duplicates), ms(delivery.p50), ms(delivery.p95), ms(delivery.p99), ms(delivery.max)],
          ['POST', String(whole.count), String(missing), String(duplicates), ms(whole.p50), ms(whole.p95), ms(whole.p99), ms(whole.max)],
        ],
      ),
    );
    const sendRate = delivery.count / Math.max((lastReceivedAt - firstPostAt) / 1000, 1e-3);
    console.log(`\nsustained: ${rate(delivery.count, lastReceivedAt - firstPostAt)} sends/s (first POST to last message received, ${ms(lastReceivedAt - firstPostAt)} ms)`);
    console.log(`order: ${expectedOrder.size - outOfOrder} of ${expectedOrder.size} conversations received their replies in the order accepted`);
    printSendCpu(cpuUsed, delivery.count);
    if (refused.size > 0) console.log(`refused POSTs by status: ${JSON.stringify(Object.fromEntries(refused))}`);
    console.log(`load average (1 min) at the end: ${os.loadavg()[0]!.toFixed(2)}`);
    for (const line of describeWorkerLog(worker.log)) console.log(line);
    if (settings.floor) {
      const floorSettings: OutboxFloorSettings = {
        temporalAddress: world.env.TEMPORAL_ADDRESS!,
        namespace: world.engine.config.temporal.namespace,
        temporalPid: servicePid(services, 'temporal'),
        ...settings,
      };
      const floors: OutboxFloorResult[] = [];
      for (const localActivity of [false, true]) floors.push(await measureOutboxFloor(floorSettings, localActivity));
      printOutboxFloor(floors, sendRate);
    }
    const ok = missing === 0 && duplicates === 0 && outOfOrder === 0 && refused.size === 0;
    console.log(`\ntotal run time ${((performance.now() - started) / 1000).toFixed(1)} s: ${ok ? 'every reply received once, in order' : 'FAILED: see the counts above'}`);
    return ok ? 0 : 1;
  } finally {
    await world?.close().catch((error: unknown) => console.error(`engine stop: ${(error as Error).message}`));
    await worker?.process.stop();
    await services?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
