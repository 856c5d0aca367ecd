/**
 * Account lifecycle benchmark: N linked accounts (10,000 unless told), one accountLifecycleWorkflow each, whose links
 * all expire at one moment during the run. It prints how long starting the N workflows takes, the resident memory of
 * the worker and of the Temporal server once all of them run, and how long after the expiry the N "link expired"
 * notices take to reach the owners' personal rooms; then PASS or FAIL against the target: the worker within 1.5 GB
 * RSS with N = 10,000.
 *
 * Everything is real and local: the Temporal dev server and the local database (started here with throw-away state unless
 * TEMPORAL_ADDRESS / MONGODB_URI name them: then that one is used and nothing is started for it), the Meta emulator
 * in this process, and the engine's worker as a process of its own (the built `dist/worker.js`, as production runs
 * it, so its memory is measured alone) with its real activities, Graph client and notice board, pointed at the
 * emulator (GRAPH_API_URL is not used). This process seeds the data, starts the workflows and watches.
 *
 * The data is seeded, not linked through the engine's HTTP login flow (10,000 logins are not what is measured):
 *   - at the emulator: one Facebook user and business per channel with `accounts-per-channel` Pages, each with an
 *     Instagram professional account. The Page tokens come from Meta's own steps (the dialog's code, the long-lived
 *     user token, /me/accounts), as the linker gets them: they never expire, and debug_token answers for them;
 *   - in the database, written directly: the channels with one owner each (through the channel directory) and the
 *     linked accounts, their Page tokens sealed with the worker's key.
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
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Connection as MongooseConnection } from 'mongoose';
import { createEmulator } from '../emulator/app';
import { createLogger as createEmulatorLogger } from '../emulator/logger';
import { repoRoot, spawnManaged, type ManagedProcess } from '../scripts/lib/processes';
import { createChannelDirectory } from '../src/channels/directory';
import { loadConfig, type AppConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { createModels, ensureIndexes, type Models } from '../src/db/models';
import { newLinkedAccount, type LinkedAccount } from '../src/db/models/linked-account';
import { DAY_MS } from '../src/domain/link';
import { createConfiguredGraphClient } from '../src/graph/configured';
import type { GraphClient } from '../src/graph/client';
import { createAccountWorkflows } from '../src/linking/account-workflows';
import { REQUIRED_SCOPES } from '../src/linking/permissions';
import { createTokenCipher, type TokenCipher } from '../src/security/token-cipher';
import { makeAccountWorkflowId } from '../src/temporal/names';
import { buildEngine, logWarnings, waitForPoller } from './engine-processes';
import { describeMachine, distribution, emulatorControl, type LocalServices, ms, pool, rate, readBenchFlags, startLocalServices, table } from './lib';

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
  const lines = Object.entries(flags).map(([name, flag]) => `  --${name.padEnd(22)} ${flag.help} (env ${flag.env}, default ${flag.default})`);
  return [
    'usage: npm run bench:accounts -- [flags]',
    ...lines,
    `  --${'no-build'.padEnd(22)} run the dist/worker.js there is, without building the engine first`,
    `  --${'keep-logs'.padEnd(22)} keep the logs of the worker, Temporal and the database (env BENCH_KEEP_LOGS=1)`,
  ].join('\n');
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

// ---- memory and CPU, from /proc -----------------------------------------------------------------------------

interface ProcessMemory {
  rssBytes: number;
  hwmBytes: number;
}

/** VmRSS and VmHWM of a process, or undefined once it is gone. */
function readMemory(pid: number | undefined): ProcessMemory | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** The process listening on a loopback TCP port (a service named by the environment), found through /proc. */
function pidListeningOn(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket's inode.
      if (fields[3] === '0A' && Number.parseInt(fields[1]?.split(':')[1] ?? '', 16) === port && fields[9]) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return Number(entry);
      }
    } catch {
      // Another user's process, or one that just ended.
    }
  }
  return undefined;
}

/** The local process behind a service address the environment named (`host:port` or a mongodb:// URI), if any. */
function pidOn(address: string, defaultPort: number): number | undefined {
  try {
    const url = new URL(address.includes('://') ? address : `tcp://${address}`);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return undefined;
    return pidListeningOn(Number(url.port || defaultPort));
  } catch {
    return undefined;
  }
}

/** CPU time a process has used so far (user + system, all threads), in seconds; clock ticks are 1/100 s on Linux. */
function readCpuSeconds(pid: number): number | undefined {
  try {
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

const PHASES = ['start-up', 'starts', 'drain', 'waiting', 'expiry'] as const;
type Phase = (typeof PHASES)[number];
const PHASE_HELP = 'start-up: the worker bundles its workflows while the data is seeded; starts: the N starts; drain: until the re-authentication notices and token checks they cause are done; waiting: until the expiry; expiry: until every expiry notice is stored';

interface Target {
  name: string;
  pid: number | undefined;
}

/** Samples the RSS of some processes, keeping the peak of each phase, and the CPU time each phase cost them. */
function createProcessSampler(targets: Target[], intervalMs: number) {
  let phase: Phase = 'start-up';
  let phaseBegan = performance.now();
  const peaks = new Map<string, Map<Phase, number>>(targets.map((target) => [target.name, new Map()]));
  const cpu = new Map<string, Map<Phase, number>>(targets.map((target) => [target.name, new Map()]));
  const cpuAtPhaseStart = new Map<string, number>();
  const phaseSeconds = new Map<Phase, number>();
  const hwm = new Map<string, number>();
  const sample = (): void => {
    for (const { name, pid } of targets) {
      const memory = readMemory(pid);
      if (!memory) continue;
      const byPhase = peaks.get(name)!;
      byPhase.set(phase, Math.max(byPhase.get(phase) ?? 0, memory.rssBytes));
      hwm.set(name, memory.hwmBytes);
    }
  };
  const closePhase = (): void => {
    phaseSeconds.set(phase, (performance.now() - phaseBegan) / 1000);
    for (const { name, pid } of targets) {
      const now = pid === undefined ? undefined : readCpuSeconds(pid);
      if (now === undefined) continue;
      const before = cpuAtPhaseStart.get(name);
      if (before !== undefined) cpu.get(name)!.set(phase, now - before);
      cpuAtPhaseStart.set(name, now);
    }
  };
  for (const { name, pid } of targets) {
    const now = pid === undefined ? undefined : readCpuSeconds(pid);
    if (now !== undefined) cpuAtPhaseStart.set(name, now);
  }
  sample();
  const timer = setInterval(sample, intervalMs);
  let stopped = false;
  return {
    enter(next: Phase): void {
      if (stopped) return;
      sample();
      closePhase();
      phase = next;
      phaseBegan = performance.now();
      sample();
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      sample();
      closePhase();
      clearInterval(timer);
    },
    /** The kernel's peak RSS of a process so far (read now, or the last one read before it ended). */
    hwm(name: string): number | undefined {
      const target = targets.find((candidate) => candidate.name === name);
      return readMemory(target?.pid)?.hwmBytes ?? hwm.get(name);
    },
    memoryReport(): string {
      const rows = targets.map(({ name, pid }) => {
        if (pid === undefined) return [name, ...PHASES.map(() => '-'), '-'];
        const byPhase = peaks.get(name)!;
        return [name, ...PHASES.map((p) => mb(byPhase.get(p))), mb(hwm.get(name))];
      });
      return table(['process', ...PHASES, 'VmHWM'], rows);
    },
    /** Share of one core each process used in each phase (100 % = one core busy through the whole phase). */
    cpuReport(): string {
      const share = (name: string, p: Phase): string => {
        const used = cpu.get(name)?.get(p);
        const elapsed = phaseSeconds.get(p);
        return used === undefined || !elapsed ? '-' : `${Math.round((100 * used) / elapsed)} %`;
      };
      const rows = targets.map(({ name }) => [name, ...PHASES.map((p) => share(name, p))]);
      rows.push(['phase length, s', ...PHASES.map((p) => (phaseSeconds.has(p) ? phaseSeconds.get(p)!.toFixed(0) : '-'))]);
      return table(['process', ...PHASES], rows);
    },
  };
}

const mb = (bytes: number | undefined): string => (bytes === undefined || Number.isNaN(bytes) ? '-' : (bytes / 2 ** 20).toFixed(0));

function memoryNow(targets: Target[]): string {
  return targets
    .filter((target) => target.pid !== undefined)
    .map((target) => `${target.name} ${mb(readMemory(target.pid)?.rssBytes)} MB`)
    .join(', ');
}

// ---- the stack ----------------------------------------------------------------------------------------------

/**
 * The workflow cache the SDK gives a worker without `maxCachedWorkflows` (as ours), from the V8 heap limit, which
 * the worker shares with this process (same node, same NODE_OPTIONS). Workflows past it are evicted and replayed
 * from their history when their next task comes.
 */
function defaultWorkflowCacheSize(): { workflows: number; heapLimitMb: number } {
  const heapLimitMb = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
  return { workflows: Math.max(Math.floor((Math.max(heapLimitMb - 200, 0) * 600) / 1024), 10), heapLimitMb };
}

interface LocalEmulator {
  url: string;
  /** debug_token calls it answered (200) so far. */
  tokenChecks: () => number;
  close(): Promise<void>;
}

/** The Meta emulator in this process, on a free port, with the engine's app; it counts the token checks it answers. */
async function startEmulator(config: AppConfig): Promise<LocalEmulator> {
  let url = '';
  let tokenChecks = 0;
  const emulator = createEmulator({
    logger: createEmulatorLogger({ level: 'error', write: () => undefined }),
    publicBaseUrl: () => url,
    // Nothing here sends a message, so no webhook is delivered; the address is a closed port all the same.
    seed: { appId: config.meta.appId, appSecret: config.meta.appSecret, verifyToken: config.meta.webhookVerifyToken, webhookUrl: 'http://127.0.0.1:9/webhooks/instagram', demo: false },
  });
  const server = createServer((req, res) => {
    if (req.url?.includes('/debug_token')) {
      res.once('finish', () => {
        if (res.statusCode === 200) tokenChecks += 1;
      });
    }
    emulator.app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tokenChecks: () => tokenChecks,
    async close() {
      await emulator.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- data ---------------------------------------------------------------------------------------------------

interface Account {
  igAccountId: string;
  channelId: string;
  facebookUserId: string;
}

interface SeedContext {
  models: Models;
  graph: GraphClient;
  cipher: TokenCipher;
  emulatorUrl: string;
  appId: string;
  runTag: string;
  linkedAt: Date;
}

/**
 * One channel: its owner in the engine's database; at the emulator, a Facebook user whose business has `count`
 * Pages with an Instagram account each, who completes the login dialog; the Page tokens through the Graph API as
 * the linker gets them (code → user token → long-lived user token → /me/accounts); the linked accounts written.
 */
async function seedChannel(context: SeedContext, index: number, count: number): Promise<Account[]> {
  const { runTag } = context;
  const channelId = `bench-${runTag}-${index}`;
  await createChannelDirectory({ models: context.models, now: Date.now }).createChannelWithOwner({ channelId, name: `Bench channel ${index}`, ownerName: `Bench owner ${index}` });

  const user = { name: `Bench Owner ${index}`, email: `bench-${runTag}-${index}@example.com`, password: `pw-${runTag}-${index}` };
  const seeded = await emulatorControl<{ user: { id: string }; pages: Array<{ id: string; name: string; igAccountId: string | null }> }>(context.emulatorUrl, '/businesses', {
    user,
    business: { name: `Bench business ${runTag} ${index}` },
    pages: Array.from({ length: count }, (_, page) => ({ name: `Bench Page ${index}.${page}`, igAccount: { username: `bench.${runTag}.${index}.${page}`, name: `Bench ${index}.${page}` } })),
  });
  const redirectUri = 'http://127.0.0.1:9/v1/oauth/facebook/callback';
  const { code } = await emulatorControl<{ code?: string }>(context.emulatorUrl, '/dialog/complete', { client_id: context.appId, redirect_uri: redirectUri, scope: [...REQUIRED_SCOPES], ...user });
  if (code === undefined) throw new Error(`the emulator's dialog gave no code for channel ${channelId}`);
  const shortLived = await context.graph.exchangeCode({ code, redirectUri });
  const longLived = await context.graph.exchangeForLongLivedToken(shortLived.accessToken);
  const pages = await context.graph.listPages(longLived.accessToken);

  const at = context.linkedAt;
  const documents: LinkedAccount[] = seeded.pages.map((seededPage, page) => {
    const listed = pages.find((candidate) => candidate.id === seededPage.id);
    if (!listed?.accessToken || !seededPage.igAccountId || listed.instagramBusinessAccountId !== seededPage.igAccountId) {
      throw new Error(`the emulator did not list Page ${seededPage.id} with its token and Instagram account`);
    }
    return {
      ...newLinkedAccount({
        igAccountId: seededPage.igAccountId,
        channelId,
        pageId: seededPage.id,
        username: `bench.${runTag}.${index}.${page}`,
        pageToken: context.cipher.seal(listed.accessToken, { boundTo: seededPage.igAccountId }),
        at,
      }),
      pageName: seededPage.name,
      linkedByFacebookUserId: seeded.user.id,
      // A Page token from a long-lived user token never expires (debug_token's expires_at 0): the linker stores null.
      tokenExpiresAt: null,
    };
  });
  await context.models.linkedAccounts.collection.insertMany(documents as never[], { ordered: false });
  return documents.map((document) => ({ igAccountId: document.igAccountId, channelId, facebookUserId: seeded.user.id }));
}

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

interface HistoryFindings {
  read: number;
  retriedActivities: number;
  extraAttempts: number;
  retryCauses: Map<string, number>;
  /** By timeout type: a sticky task the worker did not pick up in time is SCHEDULE_TO_START (then it goes to the normal queue). */
  workflowTaskTimeouts: Map<string, number>;
  workflowTaskFailures: number;
}

/**
 * Reads the histories of a sample of the workflows: activities retried (an ActivityTaskStarted's attempt above 1; the
 * cause is its last failure, e.g. a start-to-close timeout) and workflow tasks that timed out or failed.
 */
async function readHistories(client: Client, accounts: Account[], sample: number): Promise<HistoryFindings> {
  const chosen = [...accounts].sort(() => Math.random() - 0.5).slice(0, sample);
  const findings: HistoryFindings = { read: 0, retriedActivities: 0, extraAttempts: 0, retryCauses: new Map(), workflowTaskTimeouts: new Map(), workflowTaskFailures: 0 };
  await pool(chosen.length, 8, async (index) => {
    const history = await client.workflow
      .getHandle(makeAccountWorkflowId(chosen[index]!.igAccountId))
      .fetchHistory()
      .catch(() => undefined);
    if (!history) return;
    findings.read += 1;
    for (const event of history.events ?? []) {
      const started = event.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1) {
        findings.retriedActivities += 1;
        findings.extraAttempts += (started.attempt ?? 1) - 1;
        const cause = (started.lastFailure?.message ?? 'unknown').slice(0, 100);
        findings.retryCauses.set(cause, (findings.retryCauses.get(cause) ?? 0) + 1);
      }
      const timedOut = event.workflowTaskTimedOutEventAttributes;
      if (timedOut) {
        const type = (temporal.api.enums.v1.TimeoutType[timedOut.timeoutType ?? 0] ?? 'unknown').replace('TIMEOUT_TYPE_', '');
        findings.workflowTaskTimeouts.set(type, (findings.workflowTaskTimeouts.get(type) ?? 0) + 1);
      }
      if (event.workflowTaskFailedEventAttributes) findings.workflowTaskFailures += 1;
    }
  });
  return findings;
}

// ---- run ----------------------------------------------------------------------------------------------------

const seconds = (valueMs: number): string => (valueMs / 1000).toFixed(1);

/** What the run started, so that a failure or a signal stops all of it. */
interface Started {
  processes: ManagedProcess[];
  /** Files of the run outside the services' directory (the build's log), removed at the end unless logs are kept. */
  files: string[];
  worker?: ManagedProcess;
  emulator?: LocalEmulator;
  services?: LocalServices;
  connection?: Connection;
  database?: MongooseConnection;
  sampler?: ReturnType<typeof createProcessSampler>;
}

function createStopper(started: Started, keepLogs: () => boolean) {
  let stopping: Promise<void> | undefined;
  return (): Promise<void> => {
    stopping ??= (async () => {
      started.sampler?.stop();
      // The worker first, while the services it uses still answer; then this process's connections; then the rest.
      await started.worker?.stop().catch((error: unknown) => console.error(`worker stop: ${(error as Error).message}`));
      await started.connection?.close().catch(() => undefined);
      await started.database?.close().catch(() => undefined);
      await started.emulator?.close().catch(() => undefined);
      await Promise.all(started.processes.map((child) => child.stop().catch((error: unknown) => console.error(`${child.name} stop: ${(error as Error).message}`))));
      await started.services?.stop({ keepLogs: keepLogs() }).catch(() => undefined);
      if (!keepLogs()) for (const file of started.files) rmSync(file, { force: true });
    })();
    return stopping;
  };
}

async function main(launched: Started, setKeepLogs: (keep: boolean) => void): Promise<number> {
  const settings = readSettings(process.argv.slice(2));
  setKeepLogs(settings.keepLogs);
  const runTag = String(randomInt(10_000, 100_000));
  const startedAt = performance.now();
  const channelCount = Math.ceil(settings.accounts / settings.accountsPerChannel);
  const cache = defaultWorkflowCacheSize();
  console.log('Account lifecycle benchmark');
  console.log(`machine:  ${describeMachine()}; load average ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log(
    `settings: accounts=${settings.accounts} in ${channelCount} channels, start-concurrency=${settings.startConcurrency}, lead=${seconds(settings.leadMs)} s, expiry wait at most ${seconds(settings.timeoutMs)} s`,
  );

  const externalTemporal = process.env.TEMPORAL_ADDRESS;
  const externalMongo = process.env.MONGODB_URI;
  // Whatever starts while everything is being stopped (a Ctrl-C during the start-up) is stopped at once.
  const track = (child: ManagedProcess): void => {
    launched.processes.push(child);
    if (exiting) void child.stop();
  };
  // The engine is built while the services start: the worker process runs the build.
  let step = performance.now();
  const buildLog = path.join(os.tmpdir(), `igdm-bench-accounts-build-${runTag}.log`);
  launched.files.push(buildLog);
  const [services] = await Promise.all([
    startLocalServices('igdm_bench_accounts', { onProcess: track }).then((services) => {
      launched.services = services;
      if (exiting) void services.stop({ keepLogs });
      return services;
    }),
    settings.build ? buildEngine(buildLog, track) : undefined,
  ]);
  console.log(`set-up:   services started${settings.build ? ' and the engine built into dist/' : ''} in ${seconds(performance.now() - step)} s`);
  const logDir = services.workDir;

  // The worker's settings; this process reads the same ones, so both agree on the queue, the key and the period.
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    TEMPORAL_TASK_QUEUE: `bench-accounts-${runTag}`,
    TOKEN_ENCRYPTION_KEYS: `bench-${runTag}:${randomBytes(32).toString('base64')}`,
    TOKEN_ENCRYPTION_KEY: '',
  };
  const emulatorConfig = loadConfig(baseEnv);
  const emulator = await startEmulator(emulatorConfig);
  launched.emulator = emulator;
  const tokenChecks = emulator.tokenChecks;
  const workerEnv: NodeJS.ProcessEnv = { ...baseEnv, GRAPH_API_URL: emulator.url };
  const config = loadConfig(workerEnv);
  const taskQueue = config.temporal.taskQueue;
  console.log(`stack:    ${services.description}, the Meta emulator in this process; the worker (dist/worker.js) as a process of its own; loopback only`);
  console.log(
    `worker:   workflow cache ${cache.workflows} workflows (the SDK's default for a V8 heap limit of ${cache.heapLimitMb.toFixed(0)} MB)${settings.accounts > cache.workflows ? `: the other ${settings.accounts - cache.workflows} are evicted and replayed when their timers fire` : ''}`,
  );

  launched.database = await connectDatabase({ uri: config.mongodb.uri });
  const models = createModels(launched.database);
  await ensureIndexes(models);
  launched.connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: launched.connection, namespace: config.temporal.namespace });

  const workerLog = path.join(logDir, 'worker.log');
  const worker = spawnManaged({ name: 'worker', command: process.execPath, args: [path.join(repoRoot, 'dist', 'worker.js')], env: workerEnv, output: { file: workerLog } });
  launched.worker = worker;
  const targets: Target[] = [
    { name: 'worker', pid: worker.child.pid },
    { name: 'temporal server', pid: services.processes.find((child) => child.name === 'temporal')?.child.pid ?? (externalTemporal ? pidOn(externalTemporal, 7233) : undefined) },
    { name: 'database', pid: services.processes.find((child) => child.name === 'mongo-server')?.child.pid ?? (externalMongo ? pidOn(externalMongo, 27017) : undefined) },
    { name: 'this benchmark', pid: process.pid },
  ];
  const sampler = createProcessSampler(targets, settings.sampleMs);
  launched.sampler = sampler;
  // A worker that ends during the run (killed for its memory, a crash) ends the run: nothing would finish the waits.
  const workerGone = worker.exited.then((code): never => {
    throw new Error(`the worker exited (${code}) during the run: see ${workerLog}`);
  });
  workerGone.catch(() => undefined);
  const unlessWorkerExits = <T>(work: Promise<T>): Promise<T> => Promise.race([work, workerGone]);

  // While the worker bundles its workflow code: the data. E is set once it is written, so its length is not in the lead.
  step = performance.now();
    const seedContext: SeedContext = {
    models,
    graph: createConfiguredGraphClient(config.meta),
    cipher: createTokenCipher(config.tokens.keyring),
    emulatorUrl: emulator.url,
    appId: config.meta.appId,
    runTag,
    // Dated again below, once E is set.
    linkedAt: new Date(),
  };
  const perChannel: Account[][] = [];
  await Promise.all([
    waitForPoller(worker, client, taskQueue).then(() => console.log(`worker:   polling ${seconds(performance.now() - step)} s after it was started`)),
    pool(channelCount, 4, async (index) => {
      perChannel[index] = await seedChannel(seedContext, index, Math.min(settings.accountsPerChannel, settings.accounts - index * settings.accountsPerChannel));
    }),
  ]);
  const accounts = perChannel.flat();
  const channelIds = [...new Set(accounts.map((account) => account.channelId))];
  console.log(`data:     ${channelIds.length} channels with one owner each, ${accounts.length} linked accounts with their emulator Page tokens, written in ${seconds(performance.now() - step)} s (with the worker's start)`);

  const firstStartAt = Date.now() + 2_000;
  const expiresAt = firstStartAt + settings.leadMs;
  const linkedAt = expiresAt - config.tokens.reauthPeriodDays * DAY_MS;
  // Every link is dated so that its re-authentication period ends at E.
  await models.linkedAccounts.updateMany({ channelId: { $in: channelIds } }, { $set: { linkedAt: new Date(linkedAt), updatedAt: new Date(linkedAt) } });
  console.log(`expiry:   every link was made ${config.tokens.reauthPeriodDays} days before ${new Date(expiresAt).toISOString()} (E), ${seconds(settings.leadMs)} s after the first start`);
  const noticesBefore = await storedNotices(models);
  await sleep(Math.max(0, firstStartAt - Date.now()));

  // ---- starts
  sampler.enter('starts');
  const accountWorkflows = createAccountWorkflows({ temporal: client, taskQueue, reauthPeriodDays: config.tokens.reauthPeriodDays });
  const startLatencies: number[] = [];
  const startFailures = new Map<string, { count: number; message: string }>();
  step = performance.now();
  const startsBegan = Date.now();
  const starting = pool(accounts.length, settings.startConcurrency, async (index) => {
    const { igAccountId, channelId, facebookUserId } = accounts[index]!;
    const began = performance.now();
    try {
      await accountWorkflows.linked({ igAccountId, channelId, linkedAt, tokenExpiresAt: null, linkedByFacebookUserId: facebookUserId });
      startLatencies.push(performance.now() - began);
    } catch (error) {
      const name = (error as Error).name;
      const known = startFailures.get(name);
      startFailures.set(name, { count: (known?.count ?? 0) + 1, message: known?.message ?? (error as Error).message });
    }
  });
  await unlessWorkerExits(starting);
  const startElapsed = performance.now() - step;
  const started = startLatencies.length;
  const atStarted = memoryNow(targets);
  const startFigures = distribution(startLatencies);
  console.log(`\nStarting ${accounts.length} accountLifecycleWorkflow (signalWithStart, as the linking flow does; ${settings.startConcurrency} in flight)`);
  console.log(
    table(
      ['started', 'failed', 'seconds', 'starts/s', 'p50 ms', 'p99 ms', 'max ms'],
      [[String(started), String(accounts.length - started), seconds(startElapsed), rate(started, startElapsed), ms(startFigures.p50), ms(startFigures.p99), ms(startFigures.max)]],
    ),
  );
  for (const [name, { count, message }] of startFailures) console.log(`  start failures: ${count} × ${name}: ${message.slice(0, 200)}`);
  console.log(`time to start all ${started}: ${seconds(startElapsed)} s`);
  console.log(`resident memory once all are started: ${atStarted}`);

  // ---- drain: each workflow's re-authentication notice and token check, all due at once
  sampler.enter('drain');
  const running = await runningWorkflows(client, taskQueue, started);
  const drained = (stored: number): boolean => stored - noticesBefore >= started && tokenChecks() >= started;
  const warningsStored = (await unlessWorkerExits(waitForNotices(models, expiresAt, drained))) - noticesBefore;
  const drainedAt = Date.now();
  const atDrained = memoryNow(targets);
  console.log(`\nrunning (visibility, which lags a little): ${running}`);
  console.log(
    `re-authentication notices stored: ${warningsStored} of ${started}; token checks the emulator answered: ${tokenChecks()} of ${started}; ${seconds(drainedAt - startsBegan)} s after the first start`,
  );
  const drainedInTime = drained(warningsStored + noticesBefore);
  if (!drainedInTime) console.log('  NOT all before the expiry: the expiry figures below include that work (raise --lead-seconds)');
  else console.log(`resident memory with all ${started} waiting on their expiry timers: ${atDrained}`);

  // ---- waiting, then the expiry
  sampler.enter('waiting');
  await unlessWorkerExits(sleep(Math.max(0, expiresAt - Date.now())));
  sampler.enter('expiry');
  console.log(`\nexpiry at ${new Date(expiresAt).toISOString()}: waiting for ${started} link_expired notices (at most ${seconds(settings.timeoutMs)} s)`);
  let lastPrinted = Date.now();
  const expectedAll = noticesBefore + 2 * started;
  await unlessWorkerExits(
    waitForNotices(
      models,
      expiresAt + settings.timeoutMs,
      (stored) => stored >= expectedAll,
      (stored) => {
        if (Date.now() - lastPrinted < 60_000) return;
        lastPrinted = Date.now();
        console.log(`  ${seconds(Date.now() - expiresAt)} s after the expiry: ${Math.max(0, stored - noticesBefore - started)} of ${started}`);
      },
      started > 2_000 ? 5_000 : 1_000,
    ),
  );
  const workerHwm = sampler.hwm('worker');
  sampler.stop();

  // ---- figures
  const warningTimes = await noticeTimes(models, channelIds, 'reauth_due');
  const expiryTimes = await noticeTimes(models, channelIds, 'link_expired');
  const expired = expiryTimes.length;
  const lateness = distribution(expiryTimes.map((at) => at - expiresAt));
  const marked = await models.linkedAccounts.countDocuments({ channelId: { $in: channelIds }, status: 'reauth_required' });
  const visible = await client.workflow.count(`TaskQueue = "${taskQueue}" AND LinkStatus = "reauth_required" AND ExecutionStatus = "Running"`).catch(() => undefined);
  const lastWarning = warningTimes.reduce((latest, at) => Math.max(latest, at), startsBegan);
  console.log(`\nre-authentication notices: ${warningTimes.length} of ${started}, the last ${seconds(lastWarning - startsBegan)} s after the first start`);
  console.log(`\nExpiry: ms from E to each account's link_expired notice in its owner's room`);
  console.log(
    table(
      ['notices', 'p50', 'p95', 'p99', 'max', 'min', 'notices/s'],
      [[String(expired), ms(lateness.p50), ms(lateness.p95), ms(lateness.p99), ms(lateness.max), expired > 0 ? ms(expiryTimes.reduce((first, at) => Math.min(first, at), Infinity) - expiresAt) : '-', rate(expired, lateness.max)]],
    ),
  );
  console.log(`time until all ${started} expiry notices were delivered: ${expired >= started ? `${seconds(lateness.max)} s after the expiry` : `NOT all: ${expired} of ${started} after ${seconds(settings.timeoutMs)} s`}`);
  console.log(`accounts marked reauth_required: ${marked} of ${started}; running with LinkStatus reauth_required (visibility): ${visible?.count ?? 'not answered'}`);

  if (settings.historySample > 0) {
    const findings = await readHistories(client, accounts, settings.historySample);
    const timeouts = [...findings.workflowTaskTimeouts].map(([type, count]) => `${count} ${type}`).join(', ') || '0';
    console.log(
      `histories of ${findings.read} workflows: ${findings.retriedActivities} activities retried (${findings.extraAttempts} attempts beyond the first); workflow tasks timed out: ${timeouts}; failed: ${findings.workflowTaskFailures}`,
    );
    for (const [cause, count] of findings.retryCauses) console.log(`  retried after: ${cause} (${count})`);
    if (findings.workflowTaskTimeouts.has('SCHEDULE_TO_START')) {
      console.log('  (SCHEDULE_TO_START: a task on the worker\'s sticky queue not taken within 10 s, then given to any worker: a busy worker or machine)');
    }
  }
  const log = logWarnings(workerLog);
  console.log(`worker log: ${log.lines} warnings and errors${log.lines > 0 ? ', the first:' : ''}`);
  for (const line of log.first) console.log(`  ${line}`);

  console.log(`\nResident memory (MB): peak sampled every ${settings.sampleMs} ms in each phase; VmHWM is the kernel's peak over the process's life`);
  console.log(sampler.memoryReport());
  console.log(`(${PHASE_HELP})`);
  console.log(`\nCPU used in each phase, in % of one core (the machine has ${os.cpus().length}; other work on it counts in the load average)`);
  console.log(sampler.cpuReport());
  console.log(`load average at the end: ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);

  if (externalTemporal || externalMongo) await cleanUp({ client, models, accounts, channelIds, externalTemporal: Boolean(externalTemporal), externalMongo: Boolean(externalMongo) });

  const problems: string[] = [];
  const withinTarget = workerHwm !== undefined && workerHwm <= WORKER_RSS_TARGET_BYTES;
  if (!withinTarget) problems.push(`worker peak RSS ${mb(workerHwm)} MB over the ${mb(WORKER_RSS_TARGET_BYTES)} MB target`);
  if (started < accounts.length) problems.push(`${accounts.length - started} workflows not started`);
  if (warningTimes.length !== started) problems.push(`${warningTimes.length} re-authentication notices for ${started} workflows`);
  if (expired !== started) problems.push(`${expired} expiry notices for ${started} workflows`);
  if (marked !== started) problems.push(`${marked} accounts marked for ${started} workflows`);
  const scale = settings.accounts === TARGET_ACCOUNTS ? '' : ` (N=${settings.accounts}; the target is set for N=${TARGET_ACCOUNTS.toLocaleString('en')})`;
  console.log(`\ntotal run time ${seconds(performance.now() - startedAt)} s`);
  if (problems.length === 0) {
    console.log(
      `PASS: worker peak RSS ${mb(workerHwm)} MB ≤ ${mb(WORKER_RSS_TARGET_BYTES)} MB with ${started} account workflows; all ${started} expiry notices delivered ${seconds(lateness.max)} s after the expiry${scale}`,
    );
    return 0;
  }
  console.log(`FAIL: ${problems.join('; ')}${scale}`);
  return 1;
}

/** A service the environment named is someone else's: the run's workflows end and its documents go. */
async function cleanUp(options: { client: Client; models: Models; accounts: Account[]; channelIds: string[]; externalTemporal: boolean; externalMongo: boolean }): Promise<void> {
  const { client, models, accounts, channelIds } = options;
  if (options.externalTemporal) {
    await pool(accounts.length, 32, async (index) => {
      await client.workflow
        .getHandle(makeAccountWorkflowId(accounts[index]!.igAccountId))
        .terminate('benchmark over')
        .catch(() => undefined);
    });
  }
  if (options.externalMongo) {
    const byChannel = { channelId: { $in: channelIds } };
    await Promise.all([models.notices.deleteMany(byChannel), models.linkedAccounts.deleteMany(byChannel), models.apiKeys.deleteMany(byChannel), models.managers.deleteMany(byChannel)]);
    await models.channels.deleteMany({ _id: { $in: channelIds } });
  }
}

const launched: Started = { processes: [], files: [] };
let keepLogs = false;
const stopAll = createStopper(launched, () => keepLogs);
/** Set by the first of: the end of main, its failure, a signal. What comes after it changes nothing. */
let exiting = false;
const exitAfterStop = (code: number): void => {
  if (exiting) return;
  exiting = true;
  // A failed run keeps the services' and the worker's logs for a look.
  if (code === 1) keepLogs = true;
  void stopAll().finally(() => process.exit(code));
};
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
process.on('uncaughtException', (error) => {
  if (exiting) return;
  console.error(`benchmark failed: ${error.stack ?? String(error)}`);
  exitAfterStop(1);
});
main(launched, (keep) => {
  keepLogs = keep;
}).then(
  (code) => exitAfterStop(code),
  (error: unknown) => {
    if (exiting) return;
    console.error(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
    const workerPeak = launched.sampler?.hwm('worker');
    console.log(`\nFAIL: ${(error as Error).message}${workerPeak === undefined ? '' : ` (worker peak RSS so far ${mb(workerPeak)} MB)`}`);
    exitAfterStop(1);
  },
);
