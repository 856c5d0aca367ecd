/**
 * The engine's worker for an inbound world started without one (`startInboundWorld({ worker: false })`), built as
 * src/worker.ts builds it, on the world's task queue and database: a test can let events pile up, then start it.
 */
import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { createWorkerMetrics } from '../../src/metrics/engine-metrics';
import { createWorker } from '../../src/worker-factory';
import type { InboundWorld } from './inbound-world';

export interface RunningWorker {
  stop(): Promise<void>;
}

export async function startWorldWorker(world: InboundWorld, logs: string[]): Promise<RunningWorker> {
  const config = world.engine.config;
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createWorker({ connection, config, models: world.engine.models, metrics: createWorkerMetrics(), logger: createLogger({ level: 'warn', write: (line) => logs.push(line) }) });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
