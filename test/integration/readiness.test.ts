/** `/readyz` names each dependency that does not answer; `/healthz` only says the process is up. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { createDatabaseConnection } from '../../src/db/connection';
import { createModels } from '../../src/db/models';
import { createLogger } from '../../src/logger';
import { createInboundDispatcher } from '../../src/inbound/dispatcher';
import { createApiMetrics } from '../../src/metrics/engine-metrics';
import { createTemporalAccess } from '../../src/temporal/client';
import { findFreePort } from '../../scripts/lib/processes';
import { testConfig } from '../support/engine';

describe('readiness with dependencies down', () => {
  let server: Server;
  let baseUrl: string;
  let closeTemporal: () => Promise<void>;

  beforeAll(async () => {
    const deadPort = await findFreePort();
    const config = testConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${deadPort}` });
    const database = createDatabaseConnection(); // never opened: the database is "down"
    const temporal = createTemporalAccess(config.temporal);
    closeTemporal = () => temporal.close();
    const models = createModels(database);
    const logger = createLogger({ write: () => undefined });
    const metrics = createApiMetrics();
    const dispatcher = createInboundDispatcher({ models, temporal: temporal.client, taskQueue: config.temporal.taskQueue, logger, metrics });
    const app = createApp({ config, logger, temporal, database, models, dispatcher, metrics });
    server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await closeTemporal();
  });

  it('answers /healthz 200 while dependencies are down', async () => {
    const response = await fetch(`${baseUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 503 naming MongoDB and Temporal', async () => {
    const response = await fetch(`${baseUrl}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { type: string; message: string }; dependencies: Record<string, string> };
    expect(body.error).toEqual({ type: 'DependencyDown', message: 'not reachable: mongodb, temporal' });
    expect(body.dependencies.mongodb).toMatch(/^down: /);
    expect(body.dependencies.temporal).toMatch(/^down: /);
  });

  it('answers an unknown route with 404 naming it', async () => {
    const response = await fetch(`${baseUrl}/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { type: 'NotFound', message: 'no route for GET /nothing-here' } });
  });
});
