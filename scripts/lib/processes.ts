/**
 * Starting and stopping the local stack's processes: the Temporal dev server, the database, and the project's own
 * node processes. Shared by `npm start` (scripts/start-stack.ts) and the test harness (test/support).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import path from 'node:path';
import { customSearchAttributes } from '../../src/temporal/names';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const toolsBin = path.join(repoRoot, '.tools', 'bin');

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where stdout and stderr go: a file path, 'inherit' (prefixed lines on our stdout), or 'ignore'. */
  output: { file: string } | 'inherit' | 'ignore';
}

export function spawnManaged(options: SpawnOptions): ManagedProcess {
  if (!existsSync(options.command) && options.command.includes(path.sep)) {
    throw new Error(`${options.name}: ${options.command} is missing; run 'npm run setup' first`);
  }
  const child = spawn(options.command, options.args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: Ctrl-C in the terminal reaches only the launcher, which stops children in order.
    detached: true,
  });
  if (options.output === 'inherit') {
    const prefix = `[${options.name}] `;
    for (const stream of [child.stdout, child.stderr]) {
      let carry = '';
      stream?.on('data', (chunk: Buffer) => {
        const lines = (carry + chunk.toString('utf8')).split('\n');
        carry = lines.pop() ?? '';
        for (const line of lines) process.stdout.write(`${prefix}${line}\n`);
      });
    }
  } else if (options.output !== 'ignore') {
    mkdirSync(path.dirname(options.output.file), { recursive: true });
    const log = createWriteStream(options.output.file, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (error) => resolve(`spawn failed: ${error.message}`));
  });
  let stopping: Promise<void> | undefined;
  const stop = (timeoutMs = 10000): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child, 'SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), delay(timeoutMs).then(() => true)]);
      if (timedOut) {
        signalGroup(child, 'SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };
  return { name: options.name, child, exited, stop };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A TCP port that was free a moment ago (the OS picks it). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function isPortOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(500);
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host);
  });
}

/** Polls `ready` until it resolves true; fails early when the process exits, and after `timeoutMs`. */
export async function waitUntilReady(process: ManagedProcess, ready: () => Promise<boolean>, timeoutMs: number, hint: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void process.exited.then((code) => {
    exitedWith = code;
  });
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) throw new Error(`${process.name} exited (${exitedWith}) before it was ready; ${hint}`);
    if (await ready().catch(() => false)) return;
    await delay(200);
  }
  throw new Error(`${process.name} was not ready within ${timeoutMs} ms; ${hint}`);
}

/** `waitUntilReady`, and a server that never became ready is stopped, not left running behind the error. */
async function stopUnlessReady(server: ManagedProcess, ready: () => Promise<boolean>, timeoutMs: number, hint: string): Promise<void> {
  try {
    await waitUntilReady(server, ready, timeoutMs, hint);
  } catch (error) {
    await server.stop();
    throw error;
  }
}

export interface TemporalDevServerOptions {
  port: number;
  uiPort: number;
  /** SQLite file that keeps workflows across restarts; omit for an in-memory server. */
  dbFile?: string;
  output: SpawnOptions['output'];
  headless?: boolean;
  /** Hears of the process as soon as it is spawned (a caller interrupted before it is ready can stop it). */
  onSpawn?: (server: ManagedProcess) => void;
  /** The server's dynamic configuration values (tests that need a limit lowered). */
  dynamicConfig?: Record<string, number | string | boolean>;
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<ManagedProcess> {
  if (await isPortOpen(options.port)) throw new Error(`port ${options.port} is already in use: is another Temporal server running? Set TEMPORAL_ADDRESS to use it.`);
  if (options.dbFile) mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.dbFile) {
    // Write-ahead log with a sync at checkpoints rather than at every commit: about 2.5 times the workflow throughput
    // on the local file, and a commit still survives the death of the process (not a power cut).
    args.push('--db-filename', options.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  for (const key of customSearchAttributes) args.push('--search-attribute', `${key.name}=Keyword`);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  const server = spawnManaged({ name: 'temporal', command: path.join(toolsBin, 'temporal'), args, output: options.output });
  options.onSpawn?.(server);
  await stopUnlessReady(server, () => isPortOpen(options.port), 60000, 'see its log');
  return server;
}

/** The URI a process of ours uses for the local database (mongo-java-server on H2, see scripts/mongo-server). */
export function localMongoUri(port: number, database: string): string {
  return `mongodb://127.0.0.1:${port}/${database}`;
}

export interface MongoServerOptions {
  port: number;
  /** The folder of its one data file. */
  dataDir: string;
  output: SpawnOptions['output'];
  /** Hears of the process as soon as it is spawned (before it is ready), so an interrupted caller can stop it. */
  onSpawn?: (server: ManagedProcess) => void;
}

/** Starts the local database; what it acknowledged is in its file, and survives a restart or a kill. */
export async function startMongoServer(options: MongoServerOptions): Promise<ManagedProcess> {
  if (await isPortOpen(options.port)) throw new Error(`port ${options.port} is already in use: is another MongoDB running? Set MONGODB_URI to use it.`);
  mkdirSync(options.dataDir, { recursive: true });
  const server = spawnManaged({
    name: 'mongo-server',
    command: path.join(toolsBin, 'mongo-server'),
    args: ['--file', path.join(options.dataDir, 'engine.mv.db'), '--host', '127.0.0.1', '--port', String(options.port)],
    output: options.output,
  });
  options.onSpawn?.(server);
  await stopUnlessReady(server, () => isPortOpen(options.port), 60000, 'see its log');
  return server;
}

/**
 * The URI for a local FerretDB (compared with the default database in bench/databases.ts). SQLite lets one writer in at a time and its busy handler is
 * not first-come first-served: with many connections writing at once, some wait past the 10 s busy timeout and fail
 * with SQLITE_BUSY. A small pool keeps the queue in the driver, which serves it in order.
 */
export function ferretDbUri(port: number, database: string): string {
  return `mongodb://127.0.0.1:${port}/${database}?maxPoolSize=8`;
}

export interface FerretDbOptions {
  port: number;
  dataDir: string;
  output: SpawnOptions['output'];
  /** Hears of the process as soon as it is spawned (a caller interrupted before it is ready can stop it). */
  onSpawn?: (server: ManagedProcess) => void;
}

export async function startFerretDb(options: FerretDbOptions): Promise<ManagedProcess> {
  if (await isPortOpen(options.port)) throw new Error(`port ${options.port} is already in use: is another MongoDB/FerretDB running? Set MONGODB_URI to use it.`);
  mkdirSync(options.dataDir, { recursive: true });
  const server = spawnManaged({
    name: 'ferretdb',
    command: path.join(toolsBin, 'ferretdb'),
    args: [
      '--handler=sqlite',
      // Immediate transactions take SQLite's write lock up front, so concurrent writers wait (busy_timeout) instead
      // of failing at once with SQLITE_BUSY when a read transaction cannot be upgraded.
      `--sqlite-url=file:${options.dataDir}/?_txlock=immediate`,
      `--state-dir=${options.dataDir}`,
      `--listen-addr=127.0.0.1:${options.port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
    output: options.output,
  });
  options.onSpawn?.(server);
  await stopUnlessReady(server, () => isPortOpen(options.port), 30000, 'see its log');
  return server;
}
