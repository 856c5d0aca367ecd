/**
 * The fault suite's stack: the database, the Temporal dev server, the Meta emulator, and the built API and worker,
 * each a process of its own on a free port, so that any one of them can be killed with SIGKILL and started again on
 * the same port and the same data file (the database's and Temporal's state survive their own death).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { loadConfig, type AppConfig } from '../src/config';
import { createTemporalAccess, type TemporalAccess } from '../src/temporal/client';
import { startNodeProcess, waitForHttpOk, waitForPoller } from '../bench/engine-processes';
import { withLocalSecrets } from '../scripts/lib/local-secrets';
import { findFreePort, localMongoUri, repoRoot, startMongoServer, startTemporalDevServer, type ManagedProcess } from '../scripts/lib/processes';

export const partNames = ['database', 'temporal', 'emulator', 'api', 'worker'] as const;
export type PartName = (typeof partNames)[number];

export interface FaultStack {
  dir: string;
  apiUrl: string;
  emulatorUrl: string;
  /** The engine's settings (the API's and the worker's): its database, queue and keys. */
  config: AppConfig;
  temporal: Client;
  pid(part: PartName): number | undefined;
  /** SIGKILL to the part's whole process group; resolves with the pid that died, once it has. */
  kill(part: PartName): Promise<number>;
  /** Starts the part again (same port, same files) and waits until it serves; resolves with its new pid. */
  start(part: PartName): Promise<number>;
  /** Parts that exited without being killed by the suite (name and exit), in order. */
  unexpectedExits(): string[];
  stop(): Promise<void>;
}

interface Ports {
  database: number;
  temporal: number;
  emulator: number;
  api: number;
}

async function freePorts(): Promise<Ports> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const port = await findFreePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  return { database: await next(), temporal: await next(), emulator: await next(), api: await next() };
}

/** What the API and the worker run with: this stack's services, short Graph timeouts, a quick sweeper. */
function engineEnvironment(dir: string, ports: Ports): NodeJS.ProcessEnv {
  const emulatorUrl = `http://127.0.0.1:${ports.emulator}`;
  return withLocalSecrets(
    {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      API_HOST: '127.0.0.1',
      API_PORT: String(ports.api),
      PUBLIC_BASE_URL: `http://127.0.0.1:${ports.api}`,
      MONGODB_URI: localMongoUri(ports.database, 'igdm_faults'),
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
      TEMPORAL_TASK_QUEUE: `faults-${randomUUID().slice(0, 8)}`,
      GRAPH_API_URL: emulatorUrl,
      META_LOGIN_DIALOG_URL: `${emulatorUrl}/dialog/oauth`,
      // A send the emulator holds ends within seconds, as an unknown outcome, not after the default 10 s.
      GRAPH_API_TIMEOUT_MS: '3000',
      WEBHOOK_SWEEP_INTERVAL_MS: '1000',
    },
    dir,
  );
}

/** Meta's redelivery, compressed: a refused delivery comes again within seconds, and is never given up. */
function emulatorEnvironment(ports: Ports): NodeJS.ProcessEnv {
  const engineUrl = `http://127.0.0.1:${ports.api}`;
  return {
    ...process.env,
    LOG_LEVEL: 'warn',
    EMULATOR_HOST: '127.0.0.1',
    EMULATOR_PORT: String(ports.emulator),
    EMULATOR_WEBHOOK_URL: `${engineUrl}/webhooks/instagram`,
    EMULATOR_DEAUTHORIZE_URL: `${engineUrl}/meta/deauthorize`,
    EMULATOR_DATA_DELETION_URL: `${engineUrl}/meta/data-deletion`,
    EMULATOR_WEBHOOK_RETRY_DELAYS_MS: '200,500,1000,2000',
    EMULATOR_WEBHOOK_GIVE_UP_MS: String(24 * 60 * 60 * 1000),
  };
}

export async function startFaultStack(dir: string): Promise<FaultStack> {
  for (const entry of ['server.js', 'worker.js', 'emulator/main.js']) {
    if (!existsSync(path.join(repoRoot, 'dist', entry))) throw new Error(`dist/${entry} is missing: run 'npm run build'`);
  }
  const ports = await freePorts();
  const env = engineEnvironment(dir, ports);
  const config = loadConfig(env);
  const apiUrl = `http://127.0.0.1:${ports.api}`;
  const emulatorUrl = `http://127.0.0.1:${ports.emulator}`;
  const logFile = (part: PartName): { file: string } => ({ file: path.join(dir, 'logs', `${part}.log`) });
  const running = new Map<PartName, ManagedProcess>();
  const killing = new Set<ManagedProcess>();
  const exits: string[] = [];
  let temporalAccess: TemporalAccess | undefined;
  let stopping = false;

  const watch = (part: PartName, child: ManagedProcess): ManagedProcess => {
    running.set(part, child);
    void child.exited.then((code) => {
      if (!killing.has(child) && !stopping) exits.push(`${part} (pid ${child.child.pid}) exited by itself: ${code}; see ${logFile(part).file}`);
    });
    return child;
  };
  const launchers: Record<PartName, () => Promise<void>> = {
    database: async () => {
      await startMongoServer({ port: ports.database, dataDir: path.join(dir, 'mongo'), output: logFile('database'), onSpawn: (child) => watch('database', child) });
    },
    temporal: async () => {
      await startTemporalDevServer({
        port: ports.temporal,
        uiPort: ports.temporal + 1,
        headless: true,
        dbFile: path.join(dir, 'temporal.db'),
        output: logFile('temporal'),
        onSpawn: (child) => watch('temporal', child),
      });
    },
    emulator: async () => {
      const child = watch('emulator', startNodeProcess({ name: 'emulator', entry: 'dist/emulator/main.js', env: emulatorEnvironment(ports), logFile: logFile('emulator').file }));
      await waitForHttpOk(child, `${emulatorUrl}/_emulator/health`, 30_000, `see ${logFile('emulator').file}`);
    },
    api: async () => {
      const child = watch('api', startNodeProcess({ name: 'api', entry: 'dist/server.js', env, logFile: logFile('api').file }));
      await waitForHttpOk(child, `${apiUrl}/readyz`, 120_000, `see ${logFile('api').file}`);
    },
    worker: async () => {
      const child = watch('worker', startNodeProcess({ name: 'worker', entry: 'dist/worker.js', env, logFile: logFile('worker').file }));
      temporalAccess ??= createTemporalAccess(config.temporal);
      await waitForPoller(child, temporalAccess.client, config.temporal.taskQueue);
    },
  };
  const pidOf = (part: PartName): number => {
    const pid = running.get(part)?.child.pid;
    if (pid === undefined) throw new Error(`${part} has no process`);
    return pid;
  };

  const stack: FaultStack = {
    dir,
    apiUrl,
    emulatorUrl,
    config,
    get temporal(): Client {
      if (!temporalAccess) throw new Error('the Temporal client is made when the worker starts');
      return temporalAccess.client;
    },
    pid: (part) => running.get(part)?.child.pid,
    async kill(part) {
      const child = running.get(part);
      if (!child) throw new Error(`${part} is not running`);
      const pid = pidOf(part);
      killing.add(child);
      // The whole group: a launcher script and the server it runs die together, as a crashed machine would.
      process.kill(-pid, 'SIGKILL');
      await child.exited;
      running.delete(part);
      return pid;
    },
    async start(part) {
      await launchers[part]();
      return pidOf(part);
    },
    unexpectedExits: () => [...exits],
    async stop() {
      stopping = true;
      await temporalAccess?.close().catch(() => undefined);
      // Ours first (they drain into the services), then the services.
      for (const part of [...partNames].reverse()) await running.get(part)?.stop();
    },
  };
  try {
    await Promise.all([launchers.database(), launchers.temporal(), launchers.emulator()]);
    await Promise.all([launchers.api(), launchers.worker()]);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}
