/**
 * `POST /v1/diagnostics/round-trip`: proves the whole path at once. It signals-with-start the probe workflow,
 * whose activity writes to MongoDB; the route then reads that document back and answers with it.
 * Operators' routes: the operator token or any manager's key.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { sleep } from '../../async';
import type { Models } from '../../db/models';
import { makeRoundTripProbeWorkflowId } from '../../temporal/names';
import { probeSignal, roundTripProbeWorkflow } from '../../workflows/diagnostics';
import { HttpError } from '../errors';
import { defineRoute, errorResponse, type RouteDefinition } from '../route-definitions';

export interface DiagnosticsRoutesDeps {
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  models: Pick<Models, 'roundTripProbes'>;
  temporalUiUrl: string;
  namespace: string;
}

const roundTripBody = z.object({ waitMs: z.number().int().min(0).max(30000).default(10000).describe('How long to wait for the worker to record the probe') }).strict();

const roundTripAnswer = z.object({
  probeId: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  recordedAt: z.iso.datetime(),
  roundTripMs: z.number().int().min(0),
  temporalUi: z.string().describe('The probe workflow in the Temporal UI'),
});

const probeAnswer = z.object({ probeId: z.string(), workflowId: z.string(), runId: z.string(), attempts: z.number().int(), recordedAt: z.iso.datetime() });

export function createDiagnosticsRoutes(deps: DiagnosticsRoutesDeps): RouteDefinition[] {
  const tags = ['diagnostics'];
  const readProbe = (probeId: string) => deps.models.roundTripProbes.findOne({ _id: probeId }).lean();

  return [
    defineRoute({
      method: 'post',
      path: '/v1/diagnostics/round-trip',
      operationId: 'roundTrip',
      summary: 'API → Temporal → worker → MongoDB → API, in one call',
      description: 'Signals-with-start the probe workflow of this task queue; its activity records the probe in MongoDB, and the answer reads it back.',
      tags,
      auth: 'operatorOrManager',
      body: { required: false, json: roundTripBody },
      responses: {
        200: { description: 'The probe, recorded by the worker', schema: roundTripAnswer },
        503: errorResponse('TemporalUnavailable: the probe workflow could not be signalled'),
        504: errorResponse('ProbeNotRecorded: signalled, but no worker recorded it in time'),
      },
      handler: async ({ body }) => {
        const probeId = randomUUID();
        const requestedAt = Date.now();
        try {
          await deps.temporal.workflow.signalWithStart(roundTripProbeWorkflow, {
            workflowId: makeRoundTripProbeWorkflowId(deps.taskQueue),
            taskQueue: deps.taskQueue,
            args: [{}],
            signal: probeSignal,
            signalArgs: [{ probeId, requestedAt }],
          });
        } catch (error) {
          throw new HttpError(503, 'TemporalUnavailable', `could not signal the probe workflow: ${(error as Error).message}`);
        }
        const deadline = requestedAt + body.waitMs;
        for (;;) {
          const probe = await readProbe(probeId);
          if (probe) {
            return {
              status: 200,
              body: {
                probeId,
                workflowId: probe.workflowId,
                runId: probe.runId,
                recordedAt: probe.recordedAt.toISOString(),
                roundTripMs: Date.now() - requestedAt,
                temporalUi: `${deps.temporalUiUrl}/namespaces/${deps.namespace}/workflows/${encodeURIComponent(probe.workflowId)}`,
              },
            };
          }
          if (Date.now() >= deadline) {
            throw new HttpError(504, 'ProbeNotRecorded', `probe ${probeId} was signalled but not recorded within ${body.waitMs} ms: is a worker running?`);
          }
          await sleep(50);
        }
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/diagnostics/round-trip/:probeId',
      operationId: 'getRoundTripProbe',
      summary: 'A probe recorded earlier',
      tags,
      auth: 'operatorOrManager',
      params: z.object({ probeId: z.string().min(1) }),
      responses: {
        200: { description: 'The probe', schema: probeAnswer },
        404: errorResponse('ProbeNotFound: no probe with this id'),
      },
      handler: async ({ params }) => {
        const probe = await readProbe(params.probeId);
        if (!probe) throw new HttpError(404, 'ProbeNotFound', `no probe with id ${params.probeId}`);
        return { status: 200, body: { probeId: probe.probeId, workflowId: probe.workflowId, runId: probe.runId, attempts: probe.attempts, recordedAt: probe.recordedAt.toISOString() } };
      },
    }),
  ];
}
