/**
 * The stack a worker benchmark runs on, everything real and local: the Temporal dev server and the local database
 * (lib.ts startLocalServices, unless TEMPORAL_ADDRESS / MONGODB_URI name them), the Meta emulator in this process, and
 * the engine's worker as a process of its own (worker-process.ts) with its real activities and Graph client,
 * pointed at the emulator (GRAPH_API_URL is not used). The memory and CPU of each are sampled from the start.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import type { Connection as MongooseConnection } from 'mongoose';
import { loadConfig, type AppConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { createModels, ensureIndexes, type Models } from '../src/db/models';
import { createTemporalAccess, type TemporalAccess } from '../src/temporal/client';
import { servicePid, startLocalServices, type LocalServices } from './lib';
import { startEmulator, type LocalEmulator } from './local-emulator';
import { createProcessSampler, pidOn, type ProcessSampler, type Target } from './process-sampler';
import type { RunControl } from './run-control';
import { buildEngine, startWorkerProcess, type WorkerProcess } from './worker-process';

export interface BenchStackOptions<P extends string> {
  /** Names the database, the task queue and the build's log: `accounts`, `conversations`. */
  name: string;
  runTag: string;
  /** Build dist/ first (the worker process runs it). */
  build: boolean;
  phases: readonly P[];
  sampleMs: number;
  /** What this process is, in the memory and CPU tables. */
  selfName: string;
  /** The emulator calls to count (LocalEmulator.answered). */
  countAtEmulator: (req: IncomingMessage) => boolean;
}

export interface BenchStack<P extends string> {
  services: LocalServices;
  /** The worker's configuration, which this process shares: the queue, the token key, the emulator's address. */
  config: AppConfig;
  emulator: LocalEmulator;
  database: MongooseConnection;
  models: Models;
  temporal: TemporalAccess;
  client: Client;
  worker: WorkerProcess;
  targets: Target[];
  sampler: ProcessSampler<P>;
  /**
   * `work`, unless the worker, the Temporal server or the database this run started exits first: then the run fails at
   * once, saying which and where its log is, instead of waiting out its timeout for work nothing will finish.
   */
  unlessExits<T>(work: Promise<T>): Promise<T>;
  /** Services the environment named are someone else's: the run removes what it made there. */
  external: { temporal: boolean; mongo: boolean };
}

const seconds = (valueMs: number): string => (valueMs / 1000).toFixed(1);

/** The services, and the engine built meanwhile (the worker process runs the build). */
async function startServicesAndBuild(control: RunControl, options: { name: string; runTag: string; build: boolean }): Promise<LocalServices> {
  const step = performance.now();
  const buildLog = path.join(os.tmpdir(), `igdm-bench-${options.name}-build-${options.runTag}.log`);
  control.launched.files.push(buildLog);
  const [services] = await Promise.all([
    startLocalServices(`igdm_bench_${options.name}`, { onProcess: (child) => control.track(child) }).then((services) => {
      control.adoptServices(services);
      return services;
    }),
    options.build ? buildEngine(buildLog, (child) => control.track(child)) : undefined,
  ]);
  console.log(`set-up:   services started${options.build ? ' and the engine built into dist/' : ''} in ${seconds(performance.now() - step)} s`);
  return services;
}

/** The worker's environment; this process reads the same settings, so both agree on the queue and the key. */
function workerEnvironment(name: string, runTag: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    TEMPORAL_TASK_QUEUE: `bench-${name}-${runTag}`,
    TOKEN_ENCRYPTION_KEYS: `bench-${runTag}:${randomBytes(32).toString('base64')}`,
    TOKEN_ENCRYPTION_KEY: '',
  };
}

function watchedProcesses(services: LocalServices, worker: WorkerProcess, selfName: string, external: { temporalAddress?: string; mongoUri?: string }): Target[] {
  return [
    { name: 'worker', pid: worker.process.child.pid },
    { name: 'temporal server', pid: servicePid(services, 'temporal') ?? (external.temporalAddress ? pidOn(external.temporalAddress, 7233) : undefined) },
    { name: 'database', pid: servicePid(services, 'mongo-server') ?? (external.mongoUri ? pidOn(external.mongoUri, 27017) : undefined) },
    { name: selfName, pid: process.pid },
  ];
}

export async function startBenchStack<P extends string>(control: RunControl, options: BenchStackOptions<P>): Promise<BenchStack<P>> {
  const { launched } = control;
  const externalTemporal = process.env.TEMPORAL_ADDRESS;
  const externalMongo = process.env.MONGODB_URI;
  const services = await startServicesAndBuild(control, options);

  const baseEnv = workerEnvironment(options.name, options.runTag);
  const emulator = await startEmulator(loadConfig(baseEnv), options.countAtEmulator);
  launched.closers.push(() => emulator.close());
  const workerEnv: NodeJS.ProcessEnv = { ...baseEnv, GRAPH_API_URL: emulator.url };
  const config = loadConfig(workerEnv);
  console.log(`stack:    ${services.description}, the Meta emulator in this process; the worker (dist/worker.js) as a process of its own; loopback only`);

  const database = await connectDatabase({ uri: config.mongodb.uri });
  launched.closers.push(() => database.close());
  const models = createModels(database);
  await ensureIndexes(models);
  const temporal = createTemporalAccess(config.temporal);
  launched.closers.push(() => temporal.close());

  const worker = startWorkerProcess(workerEnv, path.join(services.workDir, 'worker.log'));
  launched.worker = worker.process;
  const targets = watchedProcesses(services, worker, options.selfName, { temporalAddress: externalTemporal, mongoUri: externalMongo });
  const sampler = createProcessSampler(targets, options.phases, options.sampleMs);
  launched.sampler = sampler;
  const serviceGone = services.processes.map((child) =>
    child.exited.then((code): never => {
      throw new Error(`${child.name} exited (${code}) during the run: see its log in ${services.workDir}`);
    }),
  );
  for (const gone of serviceGone) gone.catch(() => undefined);
  return {
    services,
    config,
    emulator,
    database,
    models,
    temporal,
    client: temporal.client,
    worker,
    targets,
    sampler,
    unlessExits: (work) => Promise.race([worker.unlessExits(work), ...serviceGone]),
    external: { temporal: Boolean(externalTemporal), mongo: Boolean(externalMongo) },
  };
}
