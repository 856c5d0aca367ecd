/**
 * What the histories of a sample of a run's workflows say about the load: activities retried (an
 * ActivityTaskStarted's attempt above 1; the cause is its last failure, e.g. a start-to-close timeout) and workflow
 * tasks that timed out or failed. Read once the load is over.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { pool } from './lib';

export interface HistoryFindings {
  read: number;
  retriedActivities: number;
  extraAttempts: number;
  retryCauses: Map<string, number>;
  /** By timeout type: a sticky task the worker did not pick up in time is SCHEDULE_TO_START (then it goes to the normal queue). */
  workflowTaskTimeouts: Map<string, number>;
  workflowTaskFailures: number;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const increment = (counts: Map<string, number>, key: string): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1);
};

function noteEvent(findings: HistoryFindings, event: HistoryEvent): void {
  const started = event.activityTaskStartedEventAttributes;
  if (started && (started.attempt ?? 1) > 1) {
    findings.retriedActivities += 1;
    findings.extraAttempts += (started.attempt ?? 1) - 1;
    increment(findings.retryCauses, (started.lastFailure?.message ?? 'unknown').slice(0, 100));
  }
  const timedOut = event.workflowTaskTimedOutEventAttributes;
  if (timedOut) increment(findings.workflowTaskTimeouts, (temporal.api.enums.v1.TimeoutType[timedOut.timeoutType ?? 0] ?? 'unknown').replace('TIMEOUT_TYPE_', ''));
  if (event.workflowTaskFailedEventAttributes) findings.workflowTaskFailures += 1;
}

/** Reads the histories (the current run) of up to `sample` of the workflows, picked at random. */
export async function readHistories(client: Client, workflowIds: string[], sample: number): Promise<HistoryFindings> {
  const chosen = [...workflowIds].sort(() => Math.random() - 0.5).slice(0, sample);
  const findings: HistoryFindings = { read: 0, retriedActivities: 0, extraAttempts: 0, retryCauses: new Map(), workflowTaskTimeouts: new Map(), workflowTaskFailures: 0 };
  await pool(chosen.length, 8, async (index) => {
    const history = await client.workflow
      .getHandle(chosen[index]!)
      .fetchHistory()
      .catch(() => undefined);
    if (!history) return;
    findings.read += 1;
    for (const event of history.events ?? []) noteEvent(findings, event);
  });
  return findings;
}

/** The findings as printed lines. */
export function describeHistories(findings: HistoryFindings): string[] {
  const timeouts = [...findings.workflowTaskTimeouts].map(([type, count]) => `${count} ${type}`).join(', ') || '0';
  const lines = [
    `histories of ${findings.read} workflows: ${findings.retriedActivities} activities retried (${findings.extraAttempts} attempts beyond the first); workflow tasks timed out: ${timeouts}; failed: ${findings.workflowTaskFailures}`,
  ];
  for (const [cause, count] of findings.retryCauses) lines.push(`  retried after: ${cause} (${count})`);
  if (findings.workflowTaskTimeouts.has('SCHEDULE_TO_START')) {
    lines.push("  (SCHEDULE_TO_START: a task on the worker's sticky queue not taken within 10 s, then given to any worker: a busy worker or machine)");
  }
  return lines;
}
