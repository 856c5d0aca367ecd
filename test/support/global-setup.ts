/**
 * Starts the real services the integration layer needs, once per jest run: a Temporal dev server and the database,
 * each on a free port with throw-away state. With TEMPORAL_ADDRESS / MONGODB_URI already set, those are used
 * instead and nothing is started. Test files read the addresses from the environment set here.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort, localMongoUri, startMongoServer, startTemporalDevServer, type ManagedProcess } from '../../scripts/lib/processes';

export interface HarnessState {
  processes: ManagedProcess[];
  workDir: string;
}

declare global {
  var __harness: HarnessState | undefined;
}

export default async function globalSetup(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'igdm-test-'));
  const processes: ManagedProcess[] = [];
  globalThis.__harness = { processes, workDir };
  process.env.TEST_WORK_DIR = workDir;

  const tasks: Array<Promise<void>> = [];
  if (!process.env.MONGODB_URI) {
    tasks.push(
      (async () => {
        const port = await findFreePort();
        processes.push(await startMongoServer({ port, dataDir: path.join(workDir, 'mongo'), output: { file: path.join(workDir, 'mongo-server.log') } }));
        process.env.MONGODB_URI = localMongoUri(port, 'igdm_test');
      })(),
    );
  }
  if (!process.env.TEMPORAL_ADDRESS) {
    tasks.push(
      (async () => {
        const port = await findFreePort();
        processes.push(await startTemporalDevServer({ port, uiPort: port + 1000, headless: true, output: { file: path.join(workDir, 'temporal.log') } }));
        process.env.TEMPORAL_ADDRESS = `127.0.0.1:${port}`;
      })(),
    );
  }
  await Promise.all(tasks);
}
