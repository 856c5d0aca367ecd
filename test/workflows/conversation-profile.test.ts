/**
 * The customer's profile is fetched beside the events on the time-skipping test server: the events after it are
 * recorded while the Profile API has not answered, one fetch runs at a time, failures are retried a bounded number
 * of times and never fail the run, and the run ends only once the fetch settled. Activities are stubbed (this
 * layer only); failures go through the engine's real failure mapping.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { RecordedInboundEvent } from '../../src/activities/conversation-contract';
import { ConsentRequiredError, TransientUpstreamError } from '../../src/domain/errors';
import { HUMAN_AGENT_WINDOW_MS } from '../../src/domain/window';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { conversationWorkflow, getConversationStatusQuery, inboundEventSignal } from '../../src/workflows/conversation';
import { createConversationStubs, type ConversationStubs } from '../support/conversation-stubs';
import { createTimeSkippingEnvironment } from '../support/time-skipping';
import { waitUntil } from '../support/poll';

jest.setTimeout(180_000);

describe('conversationWorkflow profile fetch', () => {
  let env: TestWorkflowEnvironment;

  // One test server per test, as in the outbox tests: a run left over from another test would hold the clock.
  beforeEach(async () => {
    env = await createTimeSkippingEnvironment();
  });

  afterEach(async () => {
    await env?.teardown();
  });

  const message = (occurredAt: number, profileDue = true): RecordedInboundEvent => ({ kind: 'message', occurredAt, movesWindow: true, outcome: 'recorded', profileDue });

  async function withWorker<T>(stubs: ConversationStubs, body: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = `profile-${randomUUID()}`;
    // No sticky cache, as in the outbox tests: every task goes to the shared queue the test server skips time for.
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../src/workflows'), activities: stubs.activities, maxCachedWorkflows: 0 });
    return worker.runUntil(body(taskQueue));
  }

  function start(taskQueue: string, firstEventId: string) {
    const igsid = `customer-${randomUUID()}`;
    return env.client.workflow.signalWithStart(conversationWorkflow, {
      workflowId: makeConversationWorkflowId('ig-1', igsid),
      taskQueue,
      args: [{ igAccountId: 'ig-1', igsid, channelId: 'channel-1' }],
      signal: inboundEventSignal,
      signalArgs: [{ eventId: firstEventId }],
    });
  }

  /** Polls until the worker has done what the test waits for; how long that takes depends only on the machine's load. */
  const waitFor = (probe: () => boolean | Promise<boolean>, what: string): Promise<void> => waitUntil(probe, what, 60_000);

  it('records the next events while the Profile API has not answered, one fetch at a time', async () => {
    const stubs = createConversationStubs();
    const startedAt = await env.currentTimeMs();
    stubs.events.set('m1', message(startedAt));
    stubs.events.set('m2', message(startedAt + 1));
    stubs.events.set('m3', message(startedAt + 2));
    const release = stubs.holdProfileFetches();
    const result = await withWorker(stubs, async (taskQueue) => {
      const handle = await start(taskQueue, 'm1');
      // Released before the worker stops whatever happens: it waits for the held activity.
      try {
        await waitFor(() => stubs.log.profileFetches.length === 1, 'the first fetch');
        expect(await handle.query(getConversationStatusQuery)).toMatchObject({ eventsRecorded: 1, profileFetching: true });
        // m2 says the profile is due too: recorded at once, and no second fetch while the first is in flight.
        await handle.signal(inboundEventSignal, { eventId: 'm2' });
        await waitFor(async () => (await handle.query(getConversationStatusQuery)).eventsRecorded === 2, 'm2 recorded');
        expect(stubs.log.recorded).toEqual(['m1', 'm2']);
        expect(stubs.log.profilesStored).toEqual([]);
        expect(stubs.log.profileFetches).toHaveLength(1);
      } finally {
        release();
      }
      await waitFor(() => stubs.log.profilesStored.length === 1, 'the profile stored');
      // Once the fetch settled, the next due profile starts a new one.
      await handle.signal(inboundEventSignal, { eventId: 'm3' });
      await waitFor(() => stubs.log.profilesStored.length === 2, 'the second fetch');
      return handle.result();
    });
    expect(result).toMatchObject({ state: 'closed', eventsRecorded: 3 });
    expect(stubs.log.profileFetches.map((fetch) => fetch.attempt)).toEqual([1, 1]);
  });

  it('starts no fetch for an event that does not say the profile is due', async () => {
    const stubs = createConversationStubs();
    const startedAt = await env.currentTimeMs();
    stubs.events.set('m1', message(startedAt, false));
    stubs.events.set('echo', { kind: 'echo', occurredAt: startedAt, movesWindow: false, outcome: 'recorded' });
    const result = await withWorker(stubs, async (taskQueue) => {
      const handle = await start(taskQueue, 'm1');
      await handle.signal(inboundEventSignal, { eventId: 'echo' });
      return handle.result();
    });
    expect(result).toMatchObject({ state: 'closed', eventsRecorded: 2 });
    expect(stubs.log.profileFetches).toEqual([]);
  });

  it('retries a transient failure a bounded number of times; the run goes on and closes as usual', async () => {
    const stubs = createConversationStubs();
    const startedAt = await env.currentTimeMs();
    stubs.events.set('m1', message(startedAt));
    stubs.events.set('m2', message(startedAt + 1, false));
    stubs.profileScript.push(...Array.from({ length: 10 }, () => new TransientUpstreamError('GET /{igsid} timed out after 3000 ms')));
    const result = await withWorker(stubs, async (taskQueue) => {
      const handle = await start(taskQueue, 'm1');
      await handle.signal(inboundEventSignal, { eventId: 'm2' });
      return handle.result();
    });
    expect(result).toMatchObject({ state: 'closed', eventsRecorded: 2, windowClosesAt: startedAt + 1 + HUMAN_AGENT_WINDOW_MS });
    expect(stubs.log.profileFetches.map((fetch) => fetch.attempt)).toEqual([1, 2, 3, 4]);
    expect(stubs.log.profilesStored).toEqual([]);
    expect(stubs.log.closed).toHaveLength(1);
    expect(stubs.log.parked).toEqual([]);
  });

  it('stores the profile when a retry passes', async () => {
    const stubs = createConversationStubs();
    const startedAt = await env.currentTimeMs();
    stubs.events.set('m1', message(startedAt));
    stubs.profileScript.push(new TransientUpstreamError('Meta had an unexpected error; retry later'));
    const result = await withWorker(stubs, async (taskQueue) => (await start(taskQueue, 'm1')).result());
    expect(result.state).toBe('closed');
    expect(stubs.log.profileFetches.map((fetch) => fetch.attempt)).toEqual([1, 2]);
    expect(stubs.log.profilesStored).toHaveLength(1);
  });

  it('does not retry a permanent refusal, and the next due profile asks again', async () => {
    const stubs = createConversationStubs();
    const startedAt = await env.currentTimeMs();
    stubs.events.set('m1', message(startedAt));
    stubs.events.set('m2', message(startedAt + 1));
    stubs.profileScript.push(new ConsentRequiredError('the customer has not messaged this account, so the profile is not readable'));
    const result = await withWorker(stubs, async (taskQueue) => {
      const handle = await start(taskQueue, 'm1');
      await waitFor(() => stubs.log.profileFetches.length === 1, 'the refused fetch');
      await waitFor(async () => !(await handle.query(getConversationStatusQuery)).profileFetching, 'the refused fetch settled');
      await handle.signal(inboundEventSignal, { eventId: 'm2' });
      return handle.result();
    });
    expect(result).toMatchObject({ state: 'closed', eventsRecorded: 2 });
    expect(stubs.log.profileFetches.map((fetch) => fetch.attempt)).toEqual([1, 1]);
    expect(stubs.log.profilesStored).toHaveLength(1);
  });

  it('ends the run only once the fetch in flight settled, after the close it does not delay', async () => {
    const stubs = createConversationStubs();
    const startedAt = await env.currentTimeMs();
    // The customer wrote almost 7 days ago: the window closes a moment after the run starts, in real time.
    stubs.events.set('m1', message(startedAt - HUMAN_AGENT_WINDOW_MS + 1_500));
    const release = stubs.holdProfileFetches();
    await withWorker(stubs, async (taskQueue) => {
      const handle = await start(taskQueue, 'm1');
      try {
        await waitFor(() => stubs.log.closed.length === 1, 'the close');
        expect((await handle.query(getConversationStatusQuery)).state).toBe('closed');
        expect((await handle.describe()).status.name).toBe('RUNNING');
        expect(stubs.log.profilesStored).toEqual([]);
      } finally {
        release();
      }
      await handle.result();
      expect(stubs.log.profilesStored).toHaveLength(1);
    });
  });
});
