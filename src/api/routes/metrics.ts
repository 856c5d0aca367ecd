/**
 * `GET /metrics`: the API process's registry in Prometheus' text format. Served by hand, not declared with
 * `defineRoute`: its one check is the optional metrics token (METRICS_TOKEN), which is no manager's or operator's
 * key, so the declaration below only documents it.
 */
import { Router } from 'express';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { scrape } from '../../metrics/scrape';
import { errorBodySchema, HttpError } from '../errors';
import type { RouteDocumentation } from '../route-definitions';

export const metricsRouteDocs: RouteDocumentation[] = [
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: "This process's metrics, for Prometheus",
    description:
      'Webhook acknowledgement latency, events stored and held by kind, echoes recorded here, and Node process metrics. With the setting METRICS_TOKEN, send it as `Authorization: Bearer <token>`; without it the route is open.',
    tags: ['health'],
    auth: 'none',
    responses: {
      200: { description: "Prometheus' text exposition format (version 0.0.4)", contentType: 'text/plain', schema: z.string() },
      401: { description: 'Unauthenticated: a metrics token is configured and the request does not carry it', schema: errorBodySchema },
    },
  },
];

export interface MetricsRouterDeps {
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** Null: the route is open. */
  token: string | null;
}

export function createMetricsRouter(deps: MetricsRouterDeps): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    const answer = await scrape(deps.registry, req.get('authorization'), deps.token);
    if (answer.status === 401) throw new HttpError(401, 'Unauthenticated', answer.message);
    res.status(200).set('content-type', answer.contentType).send(answer.body);
  });
  return router;
}
