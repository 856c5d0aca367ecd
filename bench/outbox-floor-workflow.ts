/**
 * A workflow shaped like the conversation's outbox with none of its work: an update queues a reply, and a loop hands
 * the replies to an activity one at a time, in order. What it costs is what Temporal itself costs per reply, the
 * floor under the engine's own figures (outbox-floor.ts measures it). Bundled by the benchmark's own worker.
 */
import { condition, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { OutboxFloorActivities } from './outbox-floor-activities';

export const queueReplyUpdate = defineUpdate<number, [string]>('queueReply');

const { deliverReply } = proxyActivities<OutboxFloorActivities>({ startToCloseTimeout: '10 seconds' });
const { deliverReply: deliverReplyLocally } = proxyLocalActivities<OutboxFloorActivities>({ startToCloseTimeout: '10 seconds' });

export async function outboxFloorWorkflow(input: { localActivity: boolean }): Promise<void> {
  const queue: string[] = [];
  // Answers how many replies were ahead, as the engine's `sendMessages` update does.
  setHandler(queueReplyUpdate, (replyId) => queue.push(replyId) - 1);
  const deliver = input.localActivity ? deliverReplyLocally : deliverReply;
  for (;;) {
    await condition(() => queue.length > 0);
    await deliver(queue[0]!);
    queue.shift();
  }
}
