/**
 * The engine's worker as a process of its own, as production runs it (the built `dist/worker.js`), so that its
 * memory is measured alone: building it, starting it, knowing when it polls, its workflow cache, and its log.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { repoRoot, spawnManaged, waitUntilReady, type ManagedProcess } from '../scripts/lib/processes';

/** Builds the engine into dist/ (what the worker process runs) with the project's TypeScript. */
export async function buildEngine(logFile: string, track: (child: ManagedProcess) => void): Promise<void> {
  const build = spawnManaged({ name: 'build', command: process.execPath, args: [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], output: { file: logFile } });
  track(build);
  const code = await build.exited;
  if (code !== 0) throw new Error(`building the engine failed (${code}): see ${logFile}`);
  rmSync(logFile, { force: true });
}

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

async function hasWorkflowPoller(client: Client, taskQueue: string): Promise<boolean> {
  const answer = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return answer.pollers.length > 0;
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

/** The worker's warnings and errors (its own log lines at warn and above, and the Temporal SDK's): how many, the first few. */
export function workerLogSummary(file: string): { lines: number; first: string[] } {
  try {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /\[(WARN|ERROR)\]|"level":"(warn|error)"/.test(line));
    return { lines: lines.length, first: lines.slice(0, 3).map((line) => line.slice(0, 300)) };
  } catch {
    return { lines: 0, first: [] };
  }
}

/** The summary above as printed lines. */
export function describeWorkerLog(file: string): string[] {
  const log = workerLogSummary(file);
  return [`worker log: ${log.lines} warnings and errors${log.lines > 0 ? ', the first:' : ''}`, ...log.first.map((line) => `  ${line}`)];
}
