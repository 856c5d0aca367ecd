/**
 * Open conversations benchmark: N conversations open at once (10,000 unless told), each a conversationWorkflow that
 * recorded its customer's first message and waits on its live 7-day window timer. It prints how long opening the N
 * takes, the resident memory of the worker, the Temporal server and the database once all are open, and whether a
 * new message to any of them is still recorded within a second; then PASS or FAIL against the target: with
 * N = 100,000 the worker within 1.5 GB (its VmHWM), and every probe message recorded within 1 s.
 *
 * Everything is real and local (bench-stack.ts): the Temporal dev server and the local database (started here with
 * throw-away state unless TEMPORAL_ADDRESS / MONGODB_URI name them), the Meta emulator in this process, the engine's
 * API in this process (engine-api.ts: the real app and its dispatcher; no sweeper), and the engine's worker as a
 * process of its own (the built `dist/worker.js`, so its memory is measured alone) pointed at the emulator.
 *
 * Phases (each one's peak memory and CPU seconds are printed at the end):
 *   - start-up: while the worker bundles its workflow code, one channel with `accounts` linked Instagram accounts is
 *     seeded (seed-accounts.ts: Page tokens from the emulator, documents written directly);
 *   - store: N customers at the emulator (written into its state), each writes once there, which gives the Profile API
 *     its consent; each message is stored as the webhook ingress stores it (the same documents, claimed for
 *     dispatch) but in bulk, a thousand to a delivery, straight into the `webhookEvents` collection: the ingress's
 *     HTTP side is not what is measured here (bench:webhooks measures it);
 *   - open: the API's dispatcher hands each event to its conversation (signalWithStart, one conversation per call,
 *     as after a webhook), keeping at most `open-concurrency` conversations being opened at once (signalled, first
 *     message not yet recorded). The workflow records the message (a local activity: customer, message,
 *     conversation, then the event marked `recorded` with the worker's `recordedAt`) and fetches the customer's
 *     profile beside it. Time to open: first signal → last `recordedAt`; per conversation: its signal → its
 *     `recordedAt`;
 *   - settle: until every profile fetch is answered (counted at the emulator), so the N wait only on their timers;
 *   - read-back: every event's `recordedAt` read once, for the figures of the open phase (kept out of its CPU);
 *   - probe: `probe-messages` open conversations picked at random each get a new message, one at a time, as Meta
 *     delivers it (a signed POST to the API's webhook route); figure: POST → `recordedAt`, which must be ≤ 1 s and in
 *     the same conversation. The conversation is open, so the API's ingress records the message itself
 *     (src/inbound/message-projector.ts); with WEBHOOK_RECORD_OPEN_CONVERSATIONS=false it goes through the workflow,
 *     and past the worker's cache (WORKER_MAX_CACHED_WORKFLOWS, 1,000 by default) a probed workflow is replayed
 *     from its history first, which is then what this measures.
 *
 * Memory: VmRSS from /proc/<pid>/status once all are open and once settled, sampled through every phase for its
 * peak; VmHWM is the kernel's peak over the process's life (process-sampler.ts). The verdict takes the worker's VmHWM.
 *
 *   npm run bench:conversations                                  (10,000 conversations)
 *   npm run bench:conversations -- --conversations 100000        (the target's size)
 *   npm run bench:conversations -- --conversations 500           (a quick try; or BENCH_CONVERSATIONS=500)
 *
 * With WORKER_MAX_CACHED_WORKFLOWS=200 a quick try probes evicted workflows too.
 *
 * Ctrl-C (or SIGTERM, SIGHUP) stops every process it started. Exits 0 on PASS.
 */
import { randomInt } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConfiguredGraphClient } from '../src/graph/configured';
import type { DispatchableEvent } from '../src/inbound/dispatcher';
import { createTokenCipher } from '../src/security/token-cipher';
import { makeConversationWorkflowId } from '../src/temporal/names';
import { startBenchStack, type BenchStack } from './bench-stack';
import { addCustomers, openConversations, readRecorded, storeFirstMessages, watchRecorded, type Customer, type OpenResult, type RecordedEvent } from './conversation-open';
import { pickAtRandom, probeConversations, type ProbeResult, type ProbeTarget } from './conversation-probe';
import { startEngineApi, type EngineApi } from './engine-api';
import { describeHistories, readHistories } from './histories';
import { benchUsage, describeMachine, distribution, ms, pool, rate, readBenchFlags, table } from './lib';
import { mb, memoryNow } from './process-sampler';
import { runBenchmark, type RunControl } from './run-control';
import { seedChannel } from './seed-accounts';
import { describeWorkerLog } from './worker-process';

const WORKER_RSS_TARGET_BYTES = 1.5 * 2 ** 30;
const PROBE_TARGET_MS = 1_000;
const TARGET_CONVERSATIONS = 100_000;
/** How long one probe message may take before it counts as not recorded. */
const PROBE_TIMEOUT_MS = 30_000;
/** A settle wait that sees no profile answered for this long stops: the rest failed (the worker log says why). */
const SETTLE_STALL_MS = 30_000;

// ---- settings -----------------------------------------------------------------------------------------------

const flags = {
  conversations: { env: 'BENCH_CONVERSATIONS', default: 10_000, min: 1, max: 200_000, help: 'conversations to open, one workflow each' },
  accounts: { env: 'BENCH_CONVERSATION_ACCOUNTS', default: 4, min: 1, max: 1_000, help: 'linked Instagram accounts (one channel) the conversations are spread over' },
  'open-concurrency': { env: 'BENCH_OPEN_CONCURRENCY', default: 32, min: 1, max: 1_024, help: 'conversations being opened at once (signalled, first message not yet recorded)' },
  'probe-messages': { env: 'BENCH_PROBE_MESSAGES', default: 20, min: 1, max: 1_000, help: 'open conversations picked at random for a new message, one at a time' },
  'timeout-seconds': { env: 'BENCH_TIMEOUT_SECONDS', default: 0, min: 0, max: 86_400, help: 'how long opening may take, and then settling (0: 600 s + 250 ms × N)' },
  'history-sample': { env: 'BENCH_HISTORY_SAMPLE', default: 20, min: 0, max: 100_000, help: 'workflow histories read at the end to count activity retries and workflow task timeouts' },
  'sample-ms': { env: 'BENCH_SAMPLE_MS', default: 250, min: 50, max: 10_000, help: 'how often memory is sampled' },
} as const;

type FlagName = keyof typeof flags;

interface Settings {
  conversations: number;
  accounts: number;
  openConcurrency: number;
  probeMessages: number;
  timeoutMs: number;
  historySample: number;
  sampleMs: number;
  build: boolean;
  keepLogs: boolean;
}

function usage(): string {
  return benchUsage('bench:conversations', flags, {
    'no-build': 'run the dist/worker.js there is, without building the engine first',
    'keep-logs': 'keep the logs of the worker, the API, Temporal and the database (env BENCH_KEEP_LOGS=1)',
  });
}

function readSettings(argv: string[]): Settings {
  const flagValues = readBenchFlags(argv, flags, ['no-build', 'keep-logs'] as const, usage);
  const number = (name: FlagName): number => flagValues.number(name);
  const conversations = number('conversations');
  const timeoutSeconds = number('timeout-seconds');
  return {
    conversations,
    accounts: Math.min(number('accounts'), conversations),
    openConcurrency: number('open-concurrency'),
    probeMessages: number('probe-messages'),
    timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : 600_000 + 250 * conversations,
    historySample: number('history-sample'),
    sampleMs: number('sample-ms'),
    build: !flagValues.given('no-build'),
    keepLogs: flagValues.given('keep-logs') || process.env.BENCH_KEEP_LOGS === '1',
  };
}

const PHASES = ['start-up', 'store', 'open', 'settle', 'read-back', 'probe'] as const;
type Phase = (typeof PHASES)[number];
const PHASE_HELP =
  'start-up: the worker bundles its workflows while the accounts are seeded; store: the customers and their first messages; open: until every first message is recorded; settle: until every profile fetch is answered; read-back: this benchmark reads the recordedAt of every event; probe: the probe messages';

const seconds = (valueMs: number): string => (Number.isNaN(valueMs) ? '-' : (valueMs / 1000).toFixed(1));

interface Run {
  settings: Settings;
  stack: BenchStack<Phase>;
  api: EngineApi;
  customers: Customer[];
  events: DispatchableEvent[];
}

// ---- the phases -----------------------------------------------------------------------------------------------

/** While the worker bundles its workflow code: the channel and its linked accounts; then the customers and their first messages. */
async function seedConversations(stack: BenchStack<Phase>, settings: Settings, runTag: string): Promise<{ customers: Customer[]; events: DispatchableEvent[] }> {
  const { config, models } = stack;
  let step = performance.now();
  const context = { models, graph: createConfiguredGraphClient(config.meta), cipher: createTokenCipher(config.tokens.keyring), emulatorUrl: stack.emulator.url, appId: config.meta.appId, runTag, linkedAt: new Date() };
  const [, accounts] = await Promise.all([
    stack.worker.waitUntilPolling(stack.client, config.temporal.taskQueue).then(() => console.log(`worker:   polling ${seconds(performance.now() - step)} s after it was started`)),
    seedChannel(context, 0, settings.accounts),
  ]);
  console.log(`data:     1 channel with its owner, ${accounts.length} linked accounts with their emulator Page tokens`);

  stack.sampler.enter('store');
  step = performance.now();
  const customers = addCustomers(stack.emulator.emulator, accounts, settings.conversations, runTag);
  const events = await storeFirstMessages(models, stack.emulator.emulator, customers);
  console.log(`stored:   ${events.length} first messages as pending webhook events (bulk, 1,000 to a delivery) in ${seconds(performance.now() - step)} s`);
  return { customers, events };
}

interface Opened {
  recorded: Map<string, RecordedEvent>;
  opened: number;
}

/** Every conversation opened through the dispatcher, until the count says every first message is recorded, or the timeout. */
async function openAll(run: Run): Promise<OpenResult> {
  const { stack, settings, events } = run;
  const deadline = Date.now() + settings.timeoutMs;
  const counter = await watchRecorded(stack.models, 200);
  const began = performance.now();
  const progress = setInterval(() => console.log(`  ${seconds(performance.now() - began)} s: ${counter.count()} of ${events.length} first messages recorded`), 60_000);
  const result = await stack.unlessExits(openConversations(run.api.dispatcher, events, { limit: settings.openConcurrency, recorded: counter, deadline }));
  const dispatched = result.signalMs.length;
  while (counter.count() < dispatched && Date.now() < deadline) await stack.unlessExits(Promise.race([counter.changed(), sleep(1_000)]));
  clearInterval(progress);
  counter.stop();
  console.log(`\nopened:   ${counter.count()} of ${events.length} first messages recorded (the messages' count), ${seconds(performance.now() - began)} s after the first signal`);
  for (const [reason, count] of result.failures) console.log(`  not dispatched: ${count} (${reason})`);
  console.log(`resident memory once all are open: ${memoryNow(stack.targets)}`);
  return result;
}

/** The figures of the openings, from the events as stored: each signal → its `recordedAt`; first signal → last `recordedAt`. */
async function reportOpening(run: Run, result: OpenResult): Promise<Opened> {
  const dispatched = run.events.filter((_, index) => !Number.isNaN(result.signalledAt[index]));
  const recorded = await readRecorded(run.stack.models, dispatched, Date.now() + 30_000);
  const openMs = run.events.flatMap((event, index) => {
    const at = recorded.get(event.eventKey)?.recordedAt;
    return at === undefined ? [] : [at - result.signalledAt[index]!];
  });
  // Reduced, not spread: 100,000 arguments overflow the stack.
  const firstSignal = result.signalledAt.reduce((first, at) => (Number.isNaN(at) ? first : Math.min(first, at)), Infinity);
  const lastRecorded = [...recorded.values()].reduce((last, event) => Math.max(last, event.recordedAt), -Infinity);
  const elapsed = recorded.size > 0 ? lastRecorded - firstSignal : NaN;
  const open = distribution(openMs);
  const signal = distribution(result.signalMs);
  console.log(`\nOpening ${run.events.length} conversationWorkflow (the dispatcher's signalWithStart; ${run.settings.openConcurrency} being opened at once): signal → first message recorded, ms`);
  console.log(
    table(
      ['opened', 'not opened', 'seconds', 'opens/s', 'p50', 'p99', 'max', 'signal p50', 'signal p99'],
      [[String(recorded.size), String(run.events.length - recorded.size), seconds(elapsed), rate(recorded.size, elapsed), ms(open.p50), ms(open.p99), ms(open.max), ms(signal.p50), ms(signal.p99)]],
    ),
  );
  console.log(`time to open all ${recorded.size}: ${seconds(elapsed)} s (first signal → last recordedAt)`);
  return { recorded, opened: recorded.size };
}

/** Until every profile fetch the openings started is answered, so that the N wait only on their timers. */
async function settle(run: Run, opened: number): Promise<void> {
  const { stack, settings } = run;
  const answered = stack.emulator.answered;
  const deadline = Date.now() + settings.timeoutMs;
  const began = performance.now();
  let last = answered();
  let movedAt = Date.now();
  while (answered() < opened && Date.now() < deadline && Date.now() - movedAt < SETTLE_STALL_MS) {
    await stack.unlessExits(sleep(500));
    if (answered() !== last) [last, movedAt] = [answered(), Date.now()];
  }
  console.log(`\nprofile fetches answered by the emulator: ${answered()} of ${opened}, within ${seconds(performance.now() - began)} s of the last first message`);
  console.log(`resident memory with all ${opened} waiting on their 7-day timers: ${memoryNow(stack.targets)}`);
}

/** New messages to open conversations picked at random, through the API's webhook route. */
async function probe(run: Run, opened: Opened): Promise<ProbeResult[]> {
  const { stack, settings } = run;
  const candidates: ProbeTarget[] = run.customers.flatMap((customer, index) => {
    const first = opened.recorded.get(run.events[index]!.eventKey);
    return first ? [{ customer, conversationId: first.conversationId }] : [];
  });
  const options = { emulator: stack.emulator.emulator, models: stack.models, webhookUrl: `${run.api.url}/webhooks/instagram`, appSecret: stack.config.meta.appSecret, timeoutMs: PROBE_TIMEOUT_MS };
  const results = await stack.unlessExits(probeConversations(options, pickAtRandom(candidates, settings.probeMessages)));
  const recordedMs = results.flatMap((result) => (result.recordedMs === undefined ? [] : [result.recordedMs]));
  const figures = distribution(recordedMs);
  const acks = distribution(results.map((result) => result.ackMs));
  const within = recordedMs.filter((value) => value <= PROBE_TARGET_MS).length;
  console.log(`\nProbe: a new message to ${results.length} open conversations picked at random, one at a time (signed webhook POST → recordedAt), ms`);
  console.log(
    table(
      ['probes', 'recorded', 'p50', 'max', `within ${PROBE_TARGET_MS} ms`, 'same conversation', 'ack p50', 'ack max'],
      [[String(results.length), String(recordedMs.length), ms(figures.p50), ms(figures.max), String(within), String(results.filter((result) => result.sameConversation).length), ms(acks.p50), ms(acks.max)]],
    ),
  );
  if (results.length <= 50) console.log(`each: ${results.map((result) => (result.recordedMs === undefined ? result.eventStatus : ms(result.recordedMs))).join(' ')}`);
  return results;
}

/**
 * A service the environment named is someone else's: the run's workflows end and its documents go. The local
 * database scans for these filters, once.
 */
async function cleanUp(stack: BenchStack<Phase>, customers: Customer[], events: DispatchableEvent[]): Promise<void> {
  if (stack.external.temporal) {
    await pool(customers.length, 32, async (index) => {
      const { igAccountId, igsid } = customers[index]!;
      await stack.client.workflow
        .getHandle(makeConversationWorkflowId(igAccountId, igsid))
        .terminate('benchmark over')
        .catch(() => undefined);
    });
  }
  if (!stack.external.mongo) return;
  const { models } = stack;
  const channelIds = [...new Set(await models.linkedAccounts.distinct('channelId', { igAccountId: { $in: [...new Set(events.map((event) => event.igAccountId))] } }))];
  const byChannel = { channelId: { $in: channelIds } };
  await models.webhookEvents.deleteMany({ igAccountId: { $in: [...new Set(customers.map((customer) => customer.igAccountId))] } });
  await Promise.all([models.messages.deleteMany(byChannel), models.conversations.deleteMany(byChannel), models.customers.deleteMany(byChannel)]);
  await Promise.all([models.linkedAccounts.deleteMany(byChannel), models.apiKeys.deleteMany(byChannel), models.managers.deleteMany(byChannel), models.notices.deleteMany(byChannel)]);
  await models.channels.deleteMany({ _id: { $in: channelIds } });
}

function printResources(stack: BenchStack<Phase>, settings: Settings): void {
  console.log(`\nResident memory (MB): peak sampled every ${settings.sampleMs} ms in each phase; VmHWM is the kernel's peak over the process's life`);
  console.log(stack.sampler.memoryReport());
  console.log(`(${PHASE_HELP})`);
  console.log(`\nCPU used in each phase: seconds, and % of one core (the machine has ${os.cpus().length}; other work on it counts in the load average)`);
  console.log(stack.sampler.cpuReport());
  console.log(`load average at the end: ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
}

/** PASS or FAIL against the target; the exit code. */
function verdict(settings: Settings, opened: number, probes: ProbeResult[], workerHwm: number | undefined): number {
  const problems: string[] = [];
  if (workerHwm === undefined || workerHwm > WORKER_RSS_TARGET_BYTES) problems.push(`worker peak RSS ${mb(workerHwm)} MB over the ${mb(WORKER_RSS_TARGET_BYTES)} MB target`);
  if (opened < settings.conversations) problems.push(`${settings.conversations - opened} of ${settings.conversations} conversations not opened`);
  const late = probes.filter((result) => result.recordedMs === undefined || result.recordedMs > PROBE_TARGET_MS).length;
  if (late > 0) problems.push(`${late} of ${probes.length} probe messages not recorded within ${PROBE_TARGET_MS} ms`);
  const strays = probes.filter((result) => result.recordedMs !== undefined && !result.sameConversation).length;
  if (strays > 0) problems.push(`${strays} probe messages recorded into another conversation`);
  const scale = settings.conversations === TARGET_CONVERSATIONS ? '' : ` (N=${settings.conversations}; the target is set for N=${TARGET_CONVERSATIONS.toLocaleString('en')})`;
  if (problems.length > 0) {
    console.log(`FAIL: ${problems.join('; ')}${scale}`);
    return 1;
  }
  const slowest = Math.max(...probes.map((result) => result.recordedMs ?? Infinity));
  console.log(`PASS: worker peak RSS ${mb(workerHwm)} MB ≤ ${mb(WORKER_RSS_TARGET_BYTES)} MB with ${opened} open conversations; every probe message recorded within ${PROBE_TARGET_MS} ms (the slowest ${ms(slowest)} ms)${scale}`);
  return 0;
}

// ---- run ----------------------------------------------------------------------------------------------------

async function main(control: RunControl): Promise<number> {
  const settings = readSettings(process.argv.slice(2));
  control.setKeepLogs(settings.keepLogs);
  const runTag = String(randomInt(10_000, 100_000));
  const startedAt = performance.now();
  console.log('Open conversations benchmark');
  console.log(`machine:  ${describeMachine()}; load average ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log(`settings: conversations=${settings.conversations} over ${settings.accounts} accounts, open-concurrency=${settings.openConcurrency}, probe-messages=${settings.probeMessages}, timeout ${seconds(settings.timeoutMs)} s`);
  const stack = await startBenchStack(control, {
    name: 'conversations',
    runTag,
    build: settings.build,
    phases: PHASES,
    sampleMs: settings.sampleMs,
    selfName: 'this benchmark (API, emulator)',
    // The Profile API read each new conversation makes (GET /<igsid>?fields=name,username,profile_pic).
    countAtEmulator: (req) => req.method === 'GET' && req.url?.includes('profile_pic') === true,
  });
  const api = await startEngineApi(stack, path.join(stack.services.workDir, 'api.log'));
  control.launched.closers.push(() => api.close());
  const evicted = settings.conversations > stack.config.temporal.maxCachedWorkflows ? `: ${settings.conversations - stack.config.temporal.maxCachedWorkflows} of the ${settings.conversations} are out of it once open, and replayed when a message comes` : '';
  console.log(`worker:   workflow cache ${stack.config.temporal.maxCachedWorkflows} workflows (WORKER_MAX_CACHED_WORKFLOWS)${evicted}`);

  const { customers, events } = await seedConversations(stack, settings, runTag);
  const run: Run = { settings, stack, api, customers, events };
  stack.sampler.enter('open');
  const openResult = await openAll(run);
  stack.sampler.enter('settle');
  await settle(run, openResult.signalMs.length);
  stack.sampler.enter('read-back');
  const opened = await reportOpening(run, openResult);
  stack.sampler.enter('probe');
  const probes = opened.opened > 0 ? await probe(run, opened) : [];
  const workerHwm = stack.sampler.hwm('worker');
  stack.sampler.stop();

  if (settings.historySample > 0) {
    const ids = customers.map((customer) => makeConversationWorkflowId(customer.igAccountId, customer.igsid));
    for (const line of describeHistories(await readHistories(stack.client, ids, settings.historySample))) console.log(line);
  }
  for (const line of describeWorkerLog(stack.worker.log)) console.log(line);
  printResources(stack, settings);
  if (stack.external.temporal || stack.external.mongo) await cleanUp(stack, customers, events);
  console.log(`\ntotal run time ${seconds(performance.now() - startedAt)} s`);
  return verdict(settings, opened.opened, probes, workerHwm);
}

runBenchmark(main);
