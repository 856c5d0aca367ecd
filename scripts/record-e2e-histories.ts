/**
 * `npm run record:e2e-histories [-- <e2e test file>... [-t <test name pattern>]]`: runs end-to-end test files (one at
 * a time; by default the few below) with RECORD_E2E_HISTORIES set, so each test engine saves the history of every
 * workflow run of its task queue as it stops (test/support/e2e-histories.ts), then copies a few of them into
 * test/fixtures/histories/e2e: at most two of each kind of run (a window closed by Meta, sends with failures, a
 * parked event, a conversation continued as new with pending events, an account's link ended early, ...), at most
 * MAX_HISTORIES in all, none over MAX_BYTES. The replay test replays them with the current workflow code.
 *
 * Histories already there are kept as they are: they stand for workflows already running in production. A new
 * recording only adds the kinds still missing; delete a file to record its kind again.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './lib/processes';

/** What runs by default: each gives kinds of run the others do not. */
const DEFAULT_RUNS: Run[] = [
  // Replies: transient failures, rate limits, refusals, the window closed by Meta, an unknown outcome, a token error,
  // the worker killed during sends.
  { file: 'test/e2e/outbound.test.ts' },
  // Account lifecycles: links, re-authentications, a link ended early; the events held meanwhile, then released.
  { file: 'test/e2e/linking.test.ts' },
  // One customer's 1,000 pending events: the conversation continued as new while events are pending.
  { file: 'test/e2e/inbound-faults.test.ts', testNamePattern: 'one customer, 1,000 events' },
  // An event that fails every attempt, parked, then replayed.
  { file: 'test/e2e/parked-events.test.ts' },
];

const MAX_HISTORIES = 15;
const MAX_BYTES = 2 * 1024 * 1024;
const target = path.join(repoRoot, 'test', 'fixtures', 'histories', 'e2e');
const manifest = path.join(target, 'README.md');

interface Run {
  file: string;
  testNamePattern?: string;
}

// --- what a history shows -----------------------------------------------------------------------------------------

interface HistoryEvent {
  eventType: string;
  workflowExecutionStartedEventAttributes?: { workflowType: { name: string }; input?: Payloads };
  workflowExecutionContinuedAsNewEventAttributes?: { input?: Payloads };
  workflowExecutionSignaledEventAttributes?: { signalName: string };
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  activityTaskStartedEventAttributes?: { scheduledEventId: string; attempt: number };
  activityTaskFailedEventAttributes?: { scheduledEventId: string; failure?: { cause?: Failure } & Failure };
}
interface Failure {
  applicationFailureInfo?: { type?: string };
}
interface Payloads {
  payloads?: Array<{ data?: string }>;
}

interface Facts {
  workflowType: string;
  /** How the run ended; 'running' when it still ran as the test engine stopped. */
  end: 'completed' | 'continued as new' | 'failed' | 'running';
  events: number;
  activities: string[];
  /** Failure types of activities that failed for good, by activity. */
  failedActivities: Array<{ activity: string; type: string | undefined }>;
  retriedActivities: string[];
  signals: string[];
  /** A workflow or activity task timed out: the worker that held it went away (killed, say). */
  taskTimedOut: boolean;
  startedWithPendingEvents: boolean;
  continuedWithPendingEvents: boolean;
}

const firstPayload = (payloads: Payloads | undefined): Record<string, unknown> => {
  const data = payloads?.payloads?.[0]?.data;
  return data ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as Record<string, unknown>) : {};
};
const hasPendingEvents = (input: Record<string, unknown>): boolean => Array.isArray(input.pendingEventIds) && input.pendingEventIds.length > 0;

function factsOf(events: HistoryEvent[]): Facts {
  const activityOf = new Map<string, string>();
  events.forEach((event, index) => {
    const name = event.activityTaskScheduledEventAttributes?.activityType.name;
    // Event ids are the positions in the history, counted from 1.
    if (name) activityOf.set(String(index + 1), name);
  });
  const last = events[events.length - 1]?.eventType ?? '';
  const continued = events.find((event) => event.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes;
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  return {
    workflowType: started?.workflowType.name ?? 'unknown',
    end: last.endsWith('_COMPLETED') && last.includes('EXECUTION') ? 'completed' : last.endsWith('CONTINUED_AS_NEW') ? 'continued as new' : /EXECUTION_(FAILED|TIMED_OUT)$/.test(last) ? 'failed' : 'running',
    events: events.length,
    activities: [...activityOf.values()],
    failedActivities: events.flatMap((event) => {
      const failed = event.activityTaskFailedEventAttributes;
      if (!failed) return [];
      return [{ activity: activityOf.get(failed.scheduledEventId) ?? '?', type: failed.failure?.applicationFailureInfo?.type ?? failed.failure?.cause?.applicationFailureInfo?.type }];
    }),
    retriedActivities: events.flatMap((event) => {
      const started = event.activityTaskStartedEventAttributes;
      return started && started.attempt > 1 ? [activityOf.get(started.scheduledEventId) ?? '?'] : [];
    }),
    signals: events.flatMap((event) => (event.workflowExecutionSignaledEventAttributes ? [event.workflowExecutionSignaledEventAttributes.signalName] : [])),
    taskTimedOut: events.some((event) => event.eventType === 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT' || event.eventType === 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT'),
    startedWithPendingEvents: hasPendingEvents(firstPayload(started?.input)),
    continuedWithPendingEvents: continued !== undefined && hasPendingEvents(firstPayload(continued.input)),
  };
}

/** The kinds of run worth keeping, most telling first; each history counts as the first kind it is. */
const KINDS: Array<{ workflowType: string; kind: string; keep: number; is(facts: Facts): boolean }> = [
  { workflowType: 'conversationWorkflow', kind: 'continued-with-pending-events', keep: 2, is: (f) => f.continuedWithPendingEvents },
  { workflowType: 'conversationWorkflow', kind: 'parked-event', keep: 2, is: (f) => f.activities.includes('parkInboundEvent') },
  { workflowType: 'conversationWorkflow', kind: 'token-error', keep: 1, is: (f) => f.activities.includes('reportAccountProblem') },
  {
    workflowType: 'conversationWorkflow',
    kind: 'window-closed-by-meta',
    keep: 1,
    is: (f) => f.activities.includes('closeConversation') && f.failedActivities.some((failed) => failed.activity === 'sendMessage' && failed.type === 'WindowClosed'),
  },
  { workflowType: 'conversationWorkflow', kind: 'worker-lost', keep: 1, is: (f) => f.taskTimedOut },
  { workflowType: 'conversationWorkflow', kind: 'unknown-outcome', keep: 2, is: (f) => f.activities.includes('settleUnknownSend') || f.failedActivities.some((failed) => failed.type === 'UnknownOutcome') },
  { workflowType: 'conversationWorkflow', kind: 'closed', keep: 1, is: (f) => f.activities.includes('closeConversation') },
  {
    workflowType: 'conversationWorkflow',
    kind: 'sends-with-failures',
    keep: 2,
    is: (f) => f.activities.includes('recordSendFailure') || f.failedActivities.some((failed) => failed.activity === 'sendMessage') || f.retriedActivities.includes('sendMessage'),
  },
  { workflowType: 'conversationWorkflow', kind: 'resumed-with-pending-events', keep: 1, is: (f) => f.startedWithPendingEvents },
  { workflowType: 'conversationWorkflow', kind: 'sends', keep: 1, is: (f) => f.activities.includes('sendMessage') },
  { workflowType: 'conversationWorkflow', kind: 'events', keep: 1, is: () => true },
  { workflowType: 'accountLifecycleWorkflow', kind: 'token-revoked', keep: 2, is: (f) => f.signals.includes('tokenRevoked') },
  { workflowType: 'accountLifecycleWorkflow', kind: 'unlinked', keep: 1, is: (f) => f.signals.includes('unlinked') },
  { workflowType: 'accountLifecycleWorkflow', kind: 'reauthorized', keep: 1, is: (f) => f.signals.filter((signal) => signal === 'reauthorized').length > 1 },
  { workflowType: 'accountLifecycleWorkflow', kind: 'linked', keep: 1, is: () => true },
];

/** `conversationWorkflow` → `conversation`, `accountLifecycleWorkflow` → `account-lifecycle`. */
const fileStem = (workflowType: string): string =>
  workflowType
    .replace(/Workflow$/, '')
    .replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)
    .replace(/^-/, '');

/**
 * Stack traces name the files of the machine that ran the test; the replay never reads them. Made relative to the
 * checkout (or to its node_modules), so that no machine's folders are committed.
 */
function withRelativeStackPaths(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withRelativeStackPaths);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === 'stackTrace' && typeof inner === 'string' ? inner.replace(/(?<=[(\s])\/(?:[^\s():/]+\/)*?(?=(?:node_modules|src|dist|test|emulator|scripts)\/)/g, '') : withRelativeStackPaths(inner),
    ]),
  );
}

// --- running the tests ----------------------------------------------------------------------------------------------

function parseRuns(args: string[]): Run[] {
  if (args.length === 0) return DEFAULT_RUNS;
  const patternAt = args.indexOf('-t');
  const testNamePattern = patternAt === -1 ? undefined : args[patternAt + 1];
  const files = args.filter((_, index) => patternAt === -1 || (index !== patternAt && index !== patternAt + 1));
  return files.map((file) => ({ file: path.relative(repoRoot, path.resolve(file)), ...(testNamePattern === undefined ? {} : { testNamePattern }) }));
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  return spawnSync(command, args, { cwd: repoRoot, env, stdio: 'inherit' }).status === 0;
}

interface Candidate {
  source: Run;
  json: string;
  bytes: number;
  facts: Facts;
}

function main(): void {
  const runs = parseRuns(process.argv.slice(2));
  // The tests that kill a worker run the built one: it must be the current code.
  process.stdout.write('building (the tests that kill a worker run dist/worker.js)\n');
  if (!run('npm', ['run', '-s', 'build'])) throw new Error('the build failed');

  const saved = mkdtempSync(path.join(os.tmpdir(), 'e2e-histories-'));
  const candidates: Candidate[] = [];
  try {
    for (const [index, source] of runs.entries()) {
      const into = path.join(saved, String(index));
      process.stdout.write(`running ${source.file}${source.testNamePattern ? ` (${source.testNamePattern})` : ''}\n`);
      const passed = run('npx', ['jest', source.file, '--selectProjects', 'integration', '--runInBand', ...(source.testNamePattern ? ['-t', source.testNamePattern] : [])], {
        ...process.env,
        RECORD_E2E_HISTORIES: into,
      });
      // A failed test's runs may not be what its scenario says: none of them is kept.
      if (!passed) {
        process.stdout.write(`${source.file} failed: none of its histories is kept\n`);
        continue;
      }
      for (const folder of existsSync(into) ? readdirSync(into) : []) {
        for (const file of readdirSync(path.join(into, folder))) {
          const json = readFileSync(path.join(into, folder, file), 'utf8');
          candidates.push({ source, json, bytes: statSync(path.join(into, folder, file)).size, facts: factsOf((JSON.parse(json) as { events: HistoryEvent[] }).events) });
        }
      }
    }
  } finally {
    rmSync(saved, { recursive: true, force: true });
  }
  process.stdout.write(`${candidates.length} histories saved by the tests that passed\n`);
  keep(candidates);
}

/** Copies a few of the candidates into test/fixtures/histories/e2e, next to the histories already there. */
function keep(candidates: Candidate[]): void {
  mkdirSync(target, { recursive: true });
  const existing = readdirSync(target).filter((file) => file.endsWith('.json'));
  let room = MAX_HISTORIES - existing.length;
  const byKind = KINDS.map((kind) => ({
    ...kind,
    stem: `${fileStem(kind.workflowType)}-${kind.kind}`,
    // A run that ended is the better witness; then the smaller one.
    candidates: candidates
      .filter((candidate) => candidate.facts.workflowType === kind.workflowType && KINDS.find((first) => first.workflowType === kind.workflowType && first.is(candidate.facts)) === kind)
      .filter((candidate) => candidate.bytes <= MAX_BYTES)
      .sort((a, b) => Number(a.facts.end === 'running') - Number(b.facts.end === 'running') || a.bytes - b.bytes),
  }));
  const tooLarge = candidates.filter((candidate) => candidate.bytes > MAX_BYTES).length;
  if (tooLarge > 0) process.stdout.write(`${tooLarge} histories over ${MAX_BYTES / 1024 / 1024} MB not considered\n`);

  // Round by round (the first of every kind, then the second), so that the limit leaves out repeats, not kinds.
  for (let round = 0; round < Math.max(...KINDS.map((kind) => kind.keep)); round += 1) {
    for (const kind of byKind) {
      if (round >= kind.keep) continue;
      const name = round === 0 ? `${kind.stem}.json` : `${kind.stem}-${round + 1}.json`;
      if (existing.includes(name)) {
        process.stdout.write(`kept e2e/${name}\n`);
        continue;
      }
      const candidate = kind.candidates[round];
      if (!candidate || room <= 0) continue;
      const json = JSON.stringify(withRelativeStackPaths(JSON.parse(candidate.json)), null, 2);
      writeFileSync(path.join(target, name), `${json}\n`);
      room -= 1;
      if (!existsSync(manifest)) writeFileSync(manifest, MANIFEST_HEADER);
      const from = `${candidate.source.file}${candidate.source.testNamePattern ? ` (-t "${candidate.source.testNamePattern}")` : ''}`;
      appendFileSync(manifest, `| ${name} | ${from} | ${candidate.facts.end} | ${candidate.facts.events} | ${Math.ceil(Buffer.byteLength(json) / 1024)} KB |\n`);
      process.stdout.write(`wrote e2e/${name} (${candidate.facts.workflowType}, ${candidate.facts.end}, ${candidate.facts.events} events)\n`);
    }
  }
  const unmatched = byKind.filter((kind) => kind.candidates.length === 0 && !existing.includes(`${kind.stem}.json`)).map((kind) => kind.stem);
  if (unmatched.length > 0) process.stdout.write(`no run of these kinds yet: ${unmatched.join(', ')}\n`);
}

const MANIFEST_HEADER = `# Histories of end-to-end runs

Recorded by \`npm run record:e2e-histories\`: the end-to-end tests ran the real engine (its activities, the Meta
emulator, the local database, a Temporal dev server), and each test engine saved the histories of its workflows as
it stopped. The replay test (test/workflows/replay.test.ts) replays every one with the current workflow code.
A run still going when its engine stopped ends where the test left it; it replays up to its last completed
workflow task. Only the stack traces' file paths were changed (made relative to the checkout).

Kept as they are: they stand for workflows already running in production. Delete one to record its kind again.

| file | from | run | events | size |
| --- | --- | --- | --- | --- |
`;

try {
  main();
} catch (error) {
  process.stderr.write(`record:e2e-histories failed: ${(error as Error).message}\n`);
  process.exit(1);
}
