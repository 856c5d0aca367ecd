/**
 * Hands stored webhook events to their conversation workflows (signalWithStart), in Meta's timestamp order per
 * conversation. An event that cannot be handed over (Temporal down) stays `pending`; the sweeper retries pending
 * events until they go through, so nothing acknowledged to Meta is lost.
 */
import type { Client } from '@temporalio/client';
import type { Models } from '../db/models';
import type { Message } from '../db/models/message';
import type { OutboundMid } from '../db/models/outbound-mid';
import type { WebhookEvent } from '../db/models/webhook-event';
import type { Logger } from '../logger';
import { ChannelIdKey, ConversationStateKey, CustomerIgsidKey, IgAccountIdKey, makeConversationWorkflowId } from '../temporal/names';
import { conversationWorkflow, inboundEventSignal } from '../workflows/conversation';

export interface DispatcherDeps {
  models: Pick<Models, 'webhookEvents' | 'linkedAccounts' | 'outboundMids' | 'messages'>;
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
  kind?: string;
  mid?: string | null;
}

export interface DispatchReport {
  dispatched: number;
  failed: number;
  unlinked: number;
  /** Echoes of replies already recorded as sent: nothing for their conversation to learn, so no signal. */
  ownEchoes: number;
}

export interface InboundDispatcher {
  /**
   * Signals each event's conversation. `claimed`: the events were stored already marked as being dispatched (the
   * ingress does that), so they are not marked again; otherwise each is marked just before its signal.
   */
  dispatch(events: DispatchableEvent[], options?: { claimed?: boolean }): Promise<DispatchReport>;
  /**
   * Dispatches, oldest first, pending events nobody claimed (received before `olderThan`), and claimed ones still not
   * applied after `staleAfterMs` (their dispatcher stopped before signalling them).
   */
  sweep(options?: { olderThan?: Date; staleAfterMs?: number; limit?: number }): Promise<DispatchReport>;
}

/** Claimed events not applied after this long are dispatched again (the signal is idempotent downstream). */
const DEFAULT_STALE_CLAIM_MS = 2 * 60 * 1000;

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

  /**
   * The echo of a reply the engine already recorded as sent is recorded here, without waking its conversation: one
   * Temporal round trip less for every reply. An echo of a reply not settled yet goes to the workflow, which owns
   * that decision (the send may still be in flight).
   */
  async function recordIfEchoOfSentReply(event: DispatchableEvent): Promise<boolean> {
    if (event.kind !== 'echo' || !event.mid) return false;
    const own = await deps.models.outboundMids.findOne({ _id: event.mid }).lean<OutboundMid>();
    if (!own) return false;
    const reply = await deps.models.messages.findOne({ _id: own.messageId }, { status: 1, conversationId: 1 }).lean<Pick<Message, 'status' | 'conversationId'>>();
    if (reply?.status !== 'sent') return false;
    await deps.models.webhookEvents.updateOne({ _id: event.eventKey }, { $set: { status: 'recorded', conversationId: reply.conversationId, recordedAt: new Date() } });
    return true;
  }

  async function dispatch(events: DispatchableEvent[], { claimed = false }: { claimed?: boolean } = {}): Promise<DispatchReport> {
    const report: DispatchReport = { dispatched: 0, failed: 0, unlinked: 0, ownEchoes: 0 };
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
      for (const [index, event] of queue.entries()) {
        if (await recordIfEchoOfSentReply(event)) {
          report.ownEchoes += 1;
          continue;
        }
        // Marked before the signal, never after: once signalled, the workflow's activity writes this document, and
        // FerretDB applies an update as read-modify-write of the whole document, so a late write of ours could undo
        // its "recorded". By `_id` alone, the one lookup FerretDB does not answer by scanning.
        if (!claimed) await deps.models.webhookEvents.updateOne({ _id: event.eventKey }, { $set: { dispatchedAt: new Date() }, $inc: { dispatchAttempts: 1 } });
        try {
          await signalConversation(channels.get(event.igAccountId)!, event);
        } catch (error) {
          // Back to the sweeper, in order: this event and the rest of its conversation, none of them signalled.
          report.failed += queue.length - index;
          for (const unsent of queue.slice(index)) {
            await deps.models.webhookEvents.updateOne({ _id: unsent.eventKey }, { $set: { dispatchedAt: null } }).catch(() => undefined);
          }
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
    async sweep({ olderThan = new Date(Date.now() - 2000), staleAfterMs = DEFAULT_STALE_CLAIM_MS, limit = 1000 } = {}) {
      const staleBefore = new Date(Date.now() - staleAfterMs);
      const pending = await deps.models.webhookEvents
        .find(
          { status: 'pending', $or: [{ dispatchedAt: null, receivedAt: { $lt: olderThan } }, { dispatchedAt: { $lt: staleBefore } }] },
          { eventKey: 1, igAccountId: 1, customerIgsid: 1, occurredAt: 1, kind: 1, mid: 1 },
        )
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
