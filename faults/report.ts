/**
 * The fault suite's printout: what each fault did to the stack, then the counts per phase and in total, inbound
 * (webhooks to messages) and outbound (replies to Meta), then every violation found. Zero violations is a pass.
 */
import { table } from '../bench/lib';
import { totalOf, violationCounts, type PhaseCounts } from './checks';
import type { SuiteResult } from './suite';

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

function inboundRow(name: string, counts: PhaseCounts): string[] {
  return [name, counts.dmsSent, counts.acknowledged, counts.storedOnce, counts.echoesAcknowledged, counts.lost, counts.duplicated, counts.orderViolations].map(String);
}

function outboundRow(name: string, counts: PhaseCounts): string[] {
  return [
    name,
    counts.repliesAccepted,
    counts.deliveredOnce,
    counts.failedWithReason,
    counts.unknown,
    counts.sendRetries,
    counts.sendsDuplicated,
    counts.sendsLost,
    counts.unsettled,
    counts.sendOrderViolations,
    counts.repliesRefused,
    counts.repliesUnanswered,
  ].map(String);
}

/** Every violation count of the final check, summed: 0 is a pass. */
export function violationTotal(result: SuiteResult): number {
  const total = totalOf(result.final.counts.values());
  return violationCounts.reduce((sum, key) => sum + total[key], 0) + result.violations.length + result.unexpectedExits.length;
}

export function formatReport(result: SuiteResult): string {
  const faults = table(
    ['phase', 'what was done', 'deliveries', 'copies', 'refused attempts', 'out of order', 'settled in s', 'phase s'],
    result.phases.map((phase) => [
      phase.name,
      phase.disruption.description,
      String(phase.deliveries.deliveries),
      String(phase.deliveries.copies),
      String(phase.deliveries.refusedAttempts),
      String(phase.deliveries.reordered),
      phase.settled ? seconds(phase.drainMs) : `NOT (${seconds(phase.drainMs)})`,
      seconds(phase.durationMs),
    ]),
  );
  const rowsOf = (row: (name: string, counts: PhaseCounts) => string[]): string[][] => {
    const perPhase = result.phases.map((phase) => row(phase.name, phase.counts));
    return [...perPhase, row('all, checked again at the end', totalOf(result.final.counts.values()))];
  };
  const inbound = table(['inbound (webhooks)', 'DMs sent', 'acknowledged', 'stored once', 'echoes acked', 'lost', 'duplicated', 'order violations'], rowsOf(inboundRow));
  const outbound = table(
    ['outbound (replies)', 'accepted', 'delivered once', 'failed w/ reason', 'unknown', 'retries', 'duplicated', 'lost', 'unsettled', 'order violations', 'refused', 'unanswered'],
    rowsOf(outboundRow),
  );
  const reasons = [...result.final.reasons].map(([reason, count]) => `  ${reason} (${count})`);
  const failures = [...result.unexpectedExits, ...result.violations];
  const verdict = violationTotal(result) === 0 ? 'PASS: 0 violations' : `FAIL: ${violationTotal(result)} violations`;
  return [
    'faults',
    faults,
    '',
    inbound,
    '',
    outbound,
    '',
    ...(reasons.length > 0 ? ['replies not sent, by reason:', ...reasons, ''] : []),
    ...(failures.length > 0 ? ['violations:', ...failures.map((line) => `  ${line}`), ''] : []),
    `${verdict} in ${seconds(result.durationMs)} s`,
  ].join('\n');
}
