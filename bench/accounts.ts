/**
 * Account lifecycle benchmark: N linked accounts (10,000 unless told), one accountLifecycleWorkflow each, whose links
 * all expire at one moment during the run. It prints how long starting the N workflows takes, the resident memory of
 * the worker and of the Temporal server once all of them run, and how long after the expiry the N "link expired"
 * notices take to reach the owners' personal rooms; then PASS or FAIL against the target: the worker within 1.5 GB
 * RSS with N = 10,000.
 *
 * Everything is real and local (bench-stack.ts): the Temporal dev server and the local database (started here with
 * throw-away state unless TEMPORAL_ADDRESS / MONGODB_URI name them), the Meta emulator in this process, and the
 * engine's worker as a process of its own (the built `dist/worker.js`, so its memory is measured alone) with its real
 * activities, Graph client and notice board, pointed at the emulator. This process seeds the data, starts the
 * workflows and watches. The data is seeded, not linked through the login flow (seed-accounts.ts): per channel, one
 * Facebook user and business at the emulator with `accounts-per-channel` Pages and their Page tokens; the channel,
 * its owner and the linked accounts written to the database directly.
 * Every link is dated REAUTH_PERIOD_DAYS before a common expiry E, `lead-seconds` after the first start, so the real
 * 60-day period ends during the run. The workflows are started as the linking flow starts them
 * (createAccountWorkflows().linked, a signalWithStart), `start-concurrency` at a time. Each one then does, with no
 * shortcut:
 *   - at once, the re-authentication notice (due 7 days before E, so already late) and its daily token check (the
 *     link is older than a day and was never checked: debug_token at the emulator). Both are waited for before E;
 *   - at E its timer fires: the account is marked `reauth_required` and the channel's owner gets a `link_expired`
 *     notice. The figure is E → each notice's `createdAt` (stamped by the notice board as it writes it).
 * `lead-seconds` must leave room for the starts and the work they bring; the printout says if it did not.
 *
 * Each account's activities look its linked account up by `_id` and update it, which the local database answers
 * through its `_id` index, so the work grows with N: the default lead is 60 s + 100 ms × N. (On FerretDB 1.x, the
 * earlier local database, every such lookup read the collection through and a 10,000-account run took hours.)
 *
 * Memory: VmRSS of the worker, the Temporal server and the database, read from /proc/<pid>/status when all the
 * workflows are started and again when they all wait on their timers, and sampled through every phase for its peak;
 * VmHWM is the kernel's own peak over the process's life (for the worker it includes bundling the workflow code at
 * start-up). The verdict takes the worker's VmHWM.
 *
 *   npm run bench:accounts                                 (10,000 accounts)
 *   npm run bench:accounts -- --accounts 1000              (a quick try; or BENCH_ACCOUNTS=1000)
 *
 * Ctrl-C (or SIGTERM, SIGHUP) stops every process it started. Exits 0 on PASS: every workflow started, every notice
 * stored once, every account marked, and the worker within its target.
 */
import { randomInt } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Models } from '../src/db/models';
import { DAY_MS } from '../src/domain/link';
import { createConfiguredGraphClient } from '../src/graph/configured';
import { createAccountWorkflows } from '../src/linking/account-workflows';
import { createTokenCipher } from '../src/security/token-cipher';
import { makeAccountWorkflowId } from '../src/temporal/names';
import { startBenchStack, type BenchStack } from './bench-stack';
import { describeHistories, readHistories } from './histories';
import { benchUsage, describeMachine, distribution, ms, pool, rate, readBenchFlags, table } from './lib';
import { mb, memoryNow } from './process-sampler';
import { runBenchmark, type RunControl } from './run-control';
import { seedChannel, type Account } from './seed-accounts';
import { describeWorkerLog } from './worker-process';

const WORKER_RSS_TARGET_BYTES = 1.5 * 2 ** 30;
const TARGET_ACCOUNTS = 10_000;

// ---- settings -----------------------------------------------------------------------------------------------

const flags = {
  accounts: { env: 'BENCH_ACCOUNTS', default: TARGET_ACCOUNTS, min: 1, max: 100_000, help: 'linked accounts, one lifecycle workflow each' },
  'accounts-per-channel': { env: 'BENCH_ACCOUNTS_PER_CHANNEL', default: 100, min: 1, max: 1_000, help: 'accounts per channel (each channel has one owner and one Facebook user)' },
  'start-concurrency': { env: 'BENCH_START_CONCURRENCY', default: 32, min: 1, max: 512, help: 'workflow starts in flight at once' },
  'lead-seconds': { env: 'BENCH_LEAD_SECONDS', default: 0, min: 0, max: 86_400, help: 'from the first start to the common expiry (0: 60 s + 100 ms × N)' },
  'timeout-seconds': { env: 'BENCH_TIMEOUT_SECONDS', default: 0, min: 0, max: 86_400, help: 'how long the wait for the expiry notices may last (0: 600 s or 3 × the lead, the longer)' },
  'history-sample': { env: 'BENCH_HISTORY_SAMPLE', default: 100, min: 0, max: 100_000, help: 'workflow histories read at the end to count activity retries and workflow task timeouts' },
  'sample-ms': { env: 'BENCH_SAMPLE_MS', default: 250, min: 50, max: 10_000, help: 'how often memory is sampled' },
} as const;

type FlagName = keyof typeof flags;

interface Settings {
  accounts: number;
  accountsPerChannel: number;
  startConcurrency: number;
  leadMs: number;
  timeoutMs: number;
  historySample: number;
  sampleMs: number;
  build: boolean;
  keepLogs: boolean;
}

function usage(): string {
  return benchUsage('bench:accounts', flags, {
    'no-build': 'run the dist/worker.js there is, without building the engine first',
    'keep-logs': 'keep the logs of the worker, Temporal and the database (env BENCH_KEEP_LOGS=1)',
  });
}

function readSettings(argv: string[]): Settings {
  const flagValues = readBenchFlags(argv, flags, ['no-build', 'keep-logs'] as const, usage);
  const number = (name: FlagName): number => flagValues.number(name);
  const accounts = number('accounts');
  const leadSeconds = number('lead-seconds');
  const leadMs = leadSeconds > 0 ? leadSeconds * 1000 : Math.round(60_000 + 100 * accounts);
  const timeoutSeconds = number('timeout-seconds');
  return {
    accounts,
    accountsPerChannel: number('accounts-per-channel'),
    startConcurrency: number('start-concurrency'),
    leadMs,
    timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : Math.max(600_000, 3 * leadMs),
    historySample: number('history-sample'),
    sampleMs: number('sample-ms'),
    build: !flagValues.given('no-build'),
    keepLogs: flagValues.given('keep-logs') || process.env.BENCH_KEEP_LOGS === '1',
  };
}

const PHASES = ['start-up', 'starts', 'drain', 'waiting', 'expiry'] as const;
type Phase = (typeof PHASES)[number];
const PHASE_HELP = 'start-up: the worker bundles its workflows while the data is seeded; starts: the N starts; drain: until the re-authentication notices and token checks they cause are done; waiting: until the expiry; expiry: until every expiry notice is stored';

const seconds = (valueMs: number): string => (valueMs / 1000).toFixed(1);

// ---- notices --------------------------------------------------------------------------------------------------

/**
 * How many notices the collection holds: the collection's own count, without reading documents (a filtered count
 * would read them all, and polling so would load the database more than the engine does).
 */
async function storedNotices(models: Models): Promise<number> {
  return models.notices.estimatedDocumentCount();
}

/**
 * Waits until `done` holds or the deadline passes, reading the stored notices every `everyMs`. Only the run writes
 * notices to the database it starts; with MONGODB_URI naming a database others post notices to meanwhile, a wait may
 * end early, and the figures (one read of the run's own notices after the load) show fewer than expected.
 */
async function waitForNotices(models: Models, deadline: number, done: (stored: number) => boolean, progress: (stored: number) => void = () => undefined, everyMs = 2_000): Promise<number> {
  for (;;) {
    const stored = await storedNotices(models);
    progress(stored);
    if (done(stored) || Date.now() >= deadline) return stored;
    await sleep(Math.min(everyMs, Math.max(0, deadline - Date.now())));
  }
}

/** When each of the run's notices of one kind was stored: one read of the collection, once the load is over. */
async function noticeTimes(models: Models, channelIds: string[], kind: string): Promise<number[]> {
  const notices = await models.notices.find({ kind, channelId: { $in: channelIds } }, { createdAt: 1 }).lean<Array<{ createdAt: Date }>>();
  return notices.map((notice) => notice.createdAt.getTime());
}

/** How many of the queue's workflows visibility shows running, read until it shows them all (it lags) or for 15 s. */
async function runningWorkflows(client: Client, taskQueue: string, expected: number): Promise<string> {
  const deadline = Date.now() + 15_000;
  let count: number | undefined;
  for (;;) {
    count = (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`).catch(() => undefined))?.count;
    if ((count !== undefined && count >= expected) || Date.now() > deadline) return count === undefined ? 'not answered' : `${count} of ${expected}`;
    await sleep(500);
  }
}

// ---- the phases -----------------------------------------------------------------------------------------------

interface Run {
  settings: Settings;
  stack: BenchStack<Phase>;
  accounts: Account[];
  channelIds: string[];
  /** The common expiry E, and when every link was made so that its period ends at E. */
  expiresAt: number;
  linkedAt: number;
  noticesBefore: number;
}

/** While the worker bundles its workflow code: the channels and their linked accounts. */
async function seedAccounts(stack: BenchStack<Phase>, settings: Settings, runTag: string): Promise<Account[]> {
  const { config, models } = stack;
  const channelCount = Math.ceil(settings.accounts / settings.accountsPerChannel);
  const step = performance.now();
  // Dated again once E is set, so that the seeding's length is not in the lead.
  const context = { models, graph: createConfiguredGraphClient(config.meta), cipher: createTokenCipher(config.tokens.keyring), emulatorUrl: stack.emulator.url, appId: config.meta.appId, runTag, linkedAt: new Date() };
  const perChannel: Account[][] = [];
  await Promise.all([
    stack.worker.waitUntilPolling(stack.client, config.temporal.taskQueue).then(() => console.log(`worker:   polling ${seconds(performance.now() - step)} s after it was started`)),
    pool(channelCount, 4, async (index) => {
      perChannel[index] = await seedChannel(context, index, Math.min(settings.accountsPerChannel, settings.accounts - index * settings.accountsPerChannel));
    }),
  ]);
  const accounts = perChannel.flat();
  const channels = new Set(accounts.map((account) => account.channelId)).size;
  console.log(`data:     ${channels} channels with one owner each, ${accounts.length} linked accounts with their emulator Page tokens, written in ${seconds(performance.now() - step)} s (with the worker's start)`);
  return accounts;
}

/** Sets the common expiry E `lead` after the first start, and dates every link so that its period ends then. */
async function dateLinks(stack: BenchStack<Phase>, settings: Settings, channelIds: string[]): Promise<{ expiresAt: number; linkedAt: number; firstStartAt: number }> {
  const firstStartAt = Date.now() + 2_000;
  const expiresAt = firstStartAt + settings.leadMs;
  const periodDays = stack.config.tokens.reauthPeriodDays;
  const linkedAt = expiresAt - periodDays * DAY_MS;
  await stack.models.linkedAccounts.updateMany({ channelId: { $in: channelIds } }, { $set: { linkedAt: new Date(linkedAt), updatedAt: new Date(linkedAt) } });
  console.log(`expiry:   every link was made ${periodDays} days before ${new Date(expiresAt).toISOString()} (E), ${seconds(settings.leadMs)} s after the first start`);
  return { expiresAt, linkedAt, firstStartAt };
}

/** Starts one lifecycle workflow per account as the linking flow does (a signalWithStart), some at a time. */
async function startWorkflows(run: Run): Promise<{ started: number; startsBegan: number }> {
  const { stack, settings, accounts } = run;
  const accountWorkflows = createAccountWorkflows({ temporal: stack.client, taskQueue: stack.config.temporal.taskQueue, reauthPeriodDays: stack.config.tokens.reauthPeriodDays });
  const latencies: number[] = [];
  const failures = new Map<string, { count: number; message: string }>();
  const step = performance.now();
  const startsBegan = Date.now();
  const starting = pool(accounts.length, settings.startConcurrency, async (index) => {
    const { igAccountId, channelId, facebookUserId } = accounts[index]!;
    const began = performance.now();
    try {
      await accountWorkflows.linked({ igAccountId, channelId, linkedAt: run.linkedAt, tokenExpiresAt: null, linkedByFacebookUserId: facebookUserId });
      latencies.push(performance.now() - began);
    } catch (error) {
      const name = (error as Error).name;
      const known = failures.get(name);
      failures.set(name, { count: (known?.count ?? 0) + 1, message: known?.message ?? (error as Error).message });
    }
  });
  await stack.unlessExits(starting);
  const elapsed = performance.now() - step;
  const started = latencies.length;
  const figures = distribution(latencies);
  console.log(`\nStarting ${accounts.length} accountLifecycleWorkflow (signalWithStart, as the linking flow does; ${settings.startConcurrency} in flight)`);
  console.log(
    table(
      ['started', 'failed', 'seconds', 'starts/s', 'p50 ms', 'p99 ms', 'max ms'],
      [[String(started), String(accounts.length - started), seconds(elapsed), rate(started, elapsed), ms(figures.p50), ms(figures.p99), ms(figures.max)]],
    ),
  );
  for (const [name, { count, message }] of failures) console.log(`  start failures: ${count} × ${name}: ${message.slice(0, 200)}`);
  console.log(`time to start all ${started}: ${seconds(elapsed)} s`);
  console.log(`resident memory once all are started: ${memoryNow(stack.targets)}`);
  return { started, startsBegan };
}

/** Each workflow's re-authentication notice and token check, all due at once: waited for until E. */
async function drain(run: Run, started: number, startsBegan: number): Promise<void> {
  const { stack } = run;
  const tokenChecks = stack.emulator.answered;
  const running = await runningWorkflows(stack.client, stack.config.temporal.taskQueue, started);
  const drained = (stored: number): boolean => stored - run.noticesBefore >= started && tokenChecks() >= started;
  const warningsStored = (await stack.unlessExits(waitForNotices(stack.models, run.expiresAt, drained))) - run.noticesBefore;
  const atDrained = memoryNow(stack.targets);
  console.log(`\nrunning (visibility, which lags a little): ${running}`);
  console.log(`re-authentication notices stored: ${warningsStored} of ${started}; token checks the emulator answered: ${tokenChecks()} of ${started}; ${seconds(Date.now() - startsBegan)} s after the first start`);
  if (!drained(warningsStored + run.noticesBefore)) console.log('  NOT all before the expiry: the expiry figures below include that work (raise --lead-seconds)');
  else console.log(`resident memory with all ${started} waiting on their expiry timers: ${atDrained}`);
}

/** From E until every link_expired notice is stored, or the timeout. */
async function awaitExpiryNotices(run: Run, started: number): Promise<void> {
  const { stack, settings, expiresAt, noticesBefore } = run;
  console.log(`\nexpiry at ${new Date(expiresAt).toISOString()}: waiting for ${started} link_expired notices (at most ${seconds(settings.timeoutMs)} s)`);
  let lastPrinted = Date.now();
  const progress = (stored: number): void => {
    if (Date.now() - lastPrinted < 60_000) return;
    lastPrinted = Date.now();
    console.log(`  ${seconds(Date.now() - expiresAt)} s after the expiry: ${Math.max(0, stored - noticesBefore - started)} of ${started}`);
  };
  const all = noticesBefore + 2 * started;
  await stack.unlessExits(waitForNotices(stack.models, expiresAt + settings.timeoutMs, (stored) => stored >= all, progress, started > 2_000 ? 5_000 : 1_000));
}

interface Outcome {
  warnings: number;
  expired: number;
  marked: number;
  lastNoticeAfterMs: number;
}

/** The notices as stored, read once: E → each link_expired notice's `createdAt` (stamped by the notice board). */
async function reportNotices(run: Run, started: number, startsBegan: number): Promise<Outcome> {
  const { stack, channelIds, expiresAt, settings } = run;
  const warningTimes = await noticeTimes(stack.models, channelIds, 'reauth_due');
  const expiryTimes = await noticeTimes(stack.models, channelIds, 'link_expired');
  const expired = expiryTimes.length;
  const lateness = distribution(expiryTimes.map((at) => at - expiresAt));
  const marked = await stack.models.linkedAccounts.countDocuments({ channelId: { $in: channelIds }, status: 'reauth_required' });
  const visible = await stack.client.workflow.count(`TaskQueue = "${stack.config.temporal.taskQueue}" AND LinkStatus = "reauth_required" AND ExecutionStatus = "Running"`).catch(() => undefined);
  const lastWarning = warningTimes.reduce((latest, at) => Math.max(latest, at), startsBegan);
  const firstExpiry = expired > 0 ? ms(expiryTimes.reduce((first, at) => Math.min(first, at), Infinity) - expiresAt) : '-';
  console.log(`\nre-authentication notices: ${warningTimes.length} of ${started}, the last ${seconds(lastWarning - startsBegan)} s after the first start`);
  console.log(`\nExpiry: ms from E to each account's link_expired notice in its owner's room`);
  console.log(table(['notices', 'p50', 'p95', 'p99', 'max', 'min', 'notices/s'], [[String(expired), ms(lateness.p50), ms(lateness.p95), ms(lateness.p99), ms(lateness.max), firstExpiry, rate(expired, lateness.max)]]));
  console.log(`time until all ${started} expiry notices were delivered: ${expired >= started ? `${seconds(lateness.max)} s after the expiry` : `NOT all: ${expired} of ${started} after ${seconds(settings.timeoutMs)} s`}`);
  console.log(`accounts marked reauth_required: ${marked} of ${started}; running with LinkStatus reauth_required (visibility): ${visible?.count ?? 'not answered'}`);
  return { warnings: warningTimes.length, expired, marked, lastNoticeAfterMs: lateness.max };
}

function printResources(stack: BenchStack<Phase>, settings: Settings): void {
  console.log(`\nResident memory (MB): peak sampled every ${settings.sampleMs} ms in each phase; VmHWM is the kernel's peak over the process's life`);
  console.log(stack.sampler.memoryReport());
  console.log(`(${PHASE_HELP})`);
  console.log(`\nCPU used in each phase: seconds, and % of one core (the machine has ${os.cpus().length}; other work on it counts in the load average)`);
  console.log(stack.sampler.cpuReport());
  console.log(`load average at the end: ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
}

/** A service the environment named is someone else's: the run's workflows end and its documents go. */
async function cleanUp(run: Run): Promise<void> {
  const { stack, accounts, channelIds } = run;
  if (stack.external.temporal) {
    await pool(accounts.length, 32, async (index) => {
      await stack.client.workflow
        .getHandle(makeAccountWorkflowId(accounts[index]!.igAccountId))
        .terminate('benchmark over')
        .catch(() => undefined);
    });
  }
  if (stack.external.mongo) {
    const { models } = stack;
    const byChannel = { channelId: { $in: channelIds } };
    await Promise.all([models.notices.deleteMany(byChannel), models.linkedAccounts.deleteMany(byChannel), models.apiKeys.deleteMany(byChannel), models.managers.deleteMany(byChannel)]);
    await models.channels.deleteMany({ _id: { $in: channelIds } });
  }
}

/** PASS or FAIL against the target; the exit code. */
function verdict(run: Run, started: number, outcome: Outcome, workerHwm: number | undefined): number {
  const { settings, accounts } = run;
  const problems: string[] = [];
  if (workerHwm === undefined || workerHwm > WORKER_RSS_TARGET_BYTES) problems.push(`worker peak RSS ${mb(workerHwm)} MB over the ${mb(WORKER_RSS_TARGET_BYTES)} MB target`);
  if (started < accounts.length) problems.push(`${accounts.length - started} workflows not started`);
  if (outcome.warnings !== started) problems.push(`${outcome.warnings} re-authentication notices for ${started} workflows`);
  if (outcome.expired !== started) problems.push(`${outcome.expired} expiry notices for ${started} workflows`);
  if (outcome.marked !== started) problems.push(`${outcome.marked} accounts marked for ${started} workflows`);
  const scale = settings.accounts === TARGET_ACCOUNTS ? '' : ` (N=${settings.accounts}; the target is set for N=${TARGET_ACCOUNTS.toLocaleString('en')})`;
  if (problems.length > 0) {
    console.log(`FAIL: ${problems.join('; ')}${scale}`);
    return 1;
  }
  console.log(`PASS: worker peak RSS ${mb(workerHwm)} MB ≤ ${mb(WORKER_RSS_TARGET_BYTES)} MB with ${started} account workflows; all ${started} expiry notices delivered ${seconds(outcome.lastNoticeAfterMs)} s after the expiry${scale}`);
  return 0;
}

// ---- run ----------------------------------------------------------------------------------------------------

async function main(control: RunControl): Promise<number> {
  const settings = readSettings(process.argv.slice(2));
  control.setKeepLogs(settings.keepLogs);
  const runTag = String(randomInt(10_000, 100_000));
  const startedAt = performance.now();
  console.log('Account lifecycle benchmark');
  console.log(`machine:  ${describeMachine()}; load average ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log(
    `settings: accounts=${settings.accounts} in ${Math.ceil(settings.accounts / settings.accountsPerChannel)} channels, start-concurrency=${settings.startConcurrency}, lead=${seconds(settings.leadMs)} s, expiry wait at most ${seconds(settings.timeoutMs)} s`,
  );
  const stack = await startBenchStack(control, {
    name: 'accounts',
    runTag,
    build: settings.build,
    phases: PHASES,
    sampleMs: settings.sampleMs,
    selfName: 'this benchmark',
    countAtEmulator: (req) => req.url?.includes('/debug_token') === true,
  });
  console.log(
    `worker:   workflow cache ${stack.config.temporal.maxCachedWorkflows} workflows (WORKER_MAX_CACHED_WORKFLOWS)${settings.accounts > stack.config.temporal.maxCachedWorkflows ? `: the other ${settings.accounts - stack.config.temporal.maxCachedWorkflows} are evicted and replayed when their timers fire` : ''}`,
  );

  const accounts = await seedAccounts(stack, settings, runTag);
  const channelIds = [...new Set(accounts.map((account) => account.channelId))];
  const { expiresAt, linkedAt, firstStartAt } = await dateLinks(stack, settings, channelIds);
  const run: Run = { settings, stack, accounts, channelIds, expiresAt, linkedAt, noticesBefore: await storedNotices(stack.models) };
  await sleep(Math.max(0, firstStartAt - Date.now()));

  stack.sampler.enter('starts');
  const { started, startsBegan } = await startWorkflows(run);
  stack.sampler.enter('drain');
  await drain(run, started, startsBegan);
  stack.sampler.enter('waiting');
  await stack.unlessExits(sleep(Math.max(0, expiresAt - Date.now())));
  stack.sampler.enter('expiry');
  await awaitExpiryNotices(run, started);
  const workerHwm = stack.sampler.hwm('worker');
  stack.sampler.stop();

  const outcome = await reportNotices(run, started, startsBegan);
  if (settings.historySample > 0) {
    const ids = accounts.map((account) => makeAccountWorkflowId(account.igAccountId));
    for (const line of describeHistories(await readHistories(stack.client, ids, settings.historySample))) console.log(line);
  }
  for (const line of describeWorkerLog(stack.worker.log)) console.log(line);
  printResources(stack, settings);
  if (stack.external.temporal || stack.external.mongo) await cleanUp(run);
  console.log(`\ntotal run time ${seconds(performance.now() - startedAt)} s`);
  return verdict(run, started, outcome, workerHwm);
}

runBenchmark(main);
