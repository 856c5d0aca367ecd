/**
 * `npm run record:histories`: runs the workflows through their main paths on the time-skipping test server and
 * writes each history to test/fixtures/histories. The replay test replays them with the current workflow code, so
 * a change that would break running workflows fails the build. Record again only for a deliberate, versioned
 * change (with `patched()`), and keep the old histories.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import type { RecordedInboundEvent } from '../src/activities/conversation-contract';
import { conversationWorkflow, inboundEventSignal } from '../src/workflows/conversation';
import { createConversationStubs } from '../test/support/conversation-stubs';
import { createTimeSkippingEnvironment } from '../test/support/time-skipping';
import { repoRoot } from './lib/processes';

const DAY_MS = 24 * 60 * 60 * 1000;

async function main(): Promise<void> {
  const env = await createTimeSkippingEnvironment();
  try {
    const startedAt = await env.currentTimeMs();
    const events = new Map<string, RecordedInboundEvent>([
      ['m1', { kind: 'message', occurredAt: startedAt, movesWindow: true, outcome: 'recorded' }],
      ['m2', { kind: 'message', occurredAt: startedAt + 2 * DAY_MS, movesWindow: true, outcome: 'recorded' }],
      ['read', { kind: 'read', occurredAt: startedAt + 2 * DAY_MS, movesWindow: false, outcome: 'recorded' }],
    ]);
    const { activities } = createConversationStubs(events);
    const taskQueue = 'record-histories';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../src/workflows'), activities });
    const workflowId = 'ig-conversation/17841400000000101/recorded-customer';
    await worker.runUntil(async () => {
      const start = { workflowId, taskQueue, args: [{ igAccountId: '17841400000000101', igsid: 'recorded-customer', channelId: 'channel-recorded' }] as const };
      const handle = await env.client.workflow.signalWithStart(conversationWorkflow, { ...start, args: [...start.args], signal: inboundEventSignal, signalArgs: [{ eventId: 'm1' }] });
      await env.sleep(2 * DAY_MS);
      await handle.signal(inboundEventSignal, { eventId: 'm2' });
      await handle.signal(inboundEventSignal, { eventId: 'read' });
      // A second delivery of the same event is ignored by the run.
      await handle.signal(inboundEventSignal, { eventId: 'm2' });
      await handle.result();
      const file = path.join(repoRoot, 'test', 'fixtures', 'histories', 'conversation-window-closes.json');
      writeFileSync(file, `${historyToJSON(await handle.fetchHistory())}\n`);
      process.stdout.write(`wrote ${path.relative(repoRoot, file)}\n`);
    });
  } finally {
    await env.teardown();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`record:histories failed: ${(error as Error).message}\n`);
  process.exit(1);
});
