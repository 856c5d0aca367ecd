/** `/healthz`: the process is up. `/readyz`: its dependencies answer; 503 names each one that does not. */
import { Router } from 'express';

export interface DependencyCheck {
  name: string;
  check: () => Promise<void>;
}

export function createHealthRouter(checks: DependencyCheck[]): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
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
    if (down.length === 0) {
      res.json({ status: 'ready', dependencies });
    } else {
      res.status(503).json({
        status: 'unavailable',
        error: { type: 'DependencyDown', message: `not reachable: ${down.map((d) => d.name).join(', ')}` },
        dependencies,
      });
    }
  });
  return router;
}
