/** Stops what global-setup started; their throw-away state goes with the temporary folder. */
import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const harness = globalThis.__harness;
  if (!harness) return;
  await Promise.all(harness.processes.map((child) => child.stop()));
  rmSync(harness.workDir, { recursive: true, force: true });
}
