/**
 * roundTripProbeWorkflow: started by `POST /v1/diagnostics/round-trip` with signalWithStart; records each probe
 * signal in MongoDB through an activity, then ends when no probe arrived for a minute.
 */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { DiagnosticsActivities } from '../activities/diagnostics';

export interface ProbeSignal {
  probeId: string;
  requestedAt: number;
}

export const probeSignal = defineSignal<[ProbeSignal]>('probe');
export const recordedProbesQuery = defineQuery<string[]>('recordedProbes');

const { recordRoundTripProbe } = proxyActivities<DiagnosticsActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds' },
});

export async function roundTripProbeWorkflow(): Promise<{ recorded: string[] }> {
  const pending: ProbeSignal[] = [];
  const recorded: string[] = [];
  setHandler(probeSignal, (probe) => {
    pending.push(probe);
  });
  setHandler(recordedProbesQuery, () => [...recorded]);

  for (;;) {
    const probe = pending.shift();
    if (probe) {
      await recordRoundTripProbe({ ...probe, workflowId: workflowInfo().workflowId, runId: workflowInfo().runId });
      recorded.push(probe.probeId);
      continue;
    }
    if (!(await condition(() => pending.length > 0, '1 minute'))) return { recorded };
  }
}
