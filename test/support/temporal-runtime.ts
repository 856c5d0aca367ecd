/** The Temporal runtime of a test process, installed once (warnings only; jest owns the process's signals). */
import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

export function installQuietTemporalRuntime(): void {
  if (installed) return;
  installed = true;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
}
