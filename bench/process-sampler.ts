/**
 * Resident memory and CPU time of the processes a benchmark watches (the worker, the Temporal server, the database,
 * itself), read from /proc (Linux). VmRSS is sampled through each phase of the run for its peak; VmHWM is the
 * kernel's own peak over the process's life; the CPU time each phase cost each process comes from process-usage.ts.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { table } from './lib';
import { processCpuSeconds } from './process-usage';

export interface ProcessMemory {
  rssBytes: number;
  hwmBytes: number;
}

/** A process to watch; `pid` is undefined for a service elsewhere (not on this machine). */
export interface Target {
  name: string;
  pid: number | undefined;
}

export const mb = (bytes: number | undefined): string => (bytes === undefined || Number.isNaN(bytes) ? '-' : (bytes / 2 ** 20).toFixed(0));

/** VmRSS and VmHWM of a process, or undefined once it is gone. */
export function readMemory(pid: number | undefined): ProcessMemory | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** The current VmRSS of each watched process, for a one-line printout. */
export function memoryNow(targets: Target[]): string {
  return targets
    .filter((target) => target.pid !== undefined)
    .map((target) => `${target.name} ${mb(readMemory(target.pid)?.rssBytes)} MB`)
    .join(', ');
}

/** The inodes of the sockets listening on a TCP port, from the kernel's socket tables. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket's inode.
      if (fields[3] === '0A' && Number.parseInt(fields[1]?.split(':')[1] ?? '', 16) === port && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** The process listening on a loopback TCP port (a service named by the environment), found through /proc. */
function pidListeningOn(port: number): number | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return Number(entry);
      }
    } catch {
      // Another user's process, or one that just ended.
    }
  }
  return undefined;
}

/** The local process behind a service address the environment named (`host:port` or a mongodb:// URI), if any. */
export function pidOn(address: string, defaultPort: number): number | undefined {
  try {
    const url = new URL(address.includes('://') ? address : `tcp://${address}`);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return undefined;
    return pidListeningOn(Number(url.port || defaultPort));
  } catch {
    return undefined;
  }
}

export interface ProcessSampler<P extends string> {
  /** Ends the current phase (its length and CPU time) and starts `next`. */
  enter(next: P): void;
  stop(): void;
  /** The kernel's peak RSS of a process so far (read now, or the last one read before it ended). */
  hwm(name: string): number | undefined;
  /** Peak RSS of each process in each phase, and its VmHWM, in MB. */
  memoryReport(): string;
  /** CPU seconds each process used in each phase, and the share of one core that is. */
  cpuReport(): string;
}

/** Samples the RSS of some processes every `intervalMs`, keeping the peak of each phase, and the CPU time each phase cost them. */
export function createProcessSampler<P extends string>(targets: Target[], phases: readonly P[], intervalMs: number): ProcessSampler<P> {
  let phase: P = phases[0]!;
  let phaseBegan = performance.now();
  const peaks = new Map<string, Map<P, number>>(targets.map((target) => [target.name, new Map()]));
  const cpu = new Map<string, Map<P, number>>(targets.map((target) => [target.name, new Map()]));
  const cpuAtPhaseStart = new Map<string, number>();
  const phaseSeconds = new Map<P, number>();
  const hwm = new Map<string, number>();

  const sample = (): void => {
    for (const { name, pid } of targets) {
      const memory = readMemory(pid);
      if (!memory) continue;
      const byPhase = peaks.get(name)!;
      byPhase.set(phase, Math.max(byPhase.get(phase) ?? 0, memory.rssBytes));
      hwm.set(name, memory.hwmBytes);
    }
  };
  const readCpu = (): void => {
    for (const { name, pid } of targets) {
      const now = pid === undefined ? undefined : processCpuSeconds(pid);
      if (now === undefined) continue;
      const before = cpuAtPhaseStart.get(name);
      if (before !== undefined) cpu.get(name)!.set(phase, now - before);
      cpuAtPhaseStart.set(name, now);
    }
  };
  const closePhase = (): void => {
    phaseSeconds.set(phase, (performance.now() - phaseBegan) / 1000);
    readCpu();
  };

  readCpu();
  sample();
  const timer = setInterval(sample, intervalMs);
  let stopped = false;
  return {
    enter(next) {
      if (stopped) return;
      sample();
      closePhase();
      phase = next;
      phaseBegan = performance.now();
      sample();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      sample();
      closePhase();
      clearInterval(timer);
    },
    hwm(name) {
      const target = targets.find((candidate) => candidate.name === name);
      return readMemory(target?.pid)?.hwmBytes ?? hwm.get(name);
    },
    memoryReport() {
      const rows = targets.map(({ name, pid }) => {
        if (pid === undefined) return [name, ...phases.map(() => '-'), '-'];
        const byPhase = peaks.get(name)!;
        return [name, ...phases.map((p) => mb(byPhase.get(p))), mb(hwm.get(name))];
      });
      return table(['process', ...phases, 'VmHWM'], rows);
    },
    cpuReport() {
      const cell = (name: string, p: P): string => {
        const used = cpu.get(name)?.get(p);
        const elapsed = phaseSeconds.get(p);
        return used === undefined || !elapsed ? '-' : `${used.toFixed(1)} s ${Math.round((100 * used) / elapsed)} %`;
      };
      const rows = targets.map(({ name }) => [name, ...phases.map((p) => cell(name, p))]);
      rows.push(['phase length, s', ...phases.map((p) => (phaseSeconds.has(p) ? phaseSeconds.get(p)!.toFixed(0) : '-'))]);
      return table(['process', ...phases], rows);
    },
  };
}
