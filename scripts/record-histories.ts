/**
 * `npm run record:histories`: runs the workflows through their main paths on the time-skipping test server and
 * writes each history to test/fixtures/histories. The replay test replays them with the current workflow code, so
 * a change that would break running workflows fails the build. Record again only for a deliberate, versioned
 * change (with `patched()`), and keep the old histories.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { RecordedInboundEvent } from '../src/activities/conversation-contract';
import { ActivityError } from '../src/activities/failures';
import { RateLimitedError, RecipientUnavailableError, TransientUpstreamError } from '../src/domain/errors';
import { FailureType } from '../src/temporal/failures';
import { conversationWorkflow, getConversationStatusQuery, inboundEventSignal, sendMessagesUpdate, type ConversationWorkflowInput } from '../src/workflows/conversation';
import { createConversationStubs } from '../test/support/conversation-stubs';
import { createTimeSkippingEnvironment } from '../test/support/time-skipping';
import { repoRoot } from './lib/processes';

const DAY_MS = 24 * 60 * 60 * 1000;

interface Scenario {
  file: string;
  run(env: TestWorkflowEnvironment, taskQueue: string): Promise<WorkflowHandle>;
}

const scenarios: Scenario[] = [
  {
    // Customer messages, a read and a repeated delivery, then the window closes.
    file: 'conversation-window-closes.json',
    async run(env, taskQueue) {
      const startedAt = await env.currentTimeMs();
      const { activities } = createConversationStubs(
        new Map<string, RecordedInboundEvent>([
          ['m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' }],
          ['m2', { kind: 'message', occurredAt: startedAt + 2 * DAY_MS, movesWindow: true, outcome: 'recorded' }],
          ['read', { kind: 'read', occurredAt: startedAt + 2 * DAY_MS, movesWindow: false, outcome: 'recorded' }],
        ]),
      );
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../src/workflows'), activities });
      return worker.runUntil(async () => {
        const handle = await env.client.workflow.signalWithStart(conversationWorkflow, { ...start(taskQueue, 'recorded-customer'), signal: inboundEventSignal, signalArgs: [{ eventId: 'm1' }] });
        await env.sleep(2 * DAY_MS);
        await handle.signal(inboundEventSignal, { eventId: 'm2' });
        await handle.signal(inboundEventSignal, { eventId: 'read' });
        // A second delivery of the same event is ignored by the run.
        await handle.signal(inboundEventSignal, { eventId: 'm2' });
        await handle.result();
        return handle;
      });
    },
  },
  {
    // Replies: one sent after a transient error, one after a rate-limit wait, one refused for good; an echo; a bot
    // refused after 24 hours; a manager's reply with HUMAN_AGENT; then the window closes with one still queued.
    file: 'conversation-outbox.json',
    async run(env, taskQueue) {
      const startedAt = await env.currentTimeMs();
      const stubs = createConversationStubs(
        new Map<string, RecordedInboundEvent>([
          ['m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' }],
          ['echo-1', { kind: 'echo', occurredAt: startedAt, movesWindow: false, outcome: 'matched-own-send' }],
        ]),
      );
      stubs.sendScript.set('r1', [new TransientUpstreamError('Meta had an unknown error (Meta 1)', { code: 1 })]);
      stubs.sendScript.set('r2', [new RateLimitedError('account', 60_000, 'rate limited by Meta (Meta 613)', { code: 613 })]);
      stubs.sendScript.set('r3', [new RecipientUnavailableError('not_receiving', 'the customer is not receiving messages (Meta 551)', { code: 551 })]);
      stubs.sendScript.set('r5', [new RateLimitedError('account', 8 * DAY_MS, 'rate limited by Meta (Meta 80002)', { code: 80002 })]);
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../src/workflows'), activities: stubs.activities, maxCachedWorkflows: 0 });
      return worker.runUntil(async () => {
        const handle = await env.client.workflow.signalWithStart(conversationWorkflow, { ...start(taskQueue, 'recorded-replies'), signal: inboundEventSignal, signalArgs: [{ eventId: 'm1' }] });
        const { conversationId } = await handle.query(getConversationStatusQuery);
        await handle.executeUpdate(sendMessagesUpdate, { args: [{ conversationId, sender: 'manager', messageIds: ['r1', 'r2', 'r3'] }] });
        await handle.signal(inboundEventSignal, { eventId: 'echo-1' });
        await env.sleep(2 * 60_000);
        await env.sleep(25 * 60 * 60_000);
        await handle.executeUpdate(sendMessagesUpdate, { args: [{ conversationId, sender: 'bot', messageIds: ['bot-late'] }] }).catch(() => undefined);
        await handle.executeUpdate(sendMessagesUpdate, { args: [{ conversationId, sender: 'manager', messageIds: ['r4', 'r5'] }] });
        await handle.result();
        return handle;
      });
    },
  },
  {
    // A new customer: the profile is fetched beside the events (a transient failure, then the profile), a second
    // message is recorded meanwhile, and the window closes once the fetch settled.
    file: 'conversation-profile-beside-events.json',
    async run(env, taskQueue) {
      const startedAt = await env.currentTimeMs();
      const stubs = createConversationStubs(
        new Map<string, RecordedInboundEvent>([
          ['m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded', profileDue: true }],
          ['m2', { kind: 'message', occurredAt: startedAt + 1_000, movesWindow: true, outcome: 'recorded', profileDue: true }],
        ]),
      );
      stubs.profileScript.push(new TransientUpstreamError('GET /{igsid} timed out after 3000 ms'));
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../src/workflows'), activities: stubs.activities, maxCachedWorkflows: 0 });
      return worker.runUntil(async () => {
        const handle = await env.client.workflow.signalWithStart(conversationWorkflow, { ...start(taskQueue, 'recorded-new-customer'), signal: inboundEventSignal, signalArgs: [{ eventId: 'm1' }] });
        await handle.signal(inboundEventSignal, { eventId: 'm2' });
        await handle.result();
        return handle;
      });
    },
  },
  {
    // An event that cannot be recorded (it fails every attempt) is parked; it is dispatched again while its attempts
    // run and once more after it was parked; the next message is recorded; the window closes. Recorded with the
    // workflow code from before parked events could be replayed: the run took the first repeat (the event was being
    // recorded, so it was not among the recent ones yet) and ignored the second.
    file: 'conversation-parked-event.json',
    async run(env, taskQueue) {
      const startedAt = await env.currentTimeMs();
      const stubs = createConversationStubs(
        new Map<string, RecordedInboundEvent | Error>([
          ['m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' }],
          ['poison', new Error('a stored event the record activity cannot read')],
          ['m2', { kind: 'message', occurredAt: startedAt + 60_000, movesWindow: true, outcome: 'recorded' }],
        ]),
      );
      let poisonAttempts = 0;
      const activities: typeof stubs.activities = {
        ...stubs.activities,
        recordInboundEvent: (input) => {
          if (input.eventId === 'poison') poisonAttempts += 1;
          return stubs.activities.recordInboundEvent(input);
        },
      };
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../src/workflows'), activities, maxCachedWorkflows: 0 });
      return worker.runUntil(async () => {
        const handle = await env.client.workflow.signalWithStart(conversationWorkflow, { ...start(taskQueue, 'recorded-parked'), signal: inboundEventSignal, signalArgs: [{ eventId: 'm1' }] });
        await handle.signal(inboundEventSignal, { eventId: 'poison' });
        await until(() => poisonAttempts > 0);
        await handle.signal(inboundEventSignal, { eventId: 'poison' });
        await until(() => stubs.log.parked.length === 2);
        await handle.signal(inboundEventSignal, { eventId: 'poison' });
        await handle.signal(inboundEventSignal, { eventId: 'm2' });
        await handle.result();
        return handle;
      });
    },
  },
  {
    // With replayable parked events: an event refused on its second attempt is parked (with its attempts); a
    // dispatch of it while it is being recorded is not queued; its replay (the same event dispatched again once the
    // cause is fixed) is recorded; the next message too; the window closes.
    file: 'conversation-parked-event-replayed.json',
    async run(env, taskQueue) {
      const startedAt = await env.currentTimeMs();
      const stubs = createConversationStubs(
        new Map<string, RecordedInboundEvent>([
          ['m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' }],
          ['poison', { kind: 'message', occurredAt: startedAt + 30_000, movesWindow: true, outcome: 'recorded' }],
          ['m2', { kind: 'message', occurredAt: startedAt + 60_000, movesWindow: true, outcome: 'recorded' }],
        ]),
      );
      stubs.recordScript.set('poison', [new Error('the database did not answer'), new ActivityError(FailureType.AccountNotActive, 'Instagram account 17841400000000101 is not linked to any channel')]);
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../src/workflows'), activities: stubs.activities, maxCachedWorkflows: 0 });
      return worker.runUntil(async () => {
        const handle = await env.client.workflow.signalWithStart(conversationWorkflow, { ...start(taskQueue, 'recorded-replayed'), signal: inboundEventSignal, signalArgs: [{ eventId: 'm1' }] });
        await handle.signal(inboundEventSignal, { eventId: 'poison' });
        await until(() => stubs.log.recordAttempts.includes('poison'));
        await handle.signal(inboundEventSignal, { eventId: 'poison' });
        await until(() => stubs.log.parked.length === 1);
        await handle.signal(inboundEventSignal, { eventId: 'poison' });
        await until(() => stubs.log.recorded.includes('poison'));
        await handle.signal(inboundEventSignal, { eventId: 'm2' });
        await handle.result();
        return handle;
      });
    },
  },
];

async function until(reached: () => boolean): Promise<void> {
  while (!reached()) await new Promise((resolve) => setTimeout(resolve, 50));
}

function start(taskQueue: string, igsid: string) {
  return { workflowId: `ig-conversation/17841400000000101/${igsid}`, taskQueue, args: [{ igAccountId: '17841400000000101', igsid, channelId: 'channel-recorded' }] as [ConversationWorkflowInput] };
}

async function main(): Promise<void> {
  const env = await createTimeSkippingEnvironment();
  try {
    for (const scenario of scenarios) {
      const file = path.join(repoRoot, 'test', 'fixtures', 'histories', scenario.file);
      // Recorded histories are kept as they are: they stand for workflows already running in production.
      if (existsSync(file)) {
        process.stdout.write(`kept ${path.relative(repoRoot, file)} (delete it to record it again)\n`);
        continue;
      }
      const handle = await scenario.run(env, `record-histories-${scenario.file}`);
      writeFileSync(file, `${historyToJSON(await handle.fetchHistory())}\n`);
      process.stdout.write(`wrote ${path.relative(repoRoot, file)}\n`);
    }
  } finally {
    await env.teardown();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`record:histories failed: ${(error as Error).message}\n`);
  process.exit(1);
});
