/**
 * The engine's own processes for benchmarks that run them apart (so each one's memory and CPU is its own): building
 * dist/ with the project's TypeScript, starting a node process with its log in a file, and telling when the API
 * answers and when the worker polls its task queue.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { repoRoot, spawnManaged, waitUntilReady, type ManagedProcess } from '../scripts/lib/processes';

/** Builds the engine into dist/ (what `npm start` runs) with the project's TypeScript; the log goes when it succeeds. */
export async function buildEngine(logFile: string, track: (child: ManagedProcess) => void): Promise<void> {
  const build = spawnManaged({ name: 'build', command: process.execPath, args: [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], output: { file: logFile } });
  track(build);
  const code = await build.exited;
  if (code !== 0) throw new Error(`building the engine failed (${code}): see ${logFile}`);
  rmSync(logFile, { force: true });
}

/**
 * A node process of the project: a built entry under dist/ (`dist/server.js`), or a TypeScript file run through tsx
 * (a benchmark's helper, the emulator), with stdout and stderr in `logFile`.
 */
export function startNodeProcess(options: { name: string; entry: string; env: NodeJS.ProcessEnv; logFile: string }): ManagedProcess {
  const typescript = options.entry.endsWith('.ts');
  // BENCH_API_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the API process (node refuses those in NODE_OPTIONS).
  const nodeArgs = (process.env[`BENCH_${options.name.toUpperCase()}_NODE_ARGS`] ?? '').split(' ').filter(Boolean);
  const args = [...nodeArgs, ...(typescript ? ['--import', 'tsx'] : []), path.join(repoRoot, options.entry)];
  return spawnManaged({ name: options.name, command: process.execPath, args, env: options.env, output: { file: options.logFile } });
}

/** Ready when `url` answers 200 (the API's /readyz: listening and its database open). */
export async function waitForHttpOk(server: ManagedProcess, url: string, timeoutMs: number, hint: string): Promise<void> {
  await waitUntilReady(server, async () => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status === 200, timeoutMs, hint);
}

/**
 * Ready when this worker process polls its task queue (bundling the workflow code takes it a while): a worker that
 * died a moment ago is still listed as a poller for a while, so the poller must be this process.
 */
export async function waitForPoller(worker: ManagedProcess, client: Client, taskQueue: string): Promise<void> {
  await waitUntilReady(worker, () => hasWorkflowPoller(client, taskQueue, worker.child.pid), 180_000, 'see the worker log');
}

/** Whether a worker polls the task queue for workflow tasks; with `pid`, that process (the SDK's identity is pid@host). */
export async function hasWorkflowPoller(client: Client, taskQueue: string, pid?: number): Promise<boolean> {
  const answer = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return answer.pollers.some((poller) => pid === undefined || (poller.identity ?? '').startsWith(`${pid}@`));
}

/** A process's warnings and errors (the engine's log lines at warn and above, and the Temporal SDK's): how many, the first few. */
export function logWarnings(file: string): { lines: number; first: string[] } {
  try {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /\[(WARN|ERROR)\]|"level":"(warn|error)"/.test(line));
    return { lines: lines.length, first: lines.slice(0, 3).map((line) => line.slice(0, 300)) };
  } catch {
    return { lines: 0, first: [] };
  }
}
