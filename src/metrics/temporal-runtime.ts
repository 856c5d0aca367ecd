/**
 * The Temporal SDK's own metrics (task slots, pollers, schedule-to-start and execution latencies), exported by its
 * native runtime on a Prometheus endpoint of its own. The runtime is process-wide and can be installed only once,
 * before the first connection or worker: so only the worker's entry point installs it, and only when configured,
 * never a test that shares its process with other engines.
 */
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { AppConfig } from '../config';

/** The runtime's options, or null when the SDK's metrics are not wanted (the default runtime then runs). */
export function temporalRuntimeOptions(metrics: Pick<AppConfig['metrics'], 'temporalBindAddress'>): RuntimeOptions | null {
  if (metrics.temporalBindAddress === null) return null;
  // The SDK's names as they are (prefix `temporal_`, milliseconds): Temporal's SDK dashboards expect them so.
  return { telemetryOptions: { metrics: { prometheus: { bindAddress: metrics.temporalBindAddress } } } };
}

/** Call once, first thing in the worker process. Answers whether a runtime was installed. */
export function installTemporalRuntime(metrics: Pick<AppConfig['metrics'], 'temporalBindAddress'>): boolean {
  const options = temporalRuntimeOptions(metrics);
  if (options === null) return false;
  Runtime.install(options);
  return true;
}
