/**
 * The harness's proof: an API call signals-with-start a workflow on the real Temporal dev server, its activity
 * writes to the real database (mongo-java-server locally) through a mongoose model, and the API reads the result back.
 */
import { randomUUID } from 'node:crypto';
import { makeRoundTripProbeWorkflowId } from '../../src/temporal/names';
import { probeSignal, recordedProbesQuery, roundTripProbeWorkflow } from '../../src/workflows/diagnostics';
import { startEngine, terminateIfRunning, testConfig, type RunningEngine } from '../support/engine';

const OPERATOR_TOKEN = 'operator-token-for-round-trip-tests';
/** The diagnostics routes are the operators': their token (or any manager's key) goes with every call. */
const asOperator = (init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${OPERATOR_TOKEN}` } });

describe('round trip API → Temporal → worker → MongoDB → API', () => {
  let engine: RunningEngine;

  beforeAll(async () => {
    engine = await startEngine({ config: testConfig({ OPERATOR_TOKEN }) });
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
    const response = await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip`, asOperator({ method: 'POST' }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { probeId: string; workflowId: string; runId: string; roundTripMs: number };
    expect(body.workflowId).toBe(makeRoundTripProbeWorkflowId(engine.config.temporal.taskQueue));
    expect(body.roundTripMs).toBeGreaterThanOrEqual(0);

    // Written by the activity, not by the route.
    const stored = await engine.models.roundTripProbes.findOne({ probeId: body.probeId }).lean();
    expect(stored).toMatchObject({ probeId: body.probeId, workflowId: body.workflowId, runId: body.runId, attempts: 1 });

    const readBack = await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip/${body.probeId}`, asOperator());
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
    const first = (await (await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip`, asOperator({ method: 'POST' }))).json()) as { runId: string };
    const second = (await (await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip`, asOperator({ method: 'POST' }))).json()) as { runId: string };
    expect(second.runId).toBe(first.runId);
  });

  it('answers 404 naming an unknown probe', async () => {
    const response = await fetch(`${engine.baseUrl}/v1/diagnostics/round-trip/no-such-probe`, asOperator());
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { type: 'ProbeNotFound', message: 'no probe with id no-such-probe' } });
  });

  it('refuses a malformed body with 400 naming the problem', async () => {
    const badJson = await fetch(
      `${engine.baseUrl}/v1/diagnostics/round-trip`,
      asOperator({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"waitMs": ',
    }),
    );
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { type: string } }).error.type).toBe('InvalidJson');

    const wrongField = await fetch(
      `${engine.baseUrl}/v1/diagnostics/round-trip`,
      asOperator({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ waitMs: 'soon' }),
    }),
    );
    expect(wrongField.status).toBe(400);
    const error = ((await wrongField.json()) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('ValidationFailed');
    expect(error.message).toContain('body.waitMs');
  });
});

describe('the probe workflow continues as new', () => {
  let engine: RunningEngine;
  const workflowId = `diagnostics/round-trip/test-continue-${randomUUID()}`;

  beforeAll(async () => {
    engine = await startEngine({ config: testConfig({ OPERATOR_TOKEN }) });
  });

  afterAll(async () => {
    await terminateIfRunning(engine.temporal, workflowId);
    await engine.stop();
  });

  it('after its bound of probes, carrying the probes not recorded yet, so none is lost', async () => {
    const maxProbesPerRun = 3;
    const probeIds = Array.from({ length: maxProbesPerRun + 1 }, () => randomUUID());
    let firstRunId = '';
    for (const probeId of probeIds) {
      const handle = await engine.temporal.workflow.signalWithStart(roundTripProbeWorkflow, {
        workflowId,
        taskQueue: engine.config.temporal.taskQueue,
        args: [{ maxProbesPerRun }],
        signal: probeSignal,
        signalArgs: [{ probeId, requestedAt: Date.now() }],
      });
      firstRunId ||= handle.signaledRunId;
    }
    // Every probe is recorded: the first three by the first run, the last by the run that continued it.
    const recorded = await waitFor(async () => {
      const probes = await engine.models.roundTripProbes.find({ _id: { $in: probeIds } }).lean();
      return probes.length === probeIds.length ? probes : undefined;
    });
    const runs = new Set(recorded.map((probe) => probe.runId));
    expect(runs.size).toBe(2);
    expect(recorded.filter((probe) => probe.runId === firstRunId)).toHaveLength(maxProbesPerRun);

    const first = engine.temporal.workflow.getHandle(workflowId, firstRunId);
    expect((await first.describe()).status.name).toBe('CONTINUED_AS_NEW');
    const history = await first.fetchHistory();
    expect(history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    const current = await engine.temporal.workflow.getHandle(workflowId).describe();
    expect(current.runId).not.toBe(firstRunId);
    expect(current.status.name).toBe('RUNNING');
  });
});

/** Polls until `probe` answers something other than undefined (at most 20 s). */
async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('round trip without a worker', () => {
  let engine: RunningEngine;

  beforeAll(async () => {
    engine = await startEngine({ config: testConfig({ OPERATOR_TOKEN }), worker: false });
  });

  afterAll(async () => {
    await terminateIfRunning(engine.temporal, makeRoundTripProbeWorkflowId(engine.config.temporal.taskQueue));
    await engine.stop();
  });

  it('answers 504 saying the probe was not recorded in time', async () => {
    const response = await fetch(
      `${engine.baseUrl}/v1/diagnostics/round-trip`,
      asOperator({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ waitMs: 300 }),
    }),
    );
    expect(response.status).toBe(504);
    const error = ((await response.json()) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('ProbeNotRecorded');
    expect(error.message).toContain('is a worker running?');
  });
});
