/**
 * `npm run bench:databases`: which embedded database the local stack runs on, decided by measurement. Each candidate
 * that speaks MongoDB's wire protocol and installs from the project's scripts is started over a throw-away folder
 * and asked three things:
 *  - correct under concurrency: 50 connections `$inc` one document 100 times each; 50 upsert one key at once;
 *  - fast and cheap on the engine's access pattern (bench/database-probes.ts): deliveries a second, latency, and the
 *    database's own CPU seconds per 1,000 deliveries;
 *  - durable: writers insert, the database gets SIGKILL, starts again, and every acknowledged insert is looked for.
 * A candidate that cannot run here is listed with the reason. MONGODB_URI is ignored: this compares local servers.
 *
 * Flags: --deliveries N (2000), --in-flight N (16), --only TEXT (candidates whose name contains it).
 */
import { chmodSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { candidates, type Candidate } from './database-candidates';
import { probeConcurrency, probeKill, probeWorkload, type ConcurrencyResult, type KillResult, type WorkloadResult } from './database-probes';
import { describeMachine, ms, rate, table } from './lib';

interface Outcome {
  candidate: Candidate;
  concurrency?: ConcurrencyResult;
  workload?: WorkloadResult;
  kill?: KillResult;
  failure?: string;
}

async function measure(candidate: Candidate, workDir: string, deliveries: number, inFlight: number): Promise<Outcome> {
  const folder = (name: string): string => {
    const dir = path.join(workDir, `${candidate.name.replace(/[^a-z0-9]+/gi, '-')}-${name}`);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755); // PostgreSQL runs as its own user and must reach its folder
    return dir;
  };
  const outcome: Outcome = { candidate };
  try {
    const database = await candidate.start(folder('load'));
    try {
      outcome.concurrency = await probeConcurrency(database.uri);
      outcome.workload = await probeWorkload(database, deliveries, inFlight);
    } finally {
      await database.stop();
    }
    const killDir = folder('kill');
    outcome.kill = await probeKill(() => candidate.start(killDir));
  } catch (error) {
    outcome.failure = error instanceof Error ? error.message : String(error);
  }
  return outcome;
}

function verdict(outcome: Outcome): string {
  const problems: string[] = outcome.failure ? [`failed: ${outcome.failure}`] : [];
  if (!outcome.concurrency || !outcome.kill) return problems.join('; ');
  const c = outcome.concurrency;
  if (c.incrementsFound !== c.incrementsExpected) problems.push(`lost ${c.incrementsExpected - c.incrementsFound} of ${c.incrementsExpected} increments`);
  if (c.upsertDocuments !== 1 || c.upsertTotal !== c.upsertsExpected || c.upsertErrors.length > 0) {
    problems.push(`concurrent upserts: ${c.upsertDocuments} documents, total ${c.upsertTotal} of ${c.upsertsExpected}, ${c.upsertErrors.length} errors${c.upsertErrors[0] ? ` (${c.upsertErrors[0]})` : ''}`);
  }
  if (outcome.kill.lost > 0) problems.push(`SIGKILL lost ${outcome.kill.lost} of ${outcome.kill.acknowledged} acknowledged inserts`);
  return problems.length === 0 ? 'correct and durable' : problems.join('; ');
}

function report(outcomes: Outcome[], skipped: string[], deliveries: number, inFlight: number): void {
  console.log(`\nembedded databases, the engine's access pattern (${deliveries} deliveries, ${inFlight} in flight) on ${describeMachine()}\n`);
  const rows = outcomes
    .filter((o) => o.workload)
    .map((o) => {
      const w = o.workload!;
      return [
        o.candidate.name,
        rate(w.deliveries, w.elapsedMs),
        ms(w.latency.p50),
        ms(w.latency.p99),
        ((w.databaseCpuSeconds / w.deliveries) * 1000).toFixed(1),
        `${o.concurrency!.incrementsFound}/${o.concurrency!.incrementsExpected}`,
        `${o.concurrency!.upsertDocuments} doc, ${o.concurrency!.upsertErrors.length} err`,
        o.kill ? `${o.kill.lost}/${o.kill.acknowledged}` : '-',
      ];
    });
  console.log(table(['database', 'deliveries/s', 'p50 ms', 'p99 ms', 'db CPU s/1000', '$inc kept', 'upserts', 'lost on SIGKILL'], rows));
  console.log('');
  for (const outcome of outcomes) console.log(`${outcome.candidate.name}: ${verdict(outcome)}`);
  for (const line of skipped) console.log(line);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { deliveries: { type: 'string', default: '2000' }, 'in-flight': { type: 'string', default: '16' }, only: { type: 'string' } } });
  const deliveries = Number(values.deliveries);
  const inFlight = Number(values['in-flight']);
  if (!Number.isInteger(deliveries) || deliveries < 1 || !Number.isInteger(inFlight) || inFlight < 1) throw new Error('--deliveries and --in-flight take positive whole numbers');
  const chosen = candidates.filter((c) => values.only === undefined || c.name.toLowerCase().includes(values.only.toLowerCase()));
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'igdm-databases-'));
  chmodSync(workDir, 0o755);
  const outcomes: Outcome[] = [];
  const skipped: string[] = [];
  // The driver's timers do not hold the process: once a killed database's sockets are gone, nothing else would.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    for (const candidate of chosen) {
      const reason = candidate.unavailable();
      if (reason) {
        skipped.push(`${candidate.name}: skipped, ${reason}`);
        continue;
      }
      console.log(`measuring ${candidate.name} ...`);
      outcomes.push(await measure(candidate, workDir, deliveries, inFlight));
    }
    report(outcomes, skipped, deliveries, inFlight);
  } finally {
    clearInterval(keepAlive);
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
