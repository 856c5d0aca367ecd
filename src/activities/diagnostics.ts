/** Activities of the round-trip probe: the smallest real path through Temporal and MongoDB. */
import type { Models } from '../db/models';

export interface RecordProbeInput {
  probeId: string;
  requestedAt: number;
  workflowId: string;
  runId: string;
}

export function createDiagnosticsActivities(deps: { models: Pick<Models, 'roundTripProbes'> }) {
  return {
    /** Idempotent: a retried attempt overwrites the same document, whose `_id` is the probeId. */
    async recordRoundTripProbe(input: RecordProbeInput): Promise<{ recordedAt: number }> {
      const recordedAt = new Date();
      await deps.models.roundTripProbes.updateOne(
        { _id: input.probeId },
        {
          $set: {
            probeId: input.probeId,
            workflowId: input.workflowId,
            runId: input.runId,
            requestedAt: new Date(input.requestedAt),
            recordedAt,
          },
          $inc: { attempts: 1 },
        },
        { upsert: true },
      );
      return { recordedAt: recordedAt.getTime() };
    },
  };
}

export type DiagnosticsActivities = ReturnType<typeof createDiagnosticsActivities>;
