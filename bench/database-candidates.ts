/**
 * The embedded databases bench/databases.ts compares, each started on a free port over a throw-away folder, and able
 * to start again over the same folder (to see what survived a kill). All speak MongoDB's wire protocol.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort, isPortOpen, spawnManaged, toolsBin, waitUntilReady, type ManagedProcess } from '../scripts/lib/processes';

export interface RunningDatabase {
  uri: string;
  /** Every process of it (killed together), for CPU accounting and the kill probe. */
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

export interface Candidate {
  name: string;
  /** Why it cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  /** Starts over `dataDir`, keeping what an earlier start left there. */
  start(dataDir: string): Promise<RunningDatabase>;
}

async function startListening(name: string, command: string, args: string[], port: number, logFile: string, ready = () => isPortOpen(port)): Promise<ManagedProcess> {
  const process = spawnManaged({ name, command, args, output: { file: logFile } });
  await waitUntilReady(process, ready, 60000, `see ${logFile}`);
  return process;
}

/** PostgreSQL listens before it accepts connections (crash recovery after a kill runs in between). */
function acceptsConnections(bin: string, port: number): () => Promise<boolean> {
  return async () => {
    try {
      execFileSync(path.join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
}

function running(uri: string, processes: ManagedProcess[]): RunningDatabase {
  return { uri, processes, stop: async () => void (await Promise.all([...processes].reverse().map((p) => p.stop()))) };
}

function mongoServer(name: string, extraArgs: string[]): Candidate {
  return {
    name,
    unavailable: () => (existsSync(path.join(toolsBin, 'mongo-server')) ? undefined : "not installed: run 'npm run setup'"),
    async start(dataDir) {
      const port = await findFreePort();
      const args = ['--file', path.join(dataDir, 'bench.mv.db'), '--port', String(port), ...extraArgs];
      const server = await startListening(name, path.join(toolsBin, 'mongo-server'), args, port, path.join(dataDir, 'server.log'));
      return running(`mongodb://127.0.0.1:${port}/bench`, [server]);
    },
  };
}

const ferretDbArgs = (port: number): string[] => [`--listen-addr=127.0.0.1:${port}`, '--debug-addr=-', '--telemetry=disable', '--log-level=warn'];
const ferretDbMissing = (): string | undefined =>
  existsSync(path.join(toolsBin, 'ferretdb')) ? undefined : "not installed: run 'bash scripts/setup-tools.sh --with-ferretdb'";

const ferretDbOnSqlite: Candidate = {
  name: 'FerretDB 1.24 / SQLite',
  unavailable: ferretDbMissing,
  async start(dataDir) {
    const port = await findFreePort();
    const args = ['--handler=sqlite', `--sqlite-url=file:${dataDir}/?_txlock=immediate`, `--state-dir=${dataDir}`, ...ferretDbArgs(port)];
    const server = await startListening('ferretdb', path.join(toolsBin, 'ferretdb'), args, port, path.join(dataDir, 'ferretdb.log'));
    // SQLite lets one writer in at a time: the engine used a pool of 8 with it (more connections failed with SQLITE_BUSY).
    return running(`mongodb://127.0.0.1:${port}/bench?maxPoolSize=8`, [server]);
  },
};

/** PostgreSQL's server programs from Debian's packages, if installed. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const newest = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  return newest === undefined ? undefined : path.join(root, newest, 'bin');
}

/** initdb and postgres refuse to run as root: as root, run them as the packages' postgres user. */
function asPostgresUser(command: string, args: string[]): [string, string[]] {
  return os.userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

function postgresUid(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith('postgres:'));
  const fields = line?.split(':');
  return fields ? { uid: Number(fields[2]), gid: Number(fields[3]) } : undefined;
}

const ferretDbOnPostgres: Candidate = {
  name: 'FerretDB 1.24 / PostgreSQL',
  unavailable() {
    if (ferretDbMissing()) return ferretDbMissing();
    if (!postgresBin()) return "PostgreSQL is not installed (Debian: 'apt-get install postgresql')";
    if (os.userInfo().uid === 0 && !postgresUid()) return 'running as root without a postgres user to run PostgreSQL as';
    return undefined;
  },
  async start(dataDir) {
    const bin = postgresBin()!;
    const pgData = path.join(dataDir, 'pgdata');
    if (!existsSync(pgData)) {
      mkdirSync(pgData, { recursive: true });
      const owner = postgresUid();
      if (os.userInfo().uid === 0 && owner) chownSync(pgData, owner.uid, owner.gid);
      const [command, args] = asPostgresUser(path.join(bin, 'initdb'), ['-D', pgData, '-U', 'postgres', '--auth=trust', '--no-sync']);
      execFileSync(command, args, { stdio: 'ignore' });
    }
    const pgPort = await findFreePort();
    // PostgreSQL's defaults: every commit is flushed to its write-ahead log before it is acknowledged.
    const [command, args] = asPostgresUser(path.join(bin, 'postgres'), ['-D', pgData, '-p', String(pgPort), '-k', '/tmp', '-c', 'listen_addresses=127.0.0.1']);
    const postgres = await startListening('postgres', command, args, pgPort, path.join(dataDir, 'postgres.log'), acceptsConnections(bin, pgPort));
    const port = await findFreePort();
    const ferretArgs = ['--handler=postgresql', `--postgresql-url=postgres://postgres@127.0.0.1:${pgPort}/postgres`, `--state-dir=${dataDir}`, ...ferretDbArgs(port)];
    const ferret = await startListening('ferretdb', path.join(toolsBin, 'ferretdb'), ferretArgs, port, path.join(dataDir, 'ferretdb.log'));
    return running(`mongodb://127.0.0.1:${port}/bench?maxPoolSize=16`, [postgres, ferret]);
  },
};

export const candidates: Candidate[] = [
  mongoServer('mongo-java-server / H2, commit before the answer (the default)', []),
  mongoServer('mongo-java-server / H2, stock (commits in the background)', ['--ack-before-commit']),
  ferretDbOnSqlite,
  ferretDbOnPostgres,
];
