/** Entry point of the `worker` process: every workflow and activity, on one task queue. */
import { NativeConnection } from '@temporalio/worker';
import { loadConfig, type AppConfig } from './config';
import { sleep } from './async';
import { connectDatabase } from './db/connection';
import { createModels, ensureIndexes } from './db/models';
import { createLogger, type Logger } from './logger';
import { createWorkerMetrics, type WorkerMetrics } from './metrics/engine-metrics';
import { startMetricsServer, type MetricsServer } from './metrics/metrics-server';
import { installTemporalRuntime } from './metrics/temporal-runtime';
import { createWorker } from './worker-factory';

async function connectTemporal(address: string, logger: Logger): Promise<NativeConnection> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await NativeConnection.connect({ address });
    } catch (error) {
      logger.warn('temporal not reachable yet, retrying', { attempt, address, error: (error as Error).message });
      await sleep(1000);
    }
  }
}

/** The worker's own /metrics, when a port is configured; null otherwise. */
async function serveMetrics(config: AppConfig, metrics: WorkerMetrics, logger: Logger): Promise<MetricsServer | null> {
  if (config.metrics.worker === null) return null;
  const server = await startMetricsServer({ registry: metrics.registry, ...config.metrics.worker, token: config.metrics.token, logger });
  logger.info('worker metrics listening', { host: config.metrics.worker.host, port: server.port });
  return server;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, base: { process: 'worker' } });
  // Before anything of Temporal's is created: the runtime is process-wide and is installed once.
  if (installTemporalRuntime(config.metrics)) logger.info('temporal sdk metrics exported', { bindAddress: config.metrics.temporalBindAddress });
  const metrics = createWorkerMetrics();
  const metricsServer = await serveMetrics(config, metrics, logger);
  const database = await connectDatabase({ uri: config.mongodb.uri }, logger);
  const models = createModels(database);
  await ensureIndexes(models);
  const connection = await connectTemporal(config.temporal.address, logger);
  const worker = await createWorker({ connection, config, models, logger, metrics });
  // Temporal's runtime stops the worker on SIGINT/SIGTERM: run() then resolves after in-flight tasks finish.
  logger.info('worker running', { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace });
  await worker.run();
  await connection.close();
  await database.close();
  await metricsServer?.close();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  process.stderr.write(`worker failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
