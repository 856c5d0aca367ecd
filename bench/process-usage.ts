/**
 * CPU time and resident memory of a process and all its descendants, read from /proc (Linux). Benchmarks report
 * them per component (API, worker, Temporal, database); PostgreSQL, for one, forks a process per connection.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessUsage {
  cpuSeconds: number;
  residentBytes: number;
}

/** Linux's clock ticks per second for /proc's CPU times (USER_HZ), 100 on every common build. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

interface ProcessStat {
  pid: number;
  parent: number;
  ticks: number;
  residentPages: number;
}

export function processTreeUsage(rootPids: Iterable<number | undefined>): ProcessUsage {
  return usageOfTree(readProcessTable(), rootPids);
}

/**
 * Several trees from one reading of /proc, so that their figures are of the same moment: each root's usage, or
 * undefined for a root without a pid (a service this run did not start).
 */
export function processTreesUsage<K extends string>(roots: Record<K, number | undefined>): Record<K, ProcessUsage | undefined> {
  const table = readProcessTable();
  const entries = Object.entries<number | undefined>(roots).map(([name, pid]) => [name, pid === undefined ? undefined : usageOfTree(table, [pid])]);
  return Object.fromEntries(entries) as Record<K, ProcessUsage | undefined>;
}

/** CPU time of the whole machine so far (/proc/stat): busy seconds (all but idle and I/O wait) and all seconds, summed over its cores. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((sum, ticks) => sum + ticks, 0);
  const idle = fields[3]! + fields[4]!;
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

function readProcessTable(): ProcessStat[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(readStat)
    .filter((stat): stat is ProcessStat => stat !== undefined);
}

function usageOfTree(stats: ProcessStat[], rootPids: Iterable<number | undefined>): ProcessUsage {
  const inTree = new Set<number>([...rootPids].filter((pid): pid is number => pid !== undefined));
  for (let grew = true; grew; ) {
    grew = false;
    for (const stat of stats) {
      if (!inTree.has(stat.pid) && inTree.has(stat.parent)) {
        inTree.add(stat.pid);
        grew = true;
      }
    }
  }
  const tree = stats.filter((stat) => inTree.has(stat.pid));
  return {
    cpuSeconds: tree.reduce((sum, stat) => sum + stat.ticks, 0) / TICKS_PER_SECOND,
    residentBytes: tree.reduce((sum, stat) => sum + stat.residentPages, 0) * PAGE_BYTES,
  };
}

/** CPU time of one process alone (user + system, all its threads), in seconds; undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  const stat = readStat(String(pid));
  return stat === undefined ? undefined : stat.ticks / TICKS_PER_SECOND;
}

function readStat(pid: string): ProcessStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted from the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid: Number(pid), parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), residentPages: Number(fields[21]) };
  } catch {
    return undefined; // the process ended while the list was read
  }
}
