/**
 * The conversation workflow's outbox on the time-skipping test server: the 24-hour and 7-day rules at their exact
 * edges, order, retries, rate-limit waits across a worker restart, permanent and token errors, unknown outcomes.
 * Activities are stubbed (this layer only); failures go through the engine's real failure mapping.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { RecordedInboundEvent } from '../../src/activities/conversation-contract';
import {
  MessagesAccessOffError,
  RateLimitedError,
  RecipientUnavailableError,
  TokenInvalidError,
  TransientUpstreamError,
  UnknownOutcomeError,
  WindowClosedError,
} from '../../src/domain/errors';
import { ActivityError } from '../../src/activities/failures';
import { FailureType } from '../../src/temporal/failures';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import {
  closeConversationUpdate,
  conversationWorkflow,
  getConversationStatusQuery,
  inboundEventSignal,
  sendMessagesUpdate,
  type MessageSender,
} from '../../src/workflows/conversation';
import { createConversationStubs, type ConversationStubs } from '../support/conversation-stubs';
import { createTimeSkippingEnvironment } from '../support/time-skipping';
import { waitUntil } from '../support/poll';

jest.setTimeout(180_000);

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const MINUTE_MS = 60 * 1000;

describe('conversationWorkflow outbox', () => {
  let env: TestWorkflowEnvironment;

  // One test server per test: time skipping is global to a server, and a run left over from another test (its
  // timers, a task of a queue whose worker stopped) would hold the clock of the next one.
  beforeEach(async () => {
    env = await createTimeSkippingEnvironment();
  });

  afterEach(async () => {
    await env?.teardown();
  });

  interface Conversation {
    stubs: ConversationStubs;
    taskQueue: string;
    workflowId: string;
    startedAt: number;
    conversationId: string;
  }

  /** A conversation whose customer wrote at the server's current time (event `m1`). */
  async function openConversation(stubs: ConversationStubs, taskQueue: string): Promise<Conversation> {
    const startedAt = await env.currentTimeMs();
    stubs.events.set('m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' });
    const workflowId = makeConversationWorkflowId('ig-1', `customer-${randomUUID()}`);
    const handle = await env.client.workflow.signalWithStart(conversationWorkflow, {
      workflowId,
      taskQueue,
      args: [{ igAccountId: 'ig-1', igsid: 'customer-1', channelId: 'channel-1' }],
      signal: inboundEventSignal,
      signalArgs: [{ eventId: 'm1' }],
    });
    const { conversationId } = await handle.query(getConversationStatusQuery);
    await waitFor(async () => (await handle.query(getConversationStatusQuery)).eventsRecorded === 1);
    return { stubs, taskQueue, workflowId, startedAt, conversationId };
  }

  function send(conversation: Conversation, messageIds: string[], sender: MessageSender = 'manager') {
    return env.client.workflow
      .getHandle(conversation.workflowId)
      .executeUpdate(sendMessagesUpdate, { args: [{ conversationId: conversation.conversationId, sender, messageIds }] });
  }

  /** Polls until the worker has done what the test waits for; how long that takes depends only on the machine's load. */
  const waitFor = (probe: () => Promise<boolean>): Promise<void> => waitUntil(probe);

  async function withWorker<T>(stubs: ConversationStubs, taskQueue: string, body: () => Promise<T>): Promise<T> {
    // No sticky cache: the test server does not skip time while a run's next task waits on a sticky queue, and does
    // not hand a stopped worker's sticky tasks over to the normal queue; every task then goes to the shared queue.
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../src/workflows'), activities: stubs.activities, maxCachedWorkflows: 0 });
    return worker.runUntil(body());
  }

  function refusalType(error: unknown): string | undefined {
    return error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure ? error.cause.type ?? undefined : undefined;
  }

  it('sends a standard reply until 24 hours after the customer message, and with HUMAN_AGENT from exactly 24 hours', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    await withWorker(stubs, taskQueue, async () => {
      const conversation = await openConversation(stubs, taskQueue);
      await env.sleep(24 * HOUR_MS - MINUTE_MS);
      expect(await send(conversation, ['before'])).toMatchObject({ sendAs: 'standard' });
      await waitFor(async () => stubs.log.sends.length === 1);
      await env.sleep(MINUTE_MS);
      expect(await send(conversation, ['after'])).toMatchObject({ sendAs: 'human-agent' });
      await waitFor(async () => stubs.log.sends.length === 2);
      const [before, after] = stubs.log.sends;
      expect(before).toMatchObject({ messageId: 'before' });
      expect(before!.tag).toBeUndefined();
      expect(before!.at - conversation.startedAt).toBeLessThan(24 * HOUR_MS);
      expect(after).toMatchObject({ messageId: 'after', tag: 'HUMAN_AGENT' });
      expect(after!.at - conversation.startedAt).toBeGreaterThanOrEqual(24 * HOUR_MS);
    });
  });

  it("refuses a bot's reply after 24 hours with the reason, while a manager's still goes", async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    await withWorker(stubs, taskQueue, async () => {
      const conversation = await openConversation(stubs, taskQueue);
      expect(await send(conversation, ['bot-early'], 'bot')).toMatchObject({ sendAs: 'standard' });
      await waitFor(async () => stubs.log.sends.length === 1);
      await env.sleep(25 * HOUR_MS);
      const refused = await send(conversation, ['bot-late'], 'bot').catch((error: unknown) => error);
      expect(refusalType(refused)).toBe('BotOutsideStandardWindow');
      expect((refused as WorkflowUpdateFailedError).cause?.message).toMatch(/24 hours/);
      await send(conversation, ['manager-late'], 'manager');
      await waitFor(async () => stubs.log.sends.length === 2);
      expect(stubs.log.sends.map((call) => call.messageId)).toEqual(['bot-early', 'manager-late']);
    });
  });

  it('closes at 7 days and not before; a customer message moves it; a send after the close fails and it stays closed', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    await withWorker(stubs, taskQueue, async () => {
      const conversation = await openConversation(stubs, taskQueue);
      const handle = env.client.workflow.getHandle(conversation.workflowId);
      await env.sleep(3 * DAY_MS);
      stubs.events.set('m2', { kind: 'message', occurredAt: conversation.startedAt + 3 * DAY_MS, movesWindow: true, outcome: 'recorded' });
      await handle.signal(inboundEventSignal, { eventId: 'm2' });
      await waitFor(async () => (await handle.query(getConversationStatusQuery)).eventsRecorded === 2);
      // 7 days after the first message the window is still open: the second one moved it.
      await env.sleep(4 * DAY_MS + HOUR_MS);
      expect(await handle.query(getConversationStatusQuery)).toMatchObject({ state: 'open' });
      expect(await send(conversation, ['day-7'])).toMatchObject({ sendAs: 'human-agent' });
      await waitFor(async () => stubs.log.sends.length === 1);

      const result = await handle.result();
      expect(result.state).toBe('closed');
      expect(stubs.log.closed).toHaveLength(1);
      expect(stubs.log.closed[0]!.firedAt).toBeGreaterThanOrEqual(conversation.startedAt + 10 * DAY_MS);
      expect(stubs.log.closed[0]!.firedAt).toBeLessThan(conversation.startedAt + 10 * DAY_MS + MINUTE_MS);
      const refused = await send(conversation, ['too-late']).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(Error);
      expect((await handle.describe()).status.name).toBe('COMPLETED');
      expect(stubs.log.sends.map((call) => call.messageId)).toEqual(['day-7']);
    });
  });

  it('sends in the order accepted, retries transient errors, fails a permanent error with its reason and goes on', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    stubs.sendScript.set('a', [new TransientUpstreamError('Meta had an unknown error'), new TransientUpstreamError('again'), new TransientUpstreamError('and again')]);
    stubs.sendScript.set('b', [new RecipientUnavailableError('not_receiving', 'the customer is not receiving messages (Meta 551)', { code: 551 })]);
    await withWorker(stubs, taskQueue, async () => {
      const conversation = await openConversation(stubs, taskQueue);
      await send(conversation, ['a', 'b']);
      await send(conversation, ['c']);
      await waitFor(async () => stubs.log.sends.some((call) => call.messageId === 'c'));
    });
    expect(stubs.log.sends.map((call) => `${call.messageId}#${call.attempt}`)).toEqual(['a#1', 'a#2', 'a#3', 'a#4', 'b#1', 'c#1']);
    expect(stubs.log.failures).toEqual([
      { messageId: 'b', status: 'failed', failure: { type: 'RecipientUnavailable', message: 'the customer is not receiving messages (Meta 551)', code: 551, reason: 'not_receiving' } },
    ]);
  });

  it('waits as long as a rate limit says, and the wait outlasts a worker restart', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    stubs.sendScript.set('limited', [new RateLimitedError('account', 2 * HOUR_MS, 'rate limited by Meta (Meta 80002)', { code: 80002 })]);
    const conversation = await withWorker(stubs, taskQueue, async () => {
      const opened = await openConversation(stubs, taskQueue);
      await send(opened, ['limited', 'next']);
      // The rate-limit timer is in the history: the worker has nothing left in flight when it stops.
      await waitFor(async () => {
        const { events } = await env.client.workflow.getHandle(opened.workflowId).fetchHistory();
        return (events ?? []).some((event) => Number(event.timerStartedEventAttributes?.startToFireTimeout?.seconds ?? 0) >= 60 * 60);
      });
      return opened;
    });
    // The first worker stopped during the wait; a new one finishes it. Waiting for the run's end lets the server skip
    // through the rest of the wait and the window. (Time is never skipped while no worker runs: the test server was
    // seen to stall then, for minutes, on what the stopped worker left behind.)
    await withWorker(stubs, taskQueue, () => env.client.workflow.getHandle(conversation.workflowId).result());
    const [first, retried, next] = stubs.log.sends;
    expect(stubs.log.sends.map((call) => call.messageId)).toEqual(['limited', 'limited', 'next']);
    expect(retried!.at - first!.at).toBeGreaterThanOrEqual(2 * HOUR_MS);
    expect(next!.at).toBeGreaterThanOrEqual(retried!.at);
    expect(stubs.log.failures).toEqual([]);
  });

  it('hands a token error to the account and fails the message; messages access off too', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    stubs.sendScript.set('t', [new TokenInvalidError('password_changed', 'the access token is no longer valid (Meta 190/460)', { code: 190, subcode: 460 })]);
    stubs.sendScript.set('m', [new MessagesAccessOffError('"Allow access to messages" is off (Meta 200/2534041)', { code: 200, subcode: 2534041 })]);
    await withWorker(stubs, taskQueue, async () => {
      const conversation = await openConversation(stubs, taskQueue);
      await send(conversation, ['t', 'm']);
      // The account is told first, then the message fails: both are done once the second failure is recorded.
      await waitFor(async () => stubs.log.failures.length === 2);
    });
    expect(stubs.log.failures.map((failure) => [failure.messageId, failure.failure.type, failure.failure.code, failure.failure.subcode])).toEqual([
      ['t', 'TokenInvalid', 190, 460],
      ['m', 'MessagesAccessOff', 200, 2534041],
    ]);
    expect(stubs.log.accountProblems).toEqual([
      { igAccountId: 'ig-1', type: 'TokenInvalid', reason: 'password_changed', message: 'the access token is no longer valid (Meta 190/460)' },
      { igAccountId: 'ig-1', type: 'MessagesAccessOff', message: '"Allow access to messages" is off (Meta 200/2534041)' },
    ]);
  });

  it("closes the conversation when Meta says the window is closed, failing what is still queued", async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    stubs.sendScript.set('w', [new WindowClosedError('the messaging window with this customer is closed (Meta 10/2534022)', { code: 10, subcode: 2534022 })]);
    const result = await withWorker(stubs, taskQueue, async () => {
      const conversation = await openConversation(stubs, taskQueue);
      await send(conversation, ['w', 'after-w']);
      return env.client.workflow.getHandle(conversation.workflowId).result();
    });
    expect(result.state).toBe('closed');
    expect(stubs.log.sends.map((call) => call.messageId)).toEqual(['w']);
    expect(stubs.log.failures.map((failure) => [failure.messageId, failure.failure.type])).toEqual([
      ['w', 'WindowClosed'],
      ['after-w', 'ConversationClosed'],
    ]);
    expect(stubs.log.closed).toHaveLength(1);
  });

  it('never sends an unknown outcome again: an echo settles it, else it is marked unknown', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    stubs.sendScript.set('confirmed', [new UnknownOutcomeError('POST /me/messages timed out: Meta may have acted on it')]);
    stubs.sendScript.set('lost', [new UnknownOutcomeError('POST /me/messages timed out: Meta may have acted on it')]);
    await withWorker(stubs, taskQueue, async () => {
      const conversation = await openConversation(stubs, taskQueue);
      const handle = env.client.workflow.getHandle(conversation.workflowId);
      stubs.events.set('echo-confirmed', { kind: 'echo', occurredAt: conversation.startedAt, movesWindow: false, outcome: 'matched-own-send', settledMessageId: 'confirmed' });
      await send(conversation, ['confirmed']);
      await waitFor(async () => stubs.log.sends.length === 1);
      await handle.signal(inboundEventSignal, { eventId: 'echo-confirmed' });
      await send(conversation, ['lost', 'after']);
      // No echo comes for `lost`: waiting for the run's end lets the server skip through the reconcile wait (after
      // which it is marked unknown and the next message goes) and the window.
      await handle.result();
    });
    expect(stubs.log.sends.map((call) => call.messageId)).toEqual(['confirmed', 'lost', 'after']);
    expect(stubs.log.sends[2]!.at - stubs.log.sends[1]!.at).toBeGreaterThanOrEqual(60_000);
    expect(stubs.log.unknownSettled).toEqual(['lost']);
    expect(stubs.log.failures).toEqual([]);
  });

  it('a manager closes the conversation: queued replies fail, and nothing more is accepted', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    stubs.sendScript.set('slow', [new RateLimitedError('account', HOUR_MS, 'rate limited by Meta (Meta 613)', { code: 613 })]);
    await withWorker(stubs, taskQueue, async () => {
      const conversation = await openConversation(stubs, taskQueue);
      const handle = env.client.workflow.getHandle(conversation.workflowId);
      await send(conversation, ['slow', 'queued']);
      await waitFor(async () => stubs.log.sends.length === 1);
      const closed = await handle.executeUpdate(closeConversationUpdate, { args: [{ conversationId: conversation.conversationId }] });
      expect(closed.state).toBe('closed');
      // The run has ended: an update finds no running conversation.
      await expect(send(conversation, ['late'])).rejects.toThrow();
    });
    expect(stubs.log.failures.map((failure) => [failure.messageId, failure.failure.type])).toEqual([
      ['slow', 'ConversationClosed'],
      ['queued', 'ConversationClosed'],
    ]);
    expect(stubs.log.sends.map((call) => call.messageId)).toEqual(['slow']);
  });

  it('parks an event that cannot be recorded: the run goes on, the next event is recorded, replies still go', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    await withWorker(stubs, taskQueue, async () => {
      const conversation = await openConversation(stubs, taskQueue);
      const handle = env.client.workflow.getHandle(conversation.workflowId);
      stubs.events.set('poison', new ActivityError(FailureType.EventNotFound, 'no stored webhook event poison'));
      stubs.events.set('m2', { kind: 'message', occurredAt: conversation.startedAt + MINUTE_MS, movesWindow: true, outcome: 'recorded' });
      await handle.signal(inboundEventSignal, { eventId: 'poison' });
      await handle.signal(inboundEventSignal, { eventId: 'm2' });
      await waitFor(async () => (await handle.query(getConversationStatusQuery)).eventsRecorded === 2);
      await send(conversation, ['after-poison']);
      await waitFor(async () => stubs.log.sends.length === 1);
      expect((await handle.describe()).status.name).toBe('RUNNING');
    });
    expect(stubs.log.parked).toEqual(['poison']);
    expect(stubs.log.recorded).toEqual(['m1', 'm2']);
  });

  it('refuses replies to a customer who never wrote', async () => {
    const stubs = createConversationStubs();
    const taskQueue = `outbox-${randomUUID()}`;
    await withWorker(stubs, taskQueue, async () => {
      const startedAt = await env.currentTimeMs();
      stubs.events.set('echo-only', { kind: 'echo', occurredAt: startedAt, movesWindow: false, outcome: 'recorded' } satisfies RecordedInboundEvent);
      const workflowId = makeConversationWorkflowId('ig-1', `customer-${randomUUID()}`);
        const handle = await env.client.workflow.signalWithStart(conversationWorkflow, {
        workflowId,
        taskQueue,
        args: [{ igAccountId: 'ig-1', igsid: 'customer-x', channelId: 'channel-1' }],
        signal: inboundEventSignal,
        signalArgs: [{ eventId: 'echo-only' }],
      });
      const { conversationId } = await handle.query(getConversationStatusQuery);
      const refused = await handle.executeUpdate(sendMessagesUpdate, { args: [{ conversationId, sender: 'manager', messageIds: ['x'] }] }).catch((error: unknown) => error);
      expect(refusalType(refused)).toBe('CustomerNeverWrote');
    });
    expect(stubs.log.sends).toEqual([]);
  });
});
