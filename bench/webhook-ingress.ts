/**
 * Webhook benchmark (`npm run bench:webhooks`): in one run on one machine, the ceiling, the engine's ingress and the
 * engine end to end, each process's CPU, and PASS or FAIL against the throughput issue's targets.
 *
 * The stack (bench/webhook-stack.ts), each part a process of its own: the engine's API (dist/server.js) and worker
 * (dist/worker.js), built first and configured as `npm start` configures them (the emulator's URL in Meta's place);
 * the Temporal dev server and the local database, started here with throw-away state unless TEMPORAL_ADDRESS /
 * MONGODB_URI name them (then those are used, nothing is started for them, and their CPU is not measured); the Meta
 * emulator with its demo Instagram account linked to a channel; and the ceiling (bench/ceiling-server.ts): a bare
 * Express app that checks X-Hub-Signature-256 with the engine's own check and answers 200, storing nothing.
 * Customers are made at the emulator and each writes once through it, which opens their conversations.
 *
 * The load (bench/webhook-load.ts) is built here, as Meta sends it: signed single-message deliveries (a batch: one
 * delivery of many entries) to the open conversations in turn, POSTed over loopback on keep-alive connections.
 *   1. closed loop, `concurrency` in flight for `closed-seconds`: the ceiling, then the engine. Acknowledgements a
 *      second (first POST to last answer) and POST → 200 latency; the engine as a share of the ceiling; then the
 *      engine end to end: how long until every acknowledged message was readable.
 *   2. open loop at three rates (low, steady, peak): each POST leaves at its scheduled time whatever the answers.
 *      Achieved rate, POST → 200 and POST → readable latency (p50, p99, max) of the messages sent while the rate
 *      held, non-200 answers, and how long after the last POST every message was readable.
 *   3. one delivery of `batch-size` entries: how long until all are readable.
 * Readable: the recording activity stamps the message's webhook event `recordedAt` right after inserting the
 * message; latency = recordedAt − the moment the POST was sent (Date.now(): the same clock on one machine). The
 * bench polls only to learn that a scenario is done (bench/webhook-readable.ts). After each engine scenario every
 * conversation is read back through the inbox API: every acknowledged message shown once, in the order it was
 * generated. CPU seconds of each process over each load window and until all was readable (read from /proc) tell
 * which process holds the engine back (bench/webhook-report.ts). The targets: bench/webhook-targets.ts.
 *
 *   npm run bench:webhooks                          (the target sizes, for a quiet machine: 2 minutes of load, and
 *                                                    as long as the engine takes to catch up after each)
 *   npm run bench:webhooks -- --quick --no-build    (small sizes, about a minute once dist/ is built)
 *
 * Every numeric flag also reads from its environment variable. Ctrl-C stops every process the run started.
 * Exits 0 when every target run passes and no acknowledged message was missing, duplicated or out of order.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagedProcess } from '../scripts/lib/processes';
import { logWarnings } from './engine-processes';
import { benchUsage, describeMachine, readBenchFlags } from './lib';
import { startInboxReads } from './inbox-reads';
import { closedLoop, createMessageSource, createPoster, oneBatch, openLoop, type LoadResult, type MessageSource } from './webhook-load';
import { createInboxReader, waitUntilReadable, type InboxReader } from './webhook-readable';
import { allReadableAfterMs, cpuSpan, missing, printBatch, printClosedLoop, printCpu, printHoldsBack, printInboxChecks, printInboxReads, printOpenLoop, sampleCpu, type Scenario } from './webhook-report';
import { createStopper, openConversations, seconds, startWebhookStack, type Launched, type WebhookStack } from './webhook-stack';
import { printTargets, TARGET } from './webhook-targets';

// ---- settings -----------------------------------------------------------------------------------------------

const flags = {
  customers: { env: 'BENCH_CUSTOMERS', default: 100, min: 1, max: 5_000, help: 'customers, one conversation each, opened before the load' },
  concurrency: { env: 'BENCH_CONCURRENCY', default: TARGET.concurrency, min: 1, max: 256, help: 'closed loop: POSTs in flight' },
  'closed-seconds': { env: 'BENCH_CLOSED_SECONDS', default: 10, min: 0, max: 600, help: 'closed loop: seconds for the ceiling, and again for the engine (0: skip)' },
  'low-rate': { env: 'BENCH_LOW_RATE', default: 50, min: 0, max: 5_000, help: 'open loop 1: deliveries a second (0: skip)' },
  'low-seconds': { env: 'BENCH_LOW_SECONDS', default: 20, min: 1, max: 3_600, help: 'open loop 1: seconds' },
  'steady-rate': { env: 'BENCH_STEADY_RATE', default: TARGET.steadyRate, min: 0, max: 5_000, help: 'open loop 2, the readable target: deliveries a second (0: skip)' },
  'steady-seconds': { env: 'BENCH_STEADY_SECONDS', default: TARGET.steadySeconds, min: 1, max: 3_600, help: 'open loop 2: seconds' },
  'peak-rate': { env: 'BENCH_PEAK_RATE', default: TARGET.peakRate, min: 0, max: 5_000, help: 'open loop 3, the acknowledgement target: deliveries a second (0: skip)' },
  'peak-seconds': { env: 'BENCH_PEAK_SECONDS', default: 20, min: 1, max: 3_600, help: 'open loop 3: seconds' },
  'batch-size': { env: 'BENCH_BATCH_SIZE', default: TARGET.batchSize, min: 0, max: 1_000, help: 'entries of the one batch delivery (0: skip)' },
  'drain-timeout-seconds': { env: 'BENCH_DRAIN_TIMEOUT_SECONDS', default: 600, min: 1, max: 7_200, help: 'how long a scenario waits for its messages to be readable' },
  'poll-ms': { env: 'BENCH_POLL_MS', default: 250, min: 20, max: 10_000, help: 'how often the wait counts the stored messages (no figure depends on it)' },
} as const;
type FlagName = keyof typeof flags;

/** `--quick`: small enough to try on a busy machine. */
const QUICK: Partial<Record<FlagName, number>> = {
  customers: 10,
  'closed-seconds': 3,
  'low-rate': 10,
  'low-seconds': 5,
  'steady-rate': 20,
  'steady-seconds': 10,
  'peak-rate': 50,
  'peak-seconds': 5,
  'batch-size': 100,
  'drain-timeout-seconds': 120,
};

interface Settings {
  number: (name: FlagName) => number;
  quick: boolean;
  build: boolean;
  keepLogs: boolean;
}

function usage(): string {
  const quickNote = (name: FlagName): string => (QUICK[name] === undefined ? '' : `, --quick ${QUICK[name]}`);
  return benchUsage(
    'bench:webhooks',
    flags,
    {
      quick: 'the small sizes above, for a try on a busy machine (env BENCH_QUICK=1)',
      'no-build': 'run the dist/ there is, without building the engine first',
      'keep-logs': 'keep the logs of every process (env BENCH_KEEP_LOGS=1)',
    },
    quickNote,
  );
}

/** Every flag read and checked at once, so that a wrong one stops the run before anything starts. */
function readSettings(argv: string[]): Settings {
  const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
  const sized = Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, { ...flag, default: (quick ? QUICK[name as FlagName] : undefined) ?? flag.default }])) as Record<FlagName, (typeof flags)[FlagName]>;
  const values = readBenchFlags(argv, sized, ['quick', 'no-build', 'keep-logs'] as const, usage);
  const numbers = new Map((Object.keys(flags) as FlagName[]).map((name) => [name, values.number(name)]));
  return { number: (name) => numbers.get(name)!, quick, build: !values.given('no-build'), keepLogs: values.given('keep-logs') || process.env.BENCH_KEEP_LOGS === '1' };
}

// ---- scenarios ----------------------------------------------------------------------------------------------

const SETTLE_MS = 2_000;
/** An inbox client's pace: a read of the newest messages, then this pause. */
const INBOX_READ_INTERVAL_MS = 200;

interface Run {
  stack: WebhookStack;
  source: MessageSource;
  inbox: InboxReader;
  pollMs: number;
  drainTimeoutMs: number;
}

/** The ceiling: a closed loop against the bare handler; nothing to wait for after it. */
async function runCeiling(stack: WebhookStack, source: MessageSource, options: { concurrency: number; durationMs: number }): Promise<Scenario> {
  await sleep(SETTLE_MS);
  const poster = createPoster(`${stack.ceilingUrl}/webhooks/instagram`);
  const before = sampleCpu(stack.pids);
  const load = await closedLoop(poster, source, { tag: 'ceiling', ...options });
  const window = cpuSpan(before, sampleCpu(stack.pids));
  poster.close();
  return { name: 'closed loop: ceiling', load, window, whole: window };
}

/**
 * One load against the engine, then the wait until its messages are readable and the inbox check. `send` calls
 * `windowEnded` when its last POST has left (a closed loop or a batch: when it returns).
 */
async function runEngine(run: Run, name: string, send: (post: ReturnType<typeof createPoster>, windowEnded: () => void) => Promise<LoadResult>, rate?: number): Promise<Scenario> {
  const { stack } = run;
  console.log(`running ${name} ...`);
  // The previous scenario's last workflow tasks finish first, so that its CPU is not counted in this one's.
  await sleep(SETTLE_MS);
  const storedBefore = await stack.models.messages.estimatedDocumentCount();
  const poster = createPoster(`${stack.apiUrl}/webhooks/instagram`);
  const before = sampleCpu(stack.pids);
  const reads = startInboxReads(stack.apiUrl, stack.apiKey, await run.inbox.readRoute(), INBOX_READ_INTERVAL_MS);
  let windowEnd: ReturnType<typeof sampleCpu> | undefined;
  const load = await send(poster, () => (windowEnd = sampleCpu(stack.pids)));
  windowEnd ??= sampleCpu(stack.pids);
  const inboxReads = await reads.stop();
  poster.close();
  const readability = await waitUntilReadable(stack, load.messages, storedBefore, { pollMs: run.pollMs, timeoutMs: run.drainTimeoutMs });
  const whole = cpuSpan(before, sampleCpu(stack.pids));
  const checkStarted = performance.now();
  const inbox = await run.inbox.check(load.messages);
  const scenario: Scenario = { name, load, window: cpuSpan(before, windowEnd), whole, readability, inbox, inboxReads, ...(rate === undefined ? {} : { rate }) };
  const absent = missing(scenario);
  console.log(
    `  ${load.deliveries} POSTs, ${load.ackMs.length} answered 200; the last readable ${seconds(allReadableAfterMs(scenario))} s after the first POST` +
      `${absent > 0 ? `; ${absent} NOT readable within ${seconds(run.drainTimeoutMs)} s` : ''}; inbox read back in ${seconds(performance.now() - checkStarted)} s`,
  );
  return scenario;
}

// ---- main ---------------------------------------------------------------------------------------------------

const launched: Launched = { processes: [], cleanUps: [] };
let keepLogs = false;
const stopAll = createStopper(launched, () => keepLogs);
let exiting = false;

function exitAfterStop(code: number): void {
  if (exiting) return;
  exiting = true;
  void stopAll().finally(() => process.exit(code));
}

type Role = 'low' | 'steady' | 'peak';

interface Figures {
  ceiling?: Scenario;
  closed?: Scenario;
  open: Map<Role, Scenario>;
  batch?: Scenario;
  /** Every scenario, in the order run. */
  all: Scenario[];
}

/** The closed loops (the ceiling, then the engine), the open loops (low, steady, peak), the batch; each unless sized 0. */
async function runScenarios(run: Run, n: Settings['number'], ceilingSource: MessageSource): Promise<Figures> {
  const figures: Figures = { open: new Map(), all: [] };
  const closed = { concurrency: n('concurrency'), durationMs: n('closed-seconds') * 1000 };
  if (closed.durationMs > 0) {
    console.log('running closed loop: ceiling ...');
    figures.ceiling = await runCeiling(run.stack, ceilingSource, closed);
    figures.closed = await runEngine(run, 'closed loop: engine', (poster) => closedLoop(poster, run.source, { tag: 'closed', ...closed }));
    figures.all.push(figures.ceiling, figures.closed);
  }
  for (const role of ['low', 'steady', 'peak'] as const) {
    const rate = n(`${role}-rate`);
    if (rate === 0) continue;
    const durationMs = n(`${role}-seconds`) * 1000;
    const scenario = await runEngine(run, `open loop: ${rate}/s`, (poster, windowEnded) => openLoop(poster, run.source, { tag: `${role}${rate}`, rate, durationMs, onWindowEnd: windowEnded }), rate);
    figures.open.set(role, scenario);
    figures.all.push(scenario);
  }
  const entries = n('batch-size');
  if (entries > 0) {
    figures.batch = await runEngine(run, `batch: ${entries} entries`, (poster) => oneBatch(poster, run.source, { tag: 'batch', entries }));
    figures.all.push(figures.batch);
  }
  return figures;
}

/** Prints every table, the engine's warnings and the targets; true when the targets run pass and nothing is missing. */
function printReport(figures: Figures, stack: WebhookStack, n: Settings['number']): boolean {
  printClosedLoop(figures.ceiling, figures.closed, n('concurrency'), n('closed-seconds'));
  printOpenLoop([...figures.open.values()]);
  printBatch(figures.batch);
  printInboxChecks(figures.all);
  printInboxReads(figures.all);
  printCpu(figures.all);
  printHoldsBack(figures.all);
  for (const name of ['api', 'worker'] as const) {
    const warnings = logWarnings(stack.logFile(name));
    console.log(`${name} log: ${warnings.lines} warnings and errors${warnings.lines > 0 ? `, the first:\n    ${warnings.first.join('\n    ')}` : ''}`);
  }
  const { ceiling, closed, batch } = figures;
  const targetsMet = printTargets({ ceiling, closed, steady: figures.open.get('steady'), peak: figures.open.get('peak'), batch, concurrency: n('concurrency'), steadySeconds: n('steady-seconds') });
  const intact = figures.all.every(({ inbox }) => !inbox || (inbox.missing === 0 && inbox.duplicated === 0 && inbox.outOfOrder === 0));
  if (!intact) console.log('\nFAILED: acknowledged messages missing (lost, or not readable within --drain-timeout-seconds), duplicated or out of order: see the inbox table');
  return targetsMet && intact;
}

async function main(settings: Settings): Promise<number> {
  keepLogs = settings.keepLogs;
  const n = settings.number;
  const runId = randomUUID().slice(0, 8);
  const startedAt = performance.now();
  console.log(`Webhook benchmark${settings.quick ? " (--quick: small sizes, not the targets')" : ''}`);
  console.log(`machine:  ${describeMachine()}; load average ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log(
    `settings: ${n('customers')} customers; closed loop ${n('concurrency')} in flight × ${n('closed-seconds')} s; open loop ${n('low-rate')}/s × ${n('low-seconds')} s, ` +
      `${n('steady-rate')}/s × ${n('steady-seconds')} s, ${n('peak-rate')}/s × ${n('peak-seconds')} s; batch ${n('batch-size')} entries`,
  );
  const track = (child: ManagedProcess): void => {
    launched.processes.push(child);
    if (exiting) void child.stop();
  };
  const stack = await startWebhookStack({ runId, build: settings.build, launched, track, say: (line) => console.log(line) });
  console.log(`stack:    ${stack.description}`);
  const step = performance.now();
  const customers = await openConversations(stack, n('customers'), n('drain-timeout-seconds') * 1000);
  console.log(`warm-up:  ${customers.length} customers each wrote once through the emulator; every first message stored in ${seconds(performance.now() - step)} s\n`);

  const sourceOptions = { runId, igAccountId: stack.igAccountId, appSecret: stack.config.meta.appSecret, customers };
  const run: Run = { stack, source: createMessageSource(sourceOptions), inbox: createInboxReader(stack, customers), pollMs: n('poll-ms'), drainTimeoutMs: n('drain-timeout-seconds') * 1000 };
  // The ceiling has a source of its own: its pace must not push the engine's Meta timestamps ahead of the clock.
  const figures = await runScenarios(run, n, createMessageSource(sourceOptions));
  const passed = printReport(figures, stack, n);
  console.log(`\nload average (1 min) at the end: ${os.loadavg()[0]!.toFixed(2)}; total run time ${seconds(performance.now() - startedAt)} s`);
  return passed ? 0 : 1;
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  process.on(signal, () => {
    if (exiting) return;
    console.error(`\n${signal}: stopping everything this benchmark started`);
    exitAfterStop(code);
  });
}
let settings: Settings;
try {
  settings = readSettings(process.argv.slice(2));
} catch (error) {
  console.error(`${(error as Error).message} (--help lists the flags)`);
  process.exit(2);
}
main(settings).then(
  (code) => exitAfterStop(code),
  (error: unknown) => {
    console.error(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
    // A run that broke keeps the logs for a look.
    keepLogs = true;
    exitAfterStop(1);
  },
);
