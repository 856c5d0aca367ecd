/**
 * The throughput issue's targets for the webhook path, judged on one run's figures. A scenario run at another size
 * than the target's is judged all the same, and says so; one not run is NOT RUN.
 */
import { ms } from './lib';
import { ackFigures, ackRate, allReadableAfterMs, holdsBack, missing, readableFigures, type CpuSpan, type Scenario } from './webhook-report';

export const TARGET = {
  concurrency: 16,
  ceilingShare: 0.5,
  peakRate: 500,
  peakAckP99Ms: 50,
  steadyRate: 200,
  steadySeconds: 60,
  steadyReadableP50Ms: 150,
  steadyReadableP99Ms: 1_000,
  batchSize: 1_000,
  batchReadableMs: 10_000,
} as const;

export interface RunFigures {
  ceiling?: Scenario;
  closed?: Scenario;
  steady?: Scenario;
  peak?: Scenario;
  batch?: Scenario;
  concurrency: number;
  steadySeconds: number;
}

interface Verdict {
  pass: boolean | undefined;
  target: string;
  measured: string;
  /** The CPU to explain a FAIL with. */
  span?: CpuSpan;
}

const sizeNote = (differs: boolean, asRun: string): string => (differs ? ` [run at ${asRun}, not the target's size]` : '');

function ceilingShare(run: RunFigures): Verdict {
  const target = `closed-loop acknowledgements (${TARGET.concurrency} in flight) ≥ ${TARGET.ceilingShare * 100} % of the ceiling's`;
  if (!run.ceiling || !run.closed) return { pass: undefined, target, measured: '' };
  const share = ackRate(run.closed.load) / ackRate(run.ceiling.load);
  const measured = `${ackRate(run.closed.load).toFixed(1)}/s = ${(100 * share).toFixed(1)} % of ${ackRate(run.ceiling.load).toFixed(1)}/s${sizeNote(run.concurrency !== TARGET.concurrency, `${run.concurrency} in flight`)}`;
  return { pass: share >= TARGET.ceilingShare, target, measured, span: run.closed.window };
}

function peakAck(run: RunFigures): Verdict {
  const target = `acknowledgement p99 ≤ ${TARGET.peakAckP99Ms} ms, open loop at ${TARGET.peakRate}/s`;
  if (!run.peak) return { pass: undefined, target, measured: '' };
  const ack = ackFigures(run.peak);
  const allAnswered = ack.count === run.peak.load.deliveries;
  const measured = `p99 ${ms(ack.p99)} ms${allAnswered ? '' : `, ${run.peak.load.deliveries - ack.count} not answered 200`}${sizeNote(run.peak.rate !== TARGET.peakRate, `${run.peak.rate}/s`)}`;
  return { pass: allAnswered && ack.p99 <= TARGET.peakAckP99Ms, target, measured, span: run.peak.window };
}

function steadyReadable(run: RunFigures): Verdict {
  const target = `at ${TARGET.steadyRate}/s for ${TARGET.steadySeconds} s: POST → readable p50 ≤ ${TARGET.steadyReadableP50Ms} ms, p99 ≤ ${TARGET.steadyReadableP99Ms} ms, none lost, every conversation in order`;
  const steady = run.steady;
  if (!steady?.inbox) return { pass: undefined, target, measured: '' };
  const readable = readableFigures(steady);
  const { duplicated, outOfOrder } = steady.inbox;
  const missingCount = Math.max(missing(steady), steady.inbox.missing);
  const sized = sizeNote(steady.rate !== TARGET.steadyRate || run.steadySeconds !== TARGET.steadySeconds, `${steady.rate}/s for ${run.steadySeconds} s`);
  const measured = `p50 ${ms(readable.p50)} ms, p99 ${ms(readable.p99)} ms; ${missingCount} missing, ${duplicated} duplicated, ${outOfOrder} conversations out of order${sized}`;
  const pass = readable.count > 0 && readable.p50 <= TARGET.steadyReadableP50Ms && readable.p99 <= TARGET.steadyReadableP99Ms && missingCount === 0 && duplicated === 0 && outOfOrder === 0;
  return { pass, target, measured, span: steady.whole };
}

function batchReadable(run: RunFigures): Verdict {
  const target = `a ${TARGET.batchSize.toLocaleString('en')}-entry delivery all readable within ${TARGET.batchReadableMs / 1000} s`;
  const batch = run.batch;
  if (!batch) return { pass: undefined, target, measured: '' };
  const entries = batch.load.messages.length;
  const after = allReadableAfterMs(batch);
  const missingCount = Math.max(missing(batch), batch.inbox?.missing ?? 0);
  const acknowledged = batch.load.ackMs.length === 1;
  const measured = `${acknowledged ? `${(after / 1000).toFixed(1)} s, ${missingCount} missing` : 'not acknowledged'}${sizeNote(entries !== TARGET.batchSize, `${entries} entries`)}`;
  return { pass: acknowledged && missingCount === 0 && after <= TARGET.batchReadableMs, target, measured, span: batch.whole };
}

/** Prints PASS, FAIL or NOT RUN for each target, a FAIL with what held it back; true when none failed. */
export function printTargets(run: RunFigures): boolean {
  console.log('\nTargets');
  const verdicts = [ceilingShare(run), peakAck(run), steadyReadable(run), batchReadable(run)];
  for (const verdict of verdicts) {
    const word = verdict.pass === undefined ? 'NOT RUN' : verdict.pass ? 'PASS' : 'FAIL';
    console.log(`  ${word.padEnd(7)} ${verdict.target}${verdict.measured ? `: ${verdict.measured}` : ''}`);
    if (verdict.pass === false && verdict.span) console.log(`          held back by ${holdsBack(verdict.span)}`);
  }
  return verdicts.every((verdict) => verdict.pass !== false);
}
