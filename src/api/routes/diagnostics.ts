/**
 * `POST /v1/diagnostics/round-trip`: proves the whole path at once. It signals-with-start the probe workflow,
 * whose activity writes to MongoDB; the route then reads that document back and answers with it.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import type { Models } from '../../db/models';
import { sleep } from '../../async';
import { makeRoundTripProbeWorkflowId } from '../../temporal/names';
import { probeSignal, roundTripProbeWorkflow } from '../../workflows/diagnostics';
import { HttpError, validationError } from '../errors';

const roundTripBody = z.object({ waitMs: z.number().int().min(0).max(30000).default(10000) }).strict();

export interface DiagnosticsRouterDeps {
  temporal: Client;
  taskQueue: string;
  models: Pick<Models, 'roundTripProbes'>;
  temporalUiUrl: string;
  namespace: string;
}

export function createDiagnosticsRouter(deps: DiagnosticsRouterDeps): Router {
  const router = Router();

  router.post('/v1/diagnostics/round-trip', async (req, res) => {
    const parsed = roundTripBody.safeParse(req.body ?? {});
    if (!parsed.success) throw validationError(parsed.error, 'body');
    const probeId = randomUUID();
    const requestedAt = Date.now();
    try {
      await deps.temporal.workflow.signalWithStart(roundTripProbeWorkflow, {
        workflowId: makeRoundTripProbeWorkflowId(deps.taskQueue),
        taskQueue: deps.taskQueue,
        signal: probeSignal,
        signalArgs: [{ probeId, requestedAt }],
      });
    } catch (error) {
      throw new HttpError(503, 'TemporalUnavailable', `could not signal the probe workflow: ${(error as Error).message}`);
    }
    const deadline = requestedAt + parsed.data.waitMs;
    for (;;) {
      const probe = await deps.models.roundTripProbes.findOne({ probeId }).lean();
      if (probe) {
        res.json({
          probeId,
          workflowId: probe.workflowId,
          runId: probe.runId,
          recordedAt: probe.recordedAt.toISOString(),
          roundTripMs: Date.now() - requestedAt,
          temporalUi: `${deps.temporalUiUrl}/namespaces/${deps.namespace}/workflows/${encodeURIComponent(probe.workflowId)}`,
        });
        return;
      }
      if (Date.now() >= deadline) {
        throw new HttpError(504, 'ProbeNotRecorded', `probe ${probeId} was signalled but not recorded within ${parsed.data.waitMs} ms: is a worker running?`);
      }
      await sleep(50);
    }
  });

  router.get('/v1/diagnostics/round-trip/:probeId', async (req, res) => {
    const probe = await deps.models.roundTripProbes.findOne({ probeId: req.params.probeId }).lean();
    if (!probe) throw new HttpError(404, 'ProbeNotFound', `no probe with id ${req.params.probeId}`);
    res.json({ probeId: probe.probeId, workflowId: probe.workflowId, runId: probe.runId, attempts: probe.attempts, recordedAt: probe.recordedAt.toISOString() });
  });

  return router;
}
