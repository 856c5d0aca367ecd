/**
 * Workers as separate processes (the built `dist/worker.js`), for tests that SIGKILL one mid-flight and start
 * another: the engine's own worker, configured like the world's in-process engine, with its log in a temp folder.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, spawnManaged, type ManagedProcess } from '../../scripts/lib/processes';

export interface WorkerProcesses {
  start(): ManagedProcess;
  stopAll(): Promise<void>;
}

export function createWorkerProcesses(env: () => Record<string, string>, logPrefix: string): WorkerProcesses {
  const workers: ManagedProcess[] = [];
  let logDir: string | undefined;
  return {
    start() {
      const script = path.join(repoRoot, 'dist', 'worker.js');
      if (!existsSync(script)) throw new Error('dist/worker.js is missing: run `npm test` (it builds) or `npm run build`');
      logDir ??= mkdtempSync(path.join(os.tmpdir(), `${logPrefix}-`));
      const worker = spawnManaged({
        name: `worker-${workers.length + 1}`,
        command: process.execPath,
        args: [script],
        env: { ...process.env, ...env() },
        output: { file: path.join(logDir, `worker-${workers.length + 1}.log`) },
      });
      workers.push(worker);
      return worker;
    },
    async stopAll() {
      for (const worker of workers) await worker.stop();
      if (logDir) rmSync(logDir, { recursive: true, force: true });
    },
  };
}
