/**
 * Runs the engine in-process for an integration test: the real API app on a free port and a real worker,
 * against the Temporal server and database of the harness. Each call gets its own database and task queue,
 * so test files running in parallel do not see each other.
 */
import { createIngressRecording } from '../../src/inbound/ingress-recording';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { installQuietTemporalRuntime } from './temporal-runtime';
import { e2eHistoriesFolder, saveTaskQueueHistories } from './e2e-histories';
import type { Connection as MongooseConnection } from 'mongoose';
import { createApp } from '../../src/api/app';
import { answerMalformedRequests } from '../../src/api/malformed-requests';
import { loadConfig, type AppConfig } from '../../src/config';
import { connectDatabase } from '../../src/db/connection';
import { createModels, ensureIndexes, type Models } from '../../src/db/models';
import { createLogger, type Logger } from '../../src/logger';
import { createInboundDispatcher, type InboundDispatcher } from '../../src/inbound/dispatcher';
import { startSweeper } from '../../src/inbound/sweeper';
import { startDispatcherPresence } from '../../src/inbound/dispatcher-presence';
import { createApiMetrics, createWorkerMetrics, type ApiMetrics, type WorkerMetrics } from '../../src/metrics/engine-metrics';
import { createTemporalAccess } from '../../src/temporal/client';
import { createWorker } from '../../src/worker-factory';

export interface RunningEngine {
  config: AppConfig;
  baseUrl: string;
  temporal: Client;
  database: MongooseConnection;
  models: Models;
  dispatcher: InboundDispatcher;
  /** The registries the API (its /metrics) and the in-process worker count into. */
  metrics: { api: ApiMetrics; worker: WorkerMetrics };
  logs: string[];
  stop(): Promise<void>;
}

/** Keeps the worker's own log lines out of the test output unless they are warnings. */

/** The environment of a test engine: its own database, task queue and token key on the harness's servers. */
export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const suffix = randomUUID().slice(0, 8);
  const mongoUri = new URL(requireEnv('MONGODB_URI'));
  mongoUri.pathname = `/igdm_${suffix}`;
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    MONGODB_URI: mongoUri.toString(),
    TEMPORAL_ADDRESS: requireEnv('TEMPORAL_ADDRESS'),
    TEMPORAL_TASK_QUEUE: `test-${suffix}`,
    TOKEN_ENCRYPTION_KEYS: `test-${suffix}:${randomBytes(32).toString('base64')}`,
    API_PORT: '3000',
    ...overrides,
  };
}

/** Test cleanup: a workflow a test started is terminated; one that never started or already ended is fine. */
/** Terminates every running workflow of a task queue (a test engine's, when it stops). */
export async function terminateRunningWorkflows(client: Client, taskQueue: string): Promise<void> {
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    await client.workflow
      .getHandle(execution.workflowId, execution.runId)
      .terminate('the test engine that ran it stopped')
      .catch(() => undefined);
  }
}

export async function terminateIfRunning(client: Client, workflowId: string): Promise<void> {
  await client.workflow
    .getHandle(workflowId)
    .terminate('test cleanup')
    .catch((error: unknown) => {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    });
}

export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return loadConfig(testEnvironment(overrides));
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this test through jest with the integration project's global setup`);
  return value;
}

/**
 * `listenOnConfiguredPort`: listen on `config.api.port` (chosen free by the caller, so that `PUBLIC_BASE_URL` can
 * name it before the engine starts: Meta fetches reply images from there); otherwise on any free port.
 */
export async function startEngine(options: { config?: AppConfig; worker?: boolean; sweeper?: boolean; listenOnConfiguredPort?: boolean } = {}): Promise<RunningEngine> {
  installQuietTemporalRuntime();
  const config = options.config ?? testConfig();
  const logs: string[] = [];
  const logger: Logger = createLogger({ level: 'debug', write: (line) => logs.push(line) });
  const database = await connectDatabase({ uri: config.mongodb.uri });
  const models = createModels(database);
  await ensureIndexes(models);

  const temporalAccess = createTemporalAccess(config.temporal);
  const temporal = temporalAccess.client;
  const metrics = { api: createApiMetrics(), worker: createWorkerMetrics() };

  let workerRun: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  let shutdownWorker: (() => void) | undefined;
  if (options.worker !== false) {
    nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
    const worker = await createWorker({ connection: nativeConnection, config, models, logger, metrics: metrics.worker });
    workerRun = worker.run();
    shutdownWorker = () => worker.shutdown();
  }

  const projector = createIngressRecording({ config, models, logger, metrics: metrics.api });
  const dispatcher = createInboundDispatcher({ models, temporal, taskQueue: config.temporal.taskQueue, logger, metrics: metrics.api, refusalRetry: config.inbound.refusalRetry, ...(projector ? { projector } : {}) });
  const app = createApp({ config, logger, temporal: temporalAccess, database, models, dispatcher, metrics: metrics.api });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(options.listenOnConfiguredPort ? config.api.port : 0, '127.0.0.1', () => resolve(listening));
  });
  answerMalformedRequests(server);
  const { port } = server.address() as AddressInfo;
  const presence = options.sweeper ? startDispatcherPresence({ models, logger }) : undefined;
  const sweeper = options.sweeper ? startSweeper(dispatcher, logger, { intervalMs: config.inbound.sweepIntervalMs, idleIntervalMs: config.inbound.sweepIdleIntervalMs }, presence) : undefined;

  return {
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    temporal,
    database,
    models,
    dispatcher,
    metrics,
    logs,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await sweeper?.stop();
      await presence?.stop();
      // Before the Temporal connection closes under them (a signal retrying while Temporal was away).
      await dispatcher.settle(10_000);
      shutdownWorker?.();
      await workerRun;
      await nativeConnection?.close();
      const historiesFolder = e2eHistoriesFolder();
      try {
        // Saved before the runs still going are terminated, so that each history ends where the test left it.
        if (historiesFolder) await saveTaskQueueHistories(temporalAccess.client, config.temporal.taskQueue, historiesFolder);
      } finally {
        // Workflows of this engine must not outlive it: the dev server is shared, and a workflow id (an account's)
        // may come again in the next test file, whose signals would go to this one.
        await terminateRunningWorkflows(temporalAccess.client, config.temporal.taskQueue);
        await temporalAccess.close();
        await database.dropDatabase();
        await database.close();
      }
    },
  };
}
