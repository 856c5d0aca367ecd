/**
 * The conversation workflow's 7-day window on the time-skipping test server: the durable timer fires after
 * 7 simulated days in seconds of real time. Activities are stubbed here (and only in workflow tests).
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { ConversationActivities, RecordedInboundEvent } from '../../src/activities/conversation-contract';
import { HUMAN_AGENT_WINDOW_MS } from '../../src/domain/window';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { conversationWorkflow, getConversationStatusQuery, inboundEventSignal } from '../../src/workflows/conversation';
import { createConversationStubs } from '../support/conversation-stubs';
import { createTimeSkippingEnvironment } from '../support/time-skipping';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('conversationWorkflow window', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnvironment();
  });

  afterAll(async () => {
    await env?.teardown();
  });

  function stubActivities(events: Map<string, RecordedInboundEvent>) {
    const { activities, log, windowMoves } = createConversationStubs(events);
    return { activities, closed: log.closed, recorded: log.recorded, windowMoves };
  }

  async function runWithWorker<T>(activities: ConversationActivities, body: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = `window-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities,
    });
    return worker.runUntil(body(taskQueue));
  }

  it('closes the conversation 7 days after the customer message, in seconds of real time', async () => {
    const startedAt = await env.currentTimeMs();
    const events = new Map([['m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' as const }]]);
    const { activities, closed, recorded } = stubActivities(events);
    const realStart = Date.now();

    const result = await runWithWorker(activities, async (taskQueue) => {
      const handle = await env.client.workflow.signalWithStart(conversationWorkflow, {
        workflowId: makeConversationWorkflowId('ig-1', `customer-${randomUUID()}`),
        taskQueue,
        args: [{ igAccountId: 'ig-1', igsid: 'customer-1', channelId: 'channel-1' }],
        signal: inboundEventSignal,
        signalArgs: [{ eventId: 'm1' }],
      });
      return handle.result();
    });

    const realElapsedMs = Date.now() - realStart;
    expect(recorded).toEqual(['m1']);
    expect(result).toMatchObject({ state: 'closed', windowClosesAt: startedAt + HUMAN_AGENT_WINDOW_MS, eventsRecorded: 1 });
    expect(result.conversationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(closed).toHaveLength(1);
    const close = closed[0]!;
    expect(close).toMatchObject({ conversationId: result.conversationId, igAccountId: 'ig-1', igsid: 'customer-1', closedAt: startedAt + HUMAN_AGENT_WINDOW_MS });
    // The durable timer fired 7 simulated days after the message (not earlier, and not a day late).
    expect(close.firedAt).toBeGreaterThanOrEqual(startedAt + HUMAN_AGENT_WINDOW_MS);
    expect(close.firedAt).toBeLessThan(startedAt + HUMAN_AGENT_WINDOW_MS + 60_000);
    process.stdout.write(`7-day window timer: ${((close.firedAt - startedAt) / DAY_MS).toFixed(3)} simulated days in ${realElapsedMs} ms of real time\n`);
  });

  it('extends the window with each customer message, and a late older one never shortens it', async () => {
    const startedAt = await env.currentTimeMs();
    const events = new Map<string, RecordedInboundEvent>([
      ['m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' }],
      ['m2', { kind: 'message', occurredAt: startedAt + 3 * DAY_MS, movesWindow: true, outcome: 'recorded' }],
      // Delivered after m2 but sent before it (Meta's timestamps decide, not arrival).
      ['late', { kind: 'message', occurredAt: startedAt + 1 * DAY_MS, movesWindow: true, outcome: 'recorded' }],
      // An echo of the business's reply does not move the window.
      ['echo', { kind: 'echo', occurredAt: startedAt + 4 * DAY_MS, movesWindow: false, outcome: 'recorded' }],
    ]);
    const { activities, closed, recorded } = stubActivities(events);

    const result = await runWithWorker(activities, async (taskQueue) => {
      const workflowId = makeConversationWorkflowId('ig-1', `customer-${randomUUID()}`);
      const start = { workflowId, taskQueue, args: [{ igAccountId: 'ig-1', igsid: 'customer-2', channelId: 'channel-1' }] as [{ igAccountId: string; igsid: string; channelId: string }] };
      const handle = await env.client.workflow.signalWithStart(conversationWorkflow, { ...start, signal: inboundEventSignal, signalArgs: [{ eventId: 'm1' }] });
      await env.sleep(3 * DAY_MS);
      await env.client.workflow.signalWithStart(conversationWorkflow, { ...start, signal: inboundEventSignal, signalArgs: [{ eventId: 'm2' }] });
      await env.client.workflow.signalWithStart(conversationWorkflow, { ...start, signal: inboundEventSignal, signalArgs: [{ eventId: 'late' }] });
      await env.sleep(1 * DAY_MS);
      await handle.signal(inboundEventSignal, { eventId: 'echo' });
      await env.sleep(1 * DAY_MS);
      const status = await handle.query(getConversationStatusQuery);
      expect(status).toMatchObject({ state: 'open', windowClosesAt: startedAt + 3 * DAY_MS + HUMAN_AGENT_WINDOW_MS, eventsRecorded: 4 });
      return handle.result();
    });

    expect(recorded).toEqual(['m1', 'm2', 'late', 'echo']);
    expect(result.state).toBe('closed');
    expect(result.windowClosesAt).toBe(startedAt + 3 * DAY_MS + HUMAN_AGENT_WINDOW_MS);
    expect(closed).toHaveLength(1);
    expect(closed[0]?.closedAt).toBe(startedAt + 10 * DAY_MS);
    expect(closed[0]?.firedAt).toBeGreaterThanOrEqual(startedAt + 10 * DAY_MS);
    expect(closed[0]?.firedAt).toBeLessThan(startedAt + 10 * DAY_MS + 60_000);
  });

  it('stays open when a customer message the ingress recorded moved the window, and closes 7 days after that one', async () => {
    const startedAt = await env.currentTimeMs();
    const events = new Map<string, RecordedInboundEvent>([['m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' }]]);
    const { activities, closed, recorded, windowMoves } = stubActivities(events);
    // Two days in, the customer wrote again; the ingress recorded it into the conversation's document only.
    const projectedAt = startedAt + 2 * DAY_MS;
    windowMoves.push({ windowClosesAt: projectedAt + HUMAN_AGENT_WINDOW_MS, lastCustomerMessageAt: projectedAt });

    const result = await runWithWorker(activities, async (taskQueue) => {
      const handle = await env.client.workflow.signalWithStart(conversationWorkflow, {
        workflowId: makeConversationWorkflowId('ig-1', `customer-${randomUUID()}`),
        taskQueue,
        args: [{ igAccountId: 'ig-1', igsid: 'customer-3', channelId: 'channel-1' }],
        signal: inboundEventSignal,
        signalArgs: [{ eventId: 'm1' }],
      });
      // The first timer fires at 7 days and finds the window moved: still open a day later, with the new window.
      await env.sleep(8 * DAY_MS);
      expect(await handle.query(getConversationStatusQuery)).toMatchObject({ state: 'open', windowClosesAt: projectedAt + HUMAN_AGENT_WINDOW_MS, lastCustomerMessageAt: projectedAt });
      expect(closed).toEqual([]);
      return handle.result();
    });

    expect(recorded).toEqual(['m1']);
    expect(result).toMatchObject({ state: 'closed', windowClosesAt: projectedAt + HUMAN_AGENT_WINDOW_MS });
    expect(closed).toHaveLength(1);
    expect(closed[0]?.closedAt).toBe(projectedAt + HUMAN_AGENT_WINDOW_MS);
    expect(closed[0]?.firedAt).toBeGreaterThanOrEqual(projectedAt + HUMAN_AGENT_WINDOW_MS);
    expect(closed[0]?.firedAt).toBeLessThan(projectedAt + HUMAN_AGENT_WINDOW_MS + 60_000);
  });
});
