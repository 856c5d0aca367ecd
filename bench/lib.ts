/**
 * What every benchmark shares: percentiles and tables for its figures, a bounded pool of concurrent tasks, the
 * emulator's control API, and the local services it runs on. With MONGODB_URI or TEMPORAL_ADDRESS set, that service
 * is used as it is and nothing is started for it, as `npm start` does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findFreePort, localMongoUri, startMongoServer, startTemporalDevServer, type ManagedProcess } from '../scripts/lib/processes';

export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles. */
export function distribution(samples: number[]): Distribution {
  if (samples.length === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted[sorted.length - 1]!, mean: sorted.reduce((sum, x) => sum + x, 0) / sorted.length };
}

export const ms = (value: number): string => (Number.isNaN(value) ? '-' : value < 100 ? value.toFixed(1) : value.toFixed(0));
export const rate = (count: number, elapsedMs: number): string => (elapsedMs > 0 ? (count / (elapsedMs / 1000)).toFixed(1) : '-');

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** Runs `count` tasks with at most `limit` at once. */
export async function pool(count: number, limit: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

export function describeMachine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.arch()}, node ${process.version}`;
}

/** A POST to the Meta emulator's control API (`/_emulator/...`); an answer other than 2xx is an error. */
export async function emulatorControl<T>(emulatorUrl: string, route: string, body: unknown): Promise<T> {
  const response = await fetch(`${emulatorUrl}/_emulator${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await response.json()) as T;
  if (!response.ok) throw new Error(`emulator ${route} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

export interface LocalServices {
  workDir: string;
  processes: ManagedProcess[];
  /** What runs where, for the printout. */
  description: string;
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

/** The pid of a service this run started (`temporal`, `mongo-server`); undefined when the environment named it instead. */
export function servicePid(services: LocalServices, name: string): number | undefined {
  return services.processes.find((child) => child.name === name)?.child.pid;
}

/**
 * Starts the local database and the Temporal dev server on free ports with throw-away state, unless the environment names them.
 * `onProcess` hears of each process as soon as it is spawned, so a caller that is interrupted meanwhile (Ctrl-C) can
 * stop it; if one service fails to start, the others are stopped before the error is thrown.
 */
export async function startLocalServices(database: string, options: { onProcess?: (child: ManagedProcess) => void } = {}): Promise<LocalServices> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'igdm-bench-'));
  const processes: ManagedProcess[] = [];
  const track = (child: ManagedProcess): ManagedProcess => {
    processes.push(child);
    options.onProcess?.(child);
    return child;
  };
  const used: string[] = [];
  const tasks: Array<Promise<void>> = [];
  if (process.env.MONGODB_URI) used.push('the database at MONGODB_URI');
  else {
    tasks.push(
      (async () => {
        const port = await findFreePort();
        await startMongoServer({ port, dataDir: path.join(workDir, 'mongo'), output: { file: path.join(workDir, 'mongo-server.log') }, onSpawn: track });
        process.env.MONGODB_URI = localMongoUri(port, database);
      })(),
    );
    used.push('the local database (mongo-java-server on H2) as a child process');
  }
  if (process.env.TEMPORAL_ADDRESS) used.push('the Temporal server at TEMPORAL_ADDRESS');
  else {
    tasks.push(
      (async () => {
        const port = await findFreePort();
        await startTemporalDevServer({ port, uiPort: port + 1000, headless: true, output: { file: path.join(workDir, 'temporal.log') }, onSpawn: track });
        process.env.TEMPORAL_ADDRESS = `127.0.0.1:${port}`;
      })(),
    );
    used.push('the Temporal dev server as a child process');
  }
  const stop = async ({ keepLogs = false } = {}): Promise<void> => {
    await Promise.all(processes.map((child) => child.stop()));
    if (keepLogs) console.log(`logs kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  };
  const outcomes = await Promise.allSettled(tasks);
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) {
    await stop({ keepLogs: true });
    throw failed.reason;
  }
  return { workDir, processes, description: used.join(', '), stop };
}

/** A whole-number flag of a benchmark, also read from the environment. */
export interface NumericFlag {
  env: string;
  default: number;
  min: number;
  max: number;
  help: string;
}

/**
 * A benchmark's --help: its numeric flags (with `note` adding to a flag's line, e.g. its --quick value), then its
 * switches, each with what it does.
 */
export function benchUsage<N extends string>(script: string, numeric: Record<N, NumericFlag>, switches: Record<string, string>, note: (name: N) => string = () => ''): string {
  const line = (name: string, text: string): string => `  --${name.padEnd(22)} ${text}`;
  return [
    `usage: npm run ${script} -- [flags]`,
    ...(Object.entries(numeric) as Array<[N, NumericFlag]>).map(([name, flag]) => line(name, `${flag.help} (env ${flag.env}, default ${flag.default}${note(name)})`)),
    ...Object.entries(switches).map(([name, text]) => line(name, text)),
  ].join('\n');
}

export interface BenchFlags<N extends string, B extends string> {
  number(name: N): number;
  given(name: B): boolean;
}

/**
 * Reads a benchmark's flags: the numeric ones (each may come from its environment variable instead) and the boolean
 * ones. `--help` prints the usage and exits; a value out of range stops with the flag, its variable and the range.
 */
export function readBenchFlags<N extends string, B extends string>(argv: string[], numeric: Record<N, NumericFlag>, booleans: readonly B[], usage: () => string): BenchFlags<N, B> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const name of Object.keys(numeric)) options[name] = { type: 'string' };
  for (const name of booleans) options[name] = { type: 'boolean' };
  const { values } = parseArgs({ args: argv, options, strict: true });
  if (values.help === true) {
    console.log(usage());
    process.exit(0);
  }
  return {
    number(name) {
      const flag = numeric[name];
      const given = (values[name] as string | undefined) ?? process.env[flag.env];
      if (given === undefined || given === '') return flag.default;
      const parsed = Number(given);
      if (!Number.isInteger(parsed) || parsed < flag.min || parsed > flag.max) {
        throw new Error(`--${name} (${flag.env}) must be an integer from ${flag.min} to ${flag.max}, got ${JSON.stringify(given)}`);
      }
      return parsed;
    },
    given: (name) => values[name] === true,
  };
}
