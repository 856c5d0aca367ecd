/** Entry point of the `worker` process: every workflow and activity, on one task queue. */
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from './config';
import { sleep } from './async';
import { connectDatabase } from './db/connection';
import { createModels, ensureIndexes } from './db/models';
import { createLogger, type Logger } from './logger';
import { createWorkerMetrics } from './metrics/engine-metrics';
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

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, base: { process: 'worker' } });
  const database = await connectDatabase({ uri: config.mongodb.uri }, logger);
  const models = createModels(database);
  await ensureIndexes(models);
  const connection = await connectTemporal(config.temporal.address, logger);
  // Counted into, but not served yet.
  const worker = await createWorker({ connection, config, models, logger, metrics: createWorkerMetrics() });
  // Temporal's runtime stops the worker on SIGINT/SIGTERM: run() then resolves after in-flight tasks finish.
  logger.info('worker running', { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace });
  await worker.run();
  await connection.close();
  await database.close();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  process.stderr.write(`worker failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
