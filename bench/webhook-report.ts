/**
 * What `npm run bench:webhooks` prints: the figures of each scenario, the CPU each process used (read from /proc, so
 * a process counts with its children: the database's JVM, say), and from that split which process holds the engine
 * back.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { distribution, ms, table } from './lib';
import { machineCpuSeconds, processTreesUsage } from './process-usage';
import type { InboxReads } from './inbox-reads';
import type { LoadResult } from './webhook-load';
import { readableLatencies, type InboxCheck, type Readability } from './webhook-readable';
import { MEASURED, type MeasuredName } from './webhook-stack';

export const CPU_NAMES = [...MEASURED, 'load generator'] as const;
export type CpuName = (typeof CPU_NAMES)[number];
/** One thread runs their JavaScript: at one core they can do no more, however idle the machine. */
const SINGLE_THREADED: ReadonlySet<CpuName> = new Set(['api', 'emulator', 'ceiling', 'load generator']);

export interface CpuSample {
  atMs: number;
  /** CPU seconds so far; undefined: not measured (a service the environment named, or a process that ended). */
  seconds: Record<CpuName, number | undefined>;
  machineBusySeconds: number;
}

export interface CpuSpan {
  wallSeconds: number;
  used: Record<CpuName, number | undefined>;
  machineBusySeconds: number;
}

export function sampleCpu(pids: Record<MeasuredName, number | undefined>): CpuSample {
  const trees = processTreesUsage(pids);
  // This process by itself: its tree would hold every process it started.
  const own = process.cpuUsage();
  const seconds = Object.fromEntries(MEASURED.map((name) => [name, trees[name]?.cpuSeconds])) as Record<CpuName, number | undefined>;
  seconds['load generator'] = (own.user + own.system) / 1e6;
  return { atMs: performance.now(), seconds, machineBusySeconds: machineCpuSeconds().busy };
}

export function cpuSpan(from: CpuSample, to: CpuSample): CpuSpan {
  const used = Object.fromEntries(
    CPU_NAMES.map((name) => {
      const before = from.seconds[name];
      const after = to.seconds[name];
      return [name, before === undefined || after === undefined ? undefined : after - before];
    }),
  ) as Record<CpuName, number | undefined>;
  return { wallSeconds: (to.atMs - from.atMs) / 1000, used, machineBusySeconds: to.machineBusySeconds - from.machineBusySeconds };
}

export interface Scenario {
  name: string;
  /** Open loop: deliveries a second asked for. */
  rate?: number;
  load: LoadResult;
  /** CPU while the load was sent. */
  window: CpuSpan;
  /** CPU from the first POST until every message was readable (the ceiling: the window). */
  whole: CpuSpan;
  readability?: Readability;
  inbox?: InboxCheck;
  /** An inbox client reading a conversation while the load was sent. */
  inboxReads?: InboxReads;
}

const cores = os.cpus().length;
const fixed = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const percent = (part: number, whole: number): string => (whole > 0 ? `${Math.round((100 * part) / whole)} %` : '-');
const secondsBetween = (fromMs: number, toMs: number): number => (toMs - fromMs) / 1000;

export const acked = (load: LoadResult): number => load.statuses.get(200) ?? 0;
export const nonOk = (load: LoadResult): number => load.deliveries - acked(load);
/** Acknowledgements a second, first POST to last answer. */
export const ackRate = (load: LoadResult): number => acked(load) / Math.max(secondsBetween(load.startedAt, load.answeredAt), 1e-3);
export const ackFigures = (scenario: Scenario) => distribution(scenario.load.ackMs);
export const readableFigures = (scenario: Scenario) => distribution(scenario.readability ? readableLatencies(scenario.load.messages, scenario.readability) : []);
/** Acknowledged messages not readable when the wait ended: lost, or later than the wait's limit. */
export const missing = (scenario: Scenario): number => [...(scenario.readability?.unrecorded.values() ?? [])].reduce((sum, count) => sum + count, 0);
/** Date.now() when the last acknowledged message became readable (NaN: none did). */
export function lastReadableAt(scenario: Scenario): number {
  const stamps = [...(scenario.readability?.recordedAt.values() ?? [])];
  return stamps.reduce((latest, at) => Math.max(latest, at), stamps.length === 0 ? NaN : -Infinity);
}
/** The last acknowledged message readable, ms after the first POST. */
export const allReadableAfterMs = (scenario: Scenario): number => lastReadableAt(scenario) - scenario.load.startedAt;

/** Meta counts a delivery not answered within 5 s as failed and delivers it again (META-API 1.7). */
const META_WAIT_MS = 5_000;
/** Answered 200, but after Meta had stopped waiting. */
export const answeredTooLate = (load: LoadResult): number => load.ackMs.filter((ackMs) => ackMs > META_WAIT_MS).length;

/** What went otherwise than a 200 within Meta's wait. */
function answerNotes(load: LoadResult): string[] {
  const notes = [...load.statuses].filter(([status]) => status !== 200).map(([status, count]) => `${count} × ${status === 0 ? 'no answer' : status}`);
  const late = answeredTooLate(load);
  if (late > 0) notes.push(`${late} answered 200 after Meta's ${META_WAIT_MS / 1000} s`);
  return notes;
}

const inParentheses = (notes: string[]): string => (notes.length === 0 ? '' : ` (${notes.join(', ')})`);

export function printClosedLoop(ceiling: Scenario | undefined, engine: Scenario | undefined, concurrency: number, seconds: number): void {
  console.log(`\nClosed loop: signed single-message deliveries, ${concurrency} in flight, ${seconds} s each; POST → 200 in ms`);
  const rows = [ceiling, engine]
    .filter((scenario): scenario is Scenario => scenario !== undefined)
    .map((scenario) => {
      const d = ackFigures(scenario);
      return [scenario.name, String(scenario.load.deliveries), String(nonOk(scenario.load)), fixed(ackRate(scenario.load)), ms(d.p50), ms(d.p99), ms(d.max)];
    });
  console.log(table(['scenario', 'POSTs', 'non-200', 'acks/s', 'p50', 'p99', 'max'], rows));
  if (ceiling && engine) console.log(`engine ingress / ceiling: ${percent(ackRate(engine.load), ackRate(ceiling.load))} of the ceiling's acknowledgements a second`);
  if (!engine?.readability) return;
  const readable = readableFigures(engine);
  const after = allReadableAfterMs(engine);
  console.log(
    `engine end to end: ${readable.count} of ${acked(engine.load)} acknowledged messages readable, the last ${fixed(after / 1000)} s after the first POST ` +
      `(${fixed(readable.count / (after / 1000))} messages/s); POST → readable p50 ${ms(readable.p50)}, p99 ${ms(readable.p99)}, max ${ms(readable.max)} ms; ${missing(engine)} missing${inParentheses(answerNotes(engine.load))}`,
  );
}

export function printOpenLoop(scenarios: Scenario[]): void {
  if (scenarios.length === 0) return;
  console.log('\nOpen loop: single-message deliveries on a fixed schedule, sent whatever the answers; ms unless said');
  const rows = scenarios.map((scenario) => {
    const { load } = scenario;
    const window = secondsBetween(load.startedAt, load.windowEndedAt);
    const ack = ackFigures(scenario);
    const readable = readableFigures(scenario);
    const drained = Math.max(0, secondsBetween(load.windowEndedAt, lastReadableAt(scenario)));
    return [
      `${scenario.rate}/s`, fixed(window), String(load.deliveries), fixed(load.deliveries / window), ms(distribution(load.lateMs).max), String(nonOk(load)),
      ms(ack.p50), ms(ack.p99), ms(ack.max), ms(readable.p50), ms(readable.p99), ms(readable.max), String(missing(scenario)), fixed(drained),
    ];
  });
  const header = ['rate', 'window s', 'sent', 'sent/s', 'late max', 'non-200', 'ack p50', 'ack p99', 'ack max', 'readable p50', 'p99', 'max', 'missing', 'all readable s after'];
  console.log(table(header, rows));
  for (const scenario of scenarios) {
    const notes = answerNotes(scenario.load);
    if (notes.length > 0) console.log(`${scenario.name}: ${notes.join(', ')}`);
  }
  console.log('(late max: how late the generator sent a POST against its schedule; readable: POST sent → the message recorded in the inbox;\n all readable s after: from the last POST to the last message readable, 0 when the engine kept up)');
}

export function printBatch(scenario: Scenario | undefined): void {
  if (!scenario) return;
  const entries = scenario.load.messages.length;
  const readable = readableFigures(scenario);
  const answer = acked(scenario.load) === 1 ? `answered 200 in ${ms(scenario.load.ackMs[0]!)} ms` : `NOT acknowledged${inParentheses(answerNotes(scenario.load))}`;
  console.log(
    `\nBatch: one delivery of ${entries.toLocaleString('en')} entries, ${answer}; ${readable.count} readable, the last ${fixed(allReadableAfterMs(scenario) / 1000)} s after the POST ` +
      `(p50 ${ms(readable.p50)} ms); ${missing(scenario)} missing`,
  );
}

function cpuRow(span: CpuSpan, value: (seconds: number) => string): string[] {
  const measured = CPU_NAMES.map((name) => span.used[name]);
  const stack = measured.reduce<number>((sum, seconds) => sum + (seconds ?? 0), 0);
  return [...measured.map((seconds) => (seconds === undefined ? 'n/m' : value(seconds))), value(stack), value(span.machineBusySeconds)];
}

export function printCpu(scenarios: Scenario[]): void {
  const header = ['scenario', 's', ...CPU_NAMES, 'all measured', 'machine'];
  console.log(`\nCPU while each load was sent, in cores (CPU seconds ÷ window seconds; the machine has ${cores}, and other work on it counts in 'machine')`);
  console.log(table(header, scenarios.map((s) => [s.name, fixed(s.window.wallSeconds), ...cpuRow(s.window, (seconds) => fixed(seconds / s.window.wallSeconds, 2))])));
  console.log('\nCPU seconds per 1,000 messages, from the first POST until every message was readable (the ceiling: while it was loaded)');
  const per1000 = (s: Scenario) => (seconds: number) => fixed((1000 * seconds) / Math.max(s.load.messages.length, 1), 2);
  console.log(table(header, scenarios.map((s) => [s.name, fixed(s.whole.wallSeconds), ...cpuRow(s.whole, per1000(s))])));
  if (CPU_NAMES.some((name) => scenarios.some((s) => s.window.used[name] === undefined))) {
    console.log('(n/m: not measured: a service TEMPORAL_ADDRESS or MONGODB_URI named, which this run did not start)');
  }
}

/**
 * From the CPU split: a JavaScript thread at its limit; or a saturated machine, with the busiest process, and how
 * much of the machine went to work that is not this run's; or no CPU limit at all (then the time goes to waiting).
 */
export function holdsBack(span: CpuSpan): string {
  const measured = CPU_NAMES.flatMap((name) => (span.used[name] === undefined ? [] : [{ name, seconds: span.used[name] }]));
  const all = measured.reduce((sum, entry) => sum + entry.seconds, 0);
  const top = measured.reduce((best, entry) => (entry.seconds > best.seconds ? entry : best), { name: 'none' as CpuName, seconds: 0 });
  const topCores = top.seconds / span.wallSeconds;
  const machineBusy = span.machineBusySeconds / (span.wallSeconds * cores);
  const otherCores = Math.max(0, span.machineBusySeconds - all) / span.wallSeconds;
  const topText = `${top.name}, ${fixed(topCores, 2)} cores (${percent(top.seconds, all)} of this run's CPU)`;
  const unmeasured = CPU_NAMES.filter((name) => span.used[name] === undefined && name !== 'ceiling');
  const caveat = unmeasured.length > 0 ? `; ${unmeasured.join(' and ')} not measured` : '';
  if (SINGLE_THREADED.has(top.name) && topCores >= 0.9) return `${topText}: one JavaScript thread at its limit${caveat}`;
  if (machineBusy >= 0.85) {
    const outside = unmeasured.length > 0 ? `other work on the machine, or ${unmeasured.join(' and ')}` : 'other work on the machine';
    const others = otherCores >= 0.25 ? `, ${fixed(otherCores, 2)} cores of it by processes not measured here (${outside}), so the figures are not the engine's alone` : '';
    return `the machine's CPU: ${percent(machineBusy, 1)} of ${cores} cores busy${others}; this run's largest share: ${topText}${caveat}`;
  }
  return `no process is CPU-bound (machine ${percent(machineBusy, 1)} busy; the most: ${topText}): the time goes to waiting (database commits, Temporal round trips)${caveat}`;
}

export function printHoldsBack(scenarios: Scenario[]): void {
  console.log('\nWhat holds it back (from the CPU split, first POST until all readable):');
  for (const scenario of scenarios) console.log(`  ${scenario.name}: ${holdsBack(scenario.whole)}`);
}

export function printInboxChecks(scenarios: Scenario[]): void {
  const checked = scenarios.filter((scenario) => scenario.inbox);
  if (checked.length === 0) return;
  console.log('\nRead back through the inbox API (GET /v1/conversations/{id}/messages, every page of every conversation)');
  const rows = checked.map((s) => {
    const check = s.inbox!;
    return [s.name, String(s.load.messages.filter((m) => m.acked).length), String(check.conversations), String(check.shown), String(check.missing), String(check.duplicated), String(check.outOfOrder)];
  });
  console.log(table(['scenario', 'acknowledged', 'conversations', 'shown', 'missing', 'duplicated', 'out of order'], rows));
  const unrecorded = checked.flatMap((s) => [...(s.readability?.unrecorded ?? [])].map(([status, count]) => `${s.name}: ${count} ${status}`));
  if (unrecorded.length > 0) console.log(`acknowledged but not recorded when the wait ended, by their event's status: ${unrecorded.join('; ')}`);
}

/** How an inbox client fared while each load was sent: answered, and how fast. */
export function printInboxReads(scenarios: Scenario[]): void {
  const probed = scenarios.filter((scenario) => scenario.inboxReads);
  if (probed.length === 0) return;
  console.log('\nInbox reads while the load was sent (GET /v1/conversations/{id}/messages?limit=50, one at a time, 200 ms apart), ms');
  const rows = probed.map((s) => {
    const reads = s.inboxReads!;
    const d = distribution(reads.latenciesMs);
    const failed = [...reads.failures].map(([what, count]) => `${count} × ${what}`).join(', ') || '0';
    return [s.name, String(d.count), ms(d.p50), ms(d.p99), ms(d.max), failed];
  });
  console.log(table(['scenario', 'reads', 'p50', 'p99', 'max', 'not 200'], rows));
}
