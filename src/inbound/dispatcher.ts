/**
 * Hands stored webhook events to their conversation workflows (signalWithStart), in Meta's timestamp order per
 * conversation. An event that cannot be handed over (Temporal down) stays `pending`; the sweeper retries pending
 * events until they go through, so nothing acknowledged to Meta is lost.
 */
import type { Client } from '@temporalio/client';
import type { Models } from '../db/models';
import type { WebhookEvent } from '../db/models/webhook-event';
import type { Logger } from '../logger';
import { ChannelIdKey, ConversationStateKey, CustomerIgsidKey, IgAccountIdKey, makeConversationWorkflowId } from '../temporal/names';
import { conversationWorkflow, inboundEventSignal } from '../workflows/conversation';

export interface DispatcherDeps {
  models: Pick<Models, 'webhookEvents' | 'linkedAccounts'>;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
  /** How many conversations are signalled at once. */
  concurrency?: number;
}

export interface DispatchableEvent {
  eventKey: string;
  igAccountId: string | null;
  customerIgsid: string | null;
  occurredAt: Date;
}

export interface DispatchReport {
  dispatched: number;
  failed: number;
  unlinked: number;
}

export interface InboundDispatcher {
  dispatch(events: DispatchableEvent[]): Promise<DispatchReport>;
  /** Dispatches pending events received before `olderThan`, oldest first; returns what it did. */
  sweep(options?: { olderThan?: Date; limit?: number }): Promise<DispatchReport>;
}

export function createInboundDispatcher(deps: DispatcherDeps): InboundDispatcher {
  const concurrency = deps.concurrency ?? 16;

  async function channelsOf(igAccountIds: string[]): Promise<Map<string, string>> {
    const accounts = await deps.models.linkedAccounts
      .find({ igAccountId: { $in: igAccountIds }, status: { $ne: 'unlinked' } }, { igAccountId: 1, channelId: 1 })
      .lean<Array<{ igAccountId: string; channelId: string }>>();
    return new Map(accounts.map((account) => [account.igAccountId, account.channelId]));
  }

  async function signalConversation(channelId: string, event: DispatchableEvent & { igAccountId: string; customerIgsid: string }): Promise<void> {
    await deps.temporal.workflow.signalWithStart(conversationWorkflow, {
      workflowId: makeConversationWorkflowId(event.igAccountId, event.customerIgsid),
      taskQueue: deps.taskQueue,
      args: [{ igAccountId: event.igAccountId, igsid: event.customerIgsid, channelId }],
      signal: inboundEventSignal,
      signalArgs: [{ eventId: event.eventKey }],
      typedSearchAttributes: [
        { key: ChannelIdKey, value: channelId },
        { key: IgAccountIdKey, value: event.igAccountId },
        { key: CustomerIgsidKey, value: event.customerIgsid },
        { key: ConversationStateKey, value: 'open' },
      ],
    });
  }

  async function dispatch(events: DispatchableEvent[]): Promise<DispatchReport> {
    const report: DispatchReport = { dispatched: 0, failed: 0, unlinked: 0 };
    const routable = events.filter((e): e is DispatchableEvent & { igAccountId: string; customerIgsid: string } => e.igAccountId !== null && e.customerIgsid !== null);
    if (routable.length === 0) return report;
    const channels = await channelsOf([...new Set(routable.map((e) => e.igAccountId))]);

    const unlinked = routable.filter((e) => !channels.has(e.igAccountId));
    if (unlinked.length > 0) {
      await deps.models.webhookEvents.updateMany({ _id: { $in: unlinked.map((e) => e.eventKey) }, status: 'pending' }, { $set: { status: 'unlinked' } });
      report.unlinked = unlinked.length;
    }

    // One queue per conversation, in Meta's order; conversations in parallel.
    const byConversation = new Map<string, Array<(typeof routable)[number]>>();
    for (const event of routable) {
      if (!channels.has(event.igAccountId)) continue;
      const key = makeConversationWorkflowId(event.igAccountId, event.customerIgsid);
      byConversation.set(key, [...(byConversation.get(key) ?? []), event]);
    }
    const queues = [...byConversation.values()].map((queue) => queue.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime()));

    const runQueue = async (queue: Array<(typeof routable)[number]>): Promise<void> => {
      for (const event of queue) {
        // Marked before the signal, never after: once signalled, the workflow's activity writes this document, and
        // FerretDB applies an update as read-modify-write of the whole document, so a late write of ours could undo
        // its "recorded". By `_id` alone, the one lookup FerretDB does not answer by scanning.
        await deps.models.webhookEvents.updateOne({ _id: event.eventKey }, { $set: { dispatchedAt: new Date() }, $inc: { dispatchAttempts: 1 } });
        try {
          await signalConversation(channels.get(event.igAccountId)!, event);
        } catch (error) {
          // Back to the sweeper, and keep the order: the rest of this conversation waits for it too.
          report.failed += queue.length - queue.indexOf(event);
          await deps.models.webhookEvents.updateOne({ _id: event.eventKey, status: 'pending' }, { $set: { dispatchedAt: null } }).catch(() => undefined);
          deps.logger.warn('dispatch failed; the events stay pending for the sweeper', { eventKey: event.eventKey, error: (error as Error).message });
          return;
        }
        report.dispatched += 1;
      }
    };
    let next = 0;
    const workers = Array.from({ length: Math.min(concurrency, queues.length) }, async () => {
      while (next < queues.length) await runQueue(queues[next++]!);
    });
    await Promise.all(workers);
    return report;
  }

  return {
    dispatch,
    async sweep({ olderThan = new Date(Date.now() - 2000), limit = 1000 } = {}) {
      const pending = await deps.models.webhookEvents
        .find({ status: 'pending', dispatchedAt: null, receivedAt: { $lt: olderThan } }, { eventKey: 1, igAccountId: 1, customerIgsid: 1, occurredAt: 1 })
        .sort({ receivedAt: 1 })
        .limit(limit)
        .lean<WebhookEvent[]>();
      return dispatch(pending);
    },
  };
}

/** Runs `sweep` every `intervalMs` until stopped; a failing round is logged and tried again next time. */
export function startSweeper(dispatcher: InboundDispatcher, logger: Logger, intervalMs: number): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  const tick = (): void => {
    round = (async () => {
      try {
        const report = await dispatcher.sweep();
        if (report.dispatched + report.failed + report.unlinked > 0) logger.info('sweeper round', { ...report });
      } catch (error) {
        logger.warn('sweeper round failed', { error: (error as Error).message });
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    })();
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
