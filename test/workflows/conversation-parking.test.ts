/**
 * Parked events in the conversation workflow, on the time-skipping test server: an event that cannot be recorded is
 * parked with how many attempts it took, is not remembered, so its replay (a new dispatch of the same event) is
 * recorded; a second dispatch that comes while the event is being recorded is not queued behind it. Activities are
 * stubbed (this layer only); failures go through the engine's real failure mapping.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { ActivityError } from '../../src/activities/failures';
import { FailureType } from '../../src/temporal/failures';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { conversationWorkflow, getConversationStatusQuery, inboundEventSignal } from '../../src/workflows/conversation';
import { createConversationStubs, type ConversationStubs } from '../support/conversation-stubs';
import { createTimeSkippingEnvironment } from '../support/time-skipping';
import { waitUntil } from '../support/poll';

jest.setTimeout(180_000);

const MINUTE_MS = 60 * 1000;

describe('conversationWorkflow parked events', () => {
  let env: TestWorkflowEnvironment;

  // One test server per test, as in the outbox tests: time skipping is global to a server.
  beforeEach(async () => {
    env = await createTimeSkippingEnvironment();
  });

  afterEach(async () => {
    await env?.teardown();
  });

  /** Polls until the worker has done what the test waits for. */
  const waitFor = (probe: () => Promise<boolean> | boolean): Promise<void> => waitUntil(probe);

  async function withWorker<T>(stubs: ConversationStubs, taskQueue: string, body: () => Promise<T>): Promise<T> {
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../src/workflows'), activities: stubs.activities, maxCachedWorkflows: 0 });
    return worker.runUntil(body());
  }

  /** A conversation whose customer wrote at the server's current time (event `m1`), with `m2` a minute later ready. */
  async function openConversation(stubs: ConversationStubs, taskQueue: string): Promise<WorkflowHandle<typeof conversationWorkflow>> {
    const startedAt = await env.currentTimeMs();
    stubs.events.set('m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' });
    stubs.events.set('m2', { kind: 'message', occurredAt: startedAt + MINUTE_MS, movesWindow: true, outcome: 'recorded' });
    stubs.events.set('poison', { kind: 'message', occurredAt: startedAt + MINUTE_MS / 2, movesWindow: true, outcome: 'recorded' });
    const handle = await env.client.workflow.signalWithStart(conversationWorkflow, {
      workflowId: makeConversationWorkflowId('ig-1', `customer-${randomUUID()}`),
      taskQueue,
      args: [{ igAccountId: 'ig-1', igsid: 'customer-1', channelId: 'channel-1' }],
      signal: inboundEventSignal,
      signalArgs: [{ eventId: 'm1' }],
    });
    await waitFor(async () => (await handle.query(getConversationStatusQuery)).eventsRecorded === 1);
    return handle;
  }

  const attemptsAt = (stubs: ConversationStubs, eventId: string): number => stubs.log.recordAttempts.filter((id) => id === eventId).length;

  it('parks an event with its attempts and reason, and records it when it is dispatched again (its replay)', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `parking-${randomUUID()}`;
    await withWorker(stubs, taskQueue, async () => {
      const handle = await openConversation(stubs, taskQueue);
      // Two failures worth retrying, then a refusal: parked after the third attempt.
      stubs.recordScript.set('poison', [new Error('the database did not answer'), new Error('the database did not answer'), new ActivityError(FailureType.AccountNotActive, 'Instagram account ig-1 is not linked to any channel')]);
      await handle.signal(inboundEventSignal, { eventId: 'poison' });
      await handle.signal(inboundEventSignal, { eventId: 'm2' });
      await waitFor(() => stubs.log.recorded.includes('m2'));
      expect(stubs.log.parks).toEqual([{ eventId: 'poison', reason: 'Instagram account ig-1 is not linked to any channel', attempts: 3 }]);

      // The cause is gone; the replay dispatches the same event again, and this time it is recorded.
      await handle.signal(inboundEventSignal, { eventId: 'poison' });
      await waitFor(() => stubs.log.recorded.includes('poison'));
      const status = await handle.query(getConversationStatusQuery);
      expect(status).toMatchObject({ state: 'open', eventsRecorded: 3 });
      // Recorded now, so remembered: one more dispatch of it is ignored.
      await handle.signal(inboundEventSignal, { eventId: 'poison' });
      await handle.signal(inboundEventSignal, { eventId: 'm2' });
      expect((await handle.query(getConversationStatusQuery)).eventsRecorded).toBe(3);
    });
    expect(stubs.log.recorded).toEqual(['m1', 'm2', 'poison']);
    expect(attemptsAt(stubs, 'poison')).toBe(4);
  });

  it('does not queue a second dispatch of the event being recorded: it is tried once over and parked once', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `parking-${randomUUID()}`;
    await withWorker(stubs, taskQueue, async () => {
      const handle = await openConversation(stubs, taskQueue);
      // Tried in a batch first (a failure worth retrying), then alone: that attempt is held, then refused for good.
      stubs.recordScript.set('poison', [new Error('the database did not answer'), new ActivityError(FailureType.EventNotFound, 'no stored webhook event poison')]);
      const release = stubs.holdRecording('poison');
      await handle.signal(inboundEventSignal, { eventId: 'poison' });
      await waitFor(() => attemptsAt(stubs, 'poison') === 2);
      // Dispatched again (the sweeper took its claim for stale) while its attempt is under way, and seen by the run.
      await handle.signal(inboundEventSignal, { eventId: 'poison' });
      await waitFor(async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        const signalled = events.filter((event) => event.workflowExecutionSignaledEventAttributes).length;
        const lastSignal = events.map((event) => Boolean(event.workflowExecutionSignaledEventAttributes)).lastIndexOf(true);
        return signalled === 3 && events.slice(lastSignal).some((event) => event.workflowTaskCompletedEventAttributes);
      });
      release();
      await handle.signal(inboundEventSignal, { eventId: 'm2' });
      await waitFor(() => stubs.log.recorded.includes('m2'));
    });
    expect(stubs.log.parks).toEqual([{ eventId: 'poison', reason: 'no stored webhook event poison', attempts: 2 }]);
    expect(attemptsAt(stubs, 'poison')).toBe(2);
  });
});
