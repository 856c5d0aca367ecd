/**
 * What a benchmark started, and stopping all of it: when it ends, when it fails, and on Ctrl-C (SIGINT), SIGTERM or
 * SIGHUP. A failed run keeps the logs of the worker and the services for a look.
 */
import { rmSync } from 'node:fs';
import type { ManagedProcess } from '../scripts/lib/processes';
import type { LocalServices } from './lib';
import { mb } from './process-sampler';

export interface Launched {
  /** Processes of the run (the build, the services' as soon as each is spawned). */
  processes: ManagedProcess[];
  /** Files of the run outside the services' directory (the build's log), removed at the end unless logs are kept. */
  files: string[];
  worker?: ManagedProcess;
  services?: LocalServices;
  sampler?: { stop(): void; hwm(name: string): number | undefined; memoryReport(): string };
  /** This process's own parts (connections, the emulator, the API), closed after the worker, the last opened first. */
  closers: Array<() => Promise<void>>;
}

export interface RunControl {
  launched: Launched;
  /** True once everything is being stopped. */
  exiting(): boolean;
  /** Takes a spawned process in, to be stopped with the rest (at once if that has begun: a Ctrl-C during the start-up). */
  track(child: ManagedProcess): void;
  /** Takes the started services in, likewise. */
  adoptServices(services: LocalServices): void;
  setKeepLogs(keep: boolean): void;
}

const SIGNAL_EXIT_CODES = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const;

async function stopEverything(launched: Launched, keepLogs: boolean): Promise<void> {
  launched.sampler?.stop();
  // The worker first, while the services it uses still answer; then this process's parts; then the rest.
  await launched.worker?.stop().catch((error: unknown) => console.error(`worker stop: ${(error as Error).message}`));
  for (const close of [...launched.closers].reverse()) await close().catch(() => undefined);
  await Promise.all(launched.processes.map((child) => child.stop().catch((error: unknown) => console.error(`${child.name} stop: ${(error as Error).message}`))));
  await launched.services?.stop({ keepLogs }).catch(() => undefined);
  if (!keepLogs) for (const file of launched.files) rmSync(file, { force: true });
}

/**
 * Runs `main` and exits with its code once everything it started is stopped. Whichever comes first of its end, its
 * failure and a signal decides the exit; what comes after changes nothing.
 */
export function runBenchmark(main: (control: RunControl) => Promise<number>): void {
  const launched: Launched = { processes: [], files: [], closers: [] };
  let keepLogs = false;
  let exiting = false;
  let stopping: Promise<void> | undefined;
  const exitAfterStop = (code: number): void => {
    if (exiting) return;
    exiting = true;
    if (code === 1) keepLogs = true;
    stopping ??= stopEverything(launched, keepLogs);
    void stopping.finally(() => process.exit(code));
  };
  const control: RunControl = {
    launched,
    exiting: () => exiting,
    track(child) {
      launched.processes.push(child);
      if (exiting) void child.stop();
    },
    adoptServices(services) {
      launched.services = services;
      if (exiting) void services.stop({ keepLogs });
    },
    setKeepLogs(keep) {
      keepLogs = keep;
    },
  };
  for (const [signal, code] of SIGNAL_EXIT_CODES) {
    process.on(signal, () => {
      if (exiting) return;
      console.error(`\n${signal}: stopping everything this benchmark started`);
      exitAfterStop(code);
    });
  }
  process.on('uncaughtException', (error) => {
    if (exiting) return;
    console.error(`benchmark failed: ${error.stack ?? String(error)}`);
    exitAfterStop(1);
  });
  main(control).then(
    (code) => exitAfterStop(code),
    (error: unknown) => {
      if (exiting) return;
      console.error(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
      const workerPeak = launched.sampler?.hwm('worker');
      // What was measured until then still counts: the memory of each process in each phase reached.
      if (launched.sampler) console.log(`\nResident memory (MB) until the failure:\n${launched.sampler.memoryReport()}`);
      console.log(`\nFAIL: ${(error as Error).message}${workerPeak === undefined ? '' : ` (worker peak RSS so far ${mb(workerPeak)} MB)`}`);
      exitAfterStop(1);
    },
  );
}
