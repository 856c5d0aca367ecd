/** Entry point of the `api` process: webhook ingress, inbox API, health. */
import { createIngressRecording } from './inbound/ingress-recording';
import type { Server } from 'node:http';
import { createApp } from './api/app';
import { answerMalformedRequests } from './api/malformed-requests';
import { loadConfig } from './config';
import { createDatabaseConnection, openWithRetry } from './db/connection';
import { createModels, ensureIndexes } from './db/models';
import { onShutdownSignal } from './lifecycle';
import { createLogger } from './logger';
import { createApiMetrics } from './metrics/engine-metrics';
import { createInboundDispatcher } from './inbound/dispatcher';
import { startSweeper } from './inbound/sweeper';
import { startDispatcherPresence } from './inbound/dispatcher-presence';
import { createTemporalAccess } from './temporal/client';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, base: { process: 'api' } });
  const database = createDatabaseConnection();
  const models = createModels(database);
  const temporal = createTemporalAccess(config.temporal);
  const metrics = createApiMetrics();
  const projector = createIngressRecording({ config, models, logger, metrics });
  const dispatcher = createInboundDispatcher({ models, temporal: temporal.client, taskQueue: config.temporal.taskQueue, logger, metrics, refusalRetry: config.inbound.refusalRetry, ...(projector ? { projector } : {}) });
  const app = createApp({ config, logger, temporal, database, models, dispatcher, metrics });

  // Listen first so /healthz and /readyz answer while the database is still coming up.
  const server: Server = app.listen(config.api.port, config.api.host, () => {
    logger.info('api listening', { url: config.api.publicBaseUrl, host: config.api.host, port: config.api.port });
  });
  answerMalformedRequests(server);
  const aborted = new AbortController();
  // Events acknowledged while Temporal was unreachable (or by a replica that stopped) are dispatched from here.
  // Its rounds wait for the database like every other query.
  // This process's claims are its own while it is alive; those of one that was killed are taken over within seconds.
  const presence = startDispatcherPresence({ models, logger });
  const sweeper = startSweeper(dispatcher, logger, { intervalMs: config.inbound.sweepIntervalMs, idleIntervalMs: config.inbound.sweepIdleIntervalMs }, presence);
  onShutdownSignal(logger, async () => {
    aborted.abort();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await sweeper.stop();
    await presence.stop();
    // Before the Temporal connection closes under them (a signal retrying while Temporal is away).
    await dispatcher.settle(10_000);
    await database.close();
    await temporal.close();
  });

  await openWithRetry(database, { uri: config.mongodb.uri }, logger, aborted.signal);
  await ensureIndexes(models);
  logger.info('api ready');
}

main().catch((error: unknown) => {
  // The config error names the variable; print it plainly so it reads well in a terminal.
  process.stderr.write(`api failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
