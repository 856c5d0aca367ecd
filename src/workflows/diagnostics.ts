/**
 * roundTripProbeWorkflow: started by `POST /v1/diagnostics/round-trip` with signalWithStart; records each probe
 * signal in MongoDB through an activity, then ends when no probe arrived for a minute. It continues as new after a
 * bounded number of probes (or when Temporal suggests it), so a busy probe never grows one history without end.
 */
import { allHandlersFinished, condition, continueAsNew, defineQuery, defineSignal, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { DiagnosticsActivities } from '../activities/diagnostics';

export interface ProbeSignal {
  probeId: string;
  requestedAt: number;
}

export interface RoundTripProbeInput {
  /** Probes recorded by one run before it continues as new (about a dozen history events each). */
  maxProbesPerRun?: number;
  /** Probes signalled to the previous run that it had not recorded yet. */
  pending?: ProbeSignal[];
}

/** 100 probes make about 1,200 events: far below Temporal's limits, and quick to replay. */
export const DEFAULT_MAX_PROBES_PER_RUN = 100;

export const probeSignal = defineSignal<[ProbeSignal]>('probe');
/** The probes this run recorded. */
export const recordedProbesQuery = defineQuery<string[]>('recordedProbes');

const { recordRoundTripProbe } = proxyActivities<DiagnosticsActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds' },
});

export async function roundTripProbeWorkflow(input: RoundTripProbeInput = {}): Promise<{ recorded: string[] }> {
  const maxProbesPerRun = input.maxProbesPerRun ?? DEFAULT_MAX_PROBES_PER_RUN;
  const pending: ProbeSignal[] = [...(input.pending ?? [])];
  const recorded: string[] = [];
  setHandler(probeSignal, (probe) => {
    pending.push(probe);
  });
  setHandler(recordedProbesQuery, () => [...recorded]);

  for (;;) {
    // Patched: a run started by the code before this check replays without it.
    if (patched('round-trip-probe-continue-as-new') && (recorded.length >= maxProbesPerRun || workflowInfo().continueAsNewSuggested)) {
      await condition(allHandlersFinished);
      // Only the bound and the probes not recorded yet go on: the ids recorded are in MongoDB and in this history.
      return continueAsNew<typeof roundTripProbeWorkflow>({ maxProbesPerRun, pending: [...pending] });
    }
    const probe = pending.shift();
    if (probe) {
      await recordRoundTripProbe({ ...probe, workflowId: workflowInfo().workflowId, runId: workflowInfo().runId });
      recorded.push(probe.probeId);
      continue;
    }
    if (!(await condition(() => pending.length > 0, '1 minute'))) return { recorded };
  }
}
