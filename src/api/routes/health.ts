/** `/healthz`: the process is up. `/readyz`: its dependencies answer; 503 names each one that does not. */
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../route-definitions';

export interface DependencyCheck {
  name: string;
  check: () => Promise<void>;
}

const dependenciesSchema = z.record(z.string(), z.string()).describe('Each dependency: `up`, or `down: <why>`');

export function createHealthRoutes(checks: readonly DependencyCheck[]): RouteDefinition[] {
  const tags = ['health'];
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'The process is up',
      tags,
      auth: 'none',
      responses: { 200: { description: 'Up', schema: z.object({ status: z.literal('ok') }) } },
      handler: () => ({ status: 200, body: { status: 'ok' as const } }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      operationId: 'readiness',
      summary: 'MongoDB and Temporal answer',
      tags,
      auth: 'none',
      responses: {
        200: { description: 'Ready', schema: z.object({ status: z.literal('ready'), dependencies: dependenciesSchema }) },
        503: {
          description: 'DependencyDown: the message names each dependency that does not answer',
          schema: z.object({ status: z.literal('unavailable'), error: z.object({ type: z.literal('DependencyDown'), message: z.string() }), dependencies: dependenciesSchema }),
        },
      },
      handler: async () => {
        const results = await Promise.all(
          checks.map(async ({ name, check }) => {
            try {
              await check();
              return { name, ok: true as const };
            } catch (error) {
              return { name, ok: false as const, error: (error as Error).message };
            }
          }),
        );
        const down = results.filter((result) => !result.ok);
        const dependencies = Object.fromEntries(results.map((r) => [r.name, r.ok ? 'up' : `down: ${r.error}`]));
        if (down.length === 0) return { status: 200, body: { status: 'ready' as const, dependencies } };
        return {
          status: 503,
          body: { status: 'unavailable' as const, error: { type: 'DependencyDown' as const, message: `not reachable: ${down.map((d) => d.name).join(', ')}` }, dependencies },
        };
      },
    }),
  ];
}
