/**
 * The built worker (`node dist/worker.js`), started as a deployment starts it with WORKER_METRICS_PORT and
 * TEMPORAL_METRICS_BIND_ADDRESS: it serves its own registry on the one, and the Temporal runtime it installed at
 * start exports the SDK's metrics on the other. A process of its own, since the runtime is process-wide.
 */
import { connectDatabase } from '../../src/db/connection';
import { findFreePort } from '../../scripts/lib/processes';
import { testEnvironment } from '../support/engine';
import { scrapeMetrics } from '../support/metrics';
import { createWorkerProcesses } from '../support/worker-processes';

jest.setTimeout(120_000);

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('the worker process', () => {
  it("serves its counters and Node's on WORKER_METRICS_PORT, and the Temporal SDK's on TEMPORAL_METRICS_BIND_ADDRESS", async () => {
    const [workerPort, temporalPort] = [await findFreePort(), await findFreePort()];
    const env = testEnvironment({ WORKER_METRICS_PORT: String(workerPort), WORKER_METRICS_HOST: '127.0.0.1', TEMPORAL_METRICS_BIND_ADDRESS: `127.0.0.1:${temporalPort}` });
    const workers = createWorkerProcesses(() => env, 'worker-metrics');
    try {
      workers.start();
      const own = await eventually(async () => {
        const scraped = await scrapeMetrics(`http://127.0.0.1:${workerPort}`);
        return scraped.status === 200 ? scraped : undefined;
      }, "the worker's /metrics");
      const families = new Set(own.samples.map((sample) => sample.name));
      for (const name of ['igdm_outbound_sends_total', 'igdm_inbound_events_parked_total', 'process_cpu_user_seconds_total']) expect(families).toContain(name);
      // The connection's metrics come first; the worker's, labelled with its task queue, once its pollers run.
      const sdk = await eventually(async () => {
        const text = await (await fetch(`http://127.0.0.1:${temporalPort}/metrics`)).text();
        return text.includes(`task_queue="${env.TEMPORAL_TASK_QUEUE}"`) ? text : undefined;
      }, "the Temporal SDK's worker metrics");
      expect(sdk).toMatch(/^temporal_request\{/m);
      expect(sdk).toMatch(/^temporal_\w+\{[^}]*task_queue=/m);
    } finally {
      await workers.stopAll();
      const database = await connectDatabase({ uri: env.MONGODB_URI! });
      await database.dropDatabase();
      await database.close();
    }
  });
});
