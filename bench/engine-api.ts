/**
 * The engine's API process, in the benchmark's own process: the real Express app (webhook ingress included) on a
 * free loopback port, and the inbound dispatcher it hands webhook events to. No sweeper runs: every event the
 * benchmark stores is dispatched by the benchmark itself, and a sweeper would dispatch again the claims of a long
 * backlog (older than 2 minutes) while they wait for the worker.
 */
import { createIngressRecording } from '../src/inbound/ingress-recording';
import { createWriteStream } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/api/app';
import { createInboundDispatcher, type InboundDispatcher } from '../src/inbound/dispatcher';
import { createLogger } from '../src/logger';
import { createApiMetrics } from '../src/metrics/engine-metrics';
import type { BenchStack } from './bench-stack';

export interface EngineApi {
  url: string;
  dispatcher: InboundDispatcher;
  close(): Promise<void>;
}

/** Starts the API on the stack's database and Temporal server; its log (warnings and up) goes to `logFile`. */
export async function startEngineApi<P extends string>(stack: BenchStack<P>, logFile: string): Promise<EngineApi> {
  const { config, models, database, temporal } = stack;
  const log = createWriteStream(logFile, { flags: 'a' });
  const logger = createLogger({ level: 'warn', base: { process: 'api' }, write: (line) => log.write(`${line}\n`) });
  const metrics = createApiMetrics();
  const projector = createIngressRecording({ config, models, logger, metrics });
  const dispatcher = createInboundDispatcher({ models, temporal: temporal.client, taskQueue: config.temporal.taskQueue, logger, metrics, ...(projector ? { projector } : {}) });
  const app = createApp({ config, logger, temporal, database, models, dispatcher, metrics });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dispatcher,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
}
