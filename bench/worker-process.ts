/**
 * The engine's worker as a process of its own, as production runs it (the built `dist/worker.js`), so that its
 * memory is measured alone: building it, starting it, knowing when it polls, its workflow cache, and its log.
 */
import path from 'node:path';
import v8 from 'node:v8';
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

/** Starts `dist/worker.js` with `env`, its output in `logFile`. */
export function startWorkerProcess(env: NodeJS.ProcessEnv, logFile: string): WorkerProcess {
  const worker = spawnManaged({ name: 'worker', command: process.execPath, args: [path.join(repoRoot, 'dist', 'worker.js')], env, output: { file: logFile } });
  // Killed for its memory, or a crash: whatever is waiting on the worker fails at once with where to look.
  const gone = worker.exited.then((code): never => {
    throw new Error(`the worker exited (${code}) during the run: see ${logFile}`);
  });
  gone.catch(() => undefined);
  return {
    process: worker,
    log: logFile,
    unlessExits: (work) => Promise.race([work, gone]),
    waitUntilPolling: (client, taskQueue) => waitUntilReady(worker, () => hasWorkflowPoller(client, taskQueue), 180_000, `see ${logFile}`),
  };
}

/**
 * The workflow cache the SDK gives a worker without `maxCachedWorkflows` (as ours), from the V8 heap limit, which
 * the worker shares with this process (same node, same NODE_OPTIONS). Workflows past it are evicted and replayed
 * from their history when their next task comes.
 */
export function defaultWorkflowCacheSize(): { workflows: number; heapLimitMb: number } {
  const heapLimitMb = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
  return { workflows: Math.max(Math.floor((Math.max(heapLimitMb - 200, 0) * 600) / 1024), 10), heapLimitMb };
}

/** The worker's warnings and errors (logWarnings) as printed lines. */
export function describeWorkerLog(file: string): string[] {
  const log = logWarnings(file);
  return [`worker log: ${log.lines} warnings and errors${log.lines > 0 ? ', the first:' : ''}`, ...log.first.map((line) => `  ${line}`)];
}
