/**
 * The harness's proof: an API call signals-with-start a workflow on the real Temporal dev server, its activity
 * writes to the real database (FerretDB locally) through a mongoose model, and the API reads the result back.
 */
import { makeRoundTripProbeWorkflowId } from '../../src/temporal/names';
import { recordedProbesQuery } from '../../src/workflows/diagnostics';
import { startEngine, terminateIfRunning, type RunningEngine } from '../support/engine';

describe('round trip API → Temporal → worker → MongoDB → API', () => {
  let engine: RunningEngine;

  beforeAll(async () => {
    engine = await startEngine();
  });

  afterAll(async () => {
    await engine.stop();
  });

  it('is ready when MongoDB and Temporal answer', async () => {
    const response = await fetch(`${engine.baseUrl}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', dependencies: { mongodb: 'up', temporal: 'up' } });
  });

  it('records a probe through the workflow and reads it back', async () => {
    const response = await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip`, { method: 'POST' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { probeId: string; workflowId: string; runId: string; roundTripMs: number };
    expect(body.workflowId).toBe(makeRoundTripProbeWorkflowId(engine.config.temporal.taskQueue));
    expect(body.roundTripMs).toBeGreaterThanOrEqual(0);

    // Written by the activity, not by the route.
    const stored = await engine.models.roundTripProbes.findOne({ probeId: body.probeId }).lean();
    expect(stored).toMatchObject({ probeId: body.probeId, workflowId: body.workflowId, runId: body.runId, attempts: 1 });

    const readBack = await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip/${body.probeId}`);
    expect(readBack.status).toBe(200);
    expect(await readBack.json()).toMatchObject({ probeId: body.probeId, runId: body.runId });

    // The workflow that did it is on the server, as an operator would find it in the UI.
    const handle = engine.temporal.workflow.getHandle(body.workflowId);
    const description = await handle.describe();
    expect(description.type).toBe('roundTripProbeWorkflow');
    expect(description.taskQueue).toBe(engine.config.temporal.taskQueue);
    expect(await handle.query(recordedProbesQuery)).toContain(body.probeId);
  });

  it('sends further probes to the running workflow instead of starting another', async () => {
    const first = (await (await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip`, { method: 'POST' })).json()) as { runId: string };
    const second = (await (await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip`, { method: 'POST' })).json()) as { runId: string };
    expect(second.runId).toBe(first.runId);
  });

  it('answers 404 naming an unknown probe', async () => {
    const response = await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip/no-such-probe`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { type: 'ProbeNotFound', message: 'no probe with id no-such-probe' } });
  });

  it('refuses a malformed body with 400 naming the problem', async () => {
    const badJson = await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"waitMs": ',
    });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { type: string } }).error.type).toBe('InvalidJson');

    const wrongField = await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ waitMs: 'soon' }),
    });
    expect(wrongField.status).toBe(400);
    const error = ((await wrongField.json()) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('ValidationFailed');
    expect(error.message).toContain('body.waitMs');
  });
});

describe('round trip without a worker', () => {
  let engine: RunningEngine;

  beforeAll(async () => {
    engine = await startEngine({ worker: false });
  });

  afterAll(async () => {
    await terminateIfRunning(engine.temporal, makeRoundTripProbeWorkflowId(engine.config.temporal.taskQueue));
    await engine.stop();
  });

  it('answers 504 saying the probe was not recorded in time', async () => {
    const response = await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ waitMs: 300 }),
    });
    expect(response.status).toBe(504);
    const error = ((await response.json()) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('ProbeNotRecorded');
    expect(error.message).toContain('is a worker running?');
  });
});
