/**
 * The engine's worker as a process of its own, as production runs it (the built `dist/worker.js`), so that its
 * memory is measured alone: building it, starting it, knowing when it polls, its workflow cache, and its log.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { repoRoot, spawnManaged, waitUntilReady, type ManagedProcess } from '../scripts/lib/processes';
import { hasWorkflowPoller, logWarnings } from './engine-processes';

export { buildEngine } from './engine-processes';

export interface WorkerProcess {
  process: ManagedProcess;
  log: string;
  /** `work`, unless the worker ends first: then the run fails, since nothing would finish what it waits for. */
  unlessExits<T>(work: Promise<T>): Promise<T>;
  /** Resolves once the worker polls its task queue (bundling the workflow code takes it a while). */
  waitUntilPolling(client: Client, taskQueue: string): Promise<void>;
}

/**
 * Starts `dist/worker.js` with `env`, its output in `logFile`. BENCH_WORKER_NODE_ARGS adds node's own options, e.g.
 * `--cpu-prof --cpu-prof-dir=DIR` for a CPU profile of the worker (node refuses those in NODE_OPTIONS).
 */
export function startWorkerProcess(env: NodeJS.ProcessEnv, logFile: string): WorkerProcess {
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const worker = spawnManaged({ name: 'worker', command: process.execPath, args: [...nodeArgs, path.join(repoRoot, 'dist', 'worker.js')], env, output: { file: logFile } });
  // Killed for its memory, or a crash: whatever is waiting on the worker fails at once with where to look.
  const gone = worker.exited.then((code): never => {
    throw new Error(`the worker exited (${code}) during the run: see ${logFile}`);
  });
  gone.catch(() => undefined);
  return {
    process: worker,
    log: logFile,
    unlessExits: (work) => Promise.race([work, gone]),
    waitUntilPolling: (client, taskQueue) => waitUntilReady(worker, () => hasWorkflowPoller(client, taskQueue, worker.child.pid), 180_000, `see ${logFile}`),
  };
}

/** The worker's warnings and errors (logWarnings) as printed lines. */
export function describeWorkerLog(file: string): string[] {
  const log = logWarnings(file);
  return [`worker log: ${log.lines} warnings and errors${log.lines > 0 ? ', the first:' : ''}`, ...log.first.map((line) => `  ${line}`)];
}
