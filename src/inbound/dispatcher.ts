/**
 * Hands stored webhook events to their conversation workflows (signalWithStart), in Meta's timestamp order per
 * conversation. An event that cannot be handed over (Temporal down) stays `pending`; the sweeper retries pending
 * events until they go through, so nothing acknowledged to Meta is lost. Events of an account whose link expired
 * are `held` instead, until the account is re-authenticated (see held-events.ts).
 */
import type { Client } from '@temporalio/client';
import type { Models } from '../db/models';
import type { LinkStatus } from '../db/models/linked-account';
import type { Message } from '../db/models/message';
import type { OutboundMid } from '../db/models/outbound-mid';
import type { WebhookEvent } from '../db/models/webhook-event';
import type { Logger } from '../logger';
import type { EngineMetrics } from '../metrics/engine-metrics';
import { ChannelIdKey, ConversationStateKey, CustomerIgsidKey, IgAccountIdKey, makeConversationWorkflowId } from '../temporal/names';
import { conversationWorkflow, inboundEventsSignal } from '../workflows/conversation';
import { forEachLimited } from '../async';
import { createConversationMailboxes } from './conversation-mailboxes';
import { DEFAULT_REFUSAL_RETRY, isRefusal, shortMessage, type RefusalRetry } from './dispatch-refusals';
import type { MessageProjector } from './message-projector';
import { reclaimHeldEvents } from './held-events';

export interface DispatcherDeps {
  models: Pick<Models, 'webhookEvents' | 'linkedAccounts' | 'outboundMids' | 'messages'>;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
  metrics: Pick<EngineMetrics, 'inboundEventsHeld' | 'inboundEventRecorded' | 'inboundEventParked'>;
  /** How many signals are in flight at once, across conversations. */
  concurrency?: number;
  /** How often, and how far apart, a signal Temporal refuses is tried again before its events are parked. */
  refusalRetry?: RefusalRetry;
  /** Records customers' messages to open conversations without their workflows; absent: every event is signalled. */
  projector?: MessageProjector;
  /**
   * Conversations whose messages the projector records at once, across every dispatch: past it, a conversation's
   * messages go to its workflow instead. When the API's thread is saturated, each recording takes longer and more
   * of them wait, so more messages go to the workflows, whose work runs in the worker and Temporal: the thread keeps
   * room for acknowledgements and inbox reads.
   */
  maxConversationsRecording?: number;
}

const DEFAULT_MAX_CONVERSATIONS_RECORDING = 32;

export interface DispatchableEvent {
  eventKey: string;
  igAccountId: string | null;
  customerIgsid: string | null;
  occurredAt: Date;
  kind?: string;
  mid?: string | null;
  /** How many times Temporal refused its signal so far (absent: never). */
  dispatchRefusals?: number;
}

export interface DispatchReport {
  dispatched: number;
  failed: number;
  unlinked: number;
  /** Events of an account that must be re-authenticated: stored, not shown until it is. */
  held: number;
  /** Echoes of replies already recorded as sent: nothing for their conversation to learn, so no signal. */
  ownEchoes: number;
  /** Customers' messages to open conversations, recorded here without a signal (message-projector.ts). */
  recorded: number;
}

export interface InboundDispatcher {
  /**
   * Signals each event's conversation. `claimed`: the events were stored already marked as being dispatched (the
   * ingress does that), so they are not marked again; otherwise each is marked just before its signal.
   */
  dispatch(events: DispatchableEvent[], options?: { claimed?: boolean }): Promise<DispatchReport>;
  /**
   * Dispatches, oldest first, pending events nobody claimed (received before `olderThan`), claimed ones still not
   * applied after `staleAfterMs` (their dispatcher stopped before signalling them, or their signal was lost), and
   * claims made before `orphanedBefore` (no process alive made them: see dispatcher-presence.ts).
   */
  sweep(options?: { olderThan?: Date; staleAfterMs?: number; orphanedBefore?: Date; limit?: number }): Promise<DispatchReport>;
  /** Calls `listener` whenever events could not be signalled and were left to the sweeper. */
  onUndispatched(listener: () => void): void;
  /**
   * Waits, at most `timeoutMs`, for the dispatches under way (a signal may be retrying while Temporal is away): a
   * stopping process calls it before it closes its Temporal connection, which would otherwise fail them mid-retry.
   */
  settle(timeoutMs: number): Promise<void>;
}

/** Claimed events not applied after this long are dispatched again (the signal is idempotent downstream). */
const DEFAULT_STALE_CLAIM_MS = 2 * 60 * 1000;

export function emptyDispatchReport(): DispatchReport {
  return { dispatched: 0, failed: 0, unlinked: 0, held: 0, ownEchoes: 0, recorded: 0 };
}

export function addDispatchReports(a: DispatchReport, b: DispatchReport): DispatchReport {
  return {
    dispatched: a.dispatched + b.dispatched,
    failed: a.failed + b.failed,
    unlinked: a.unlinked + b.unlinked,
    held: a.held + b.held,
    ownEchoes: a.ownEchoes + b.ownEchoes,
    recorded: a.recorded + b.recorded,
  };
}

type RoutableEvent = DispatchableEvent & { igAccountId: string; customerIgsid: string };

/** An event waiting for its conversation's signal. `claimed`: stored already marked as being dispatched. */
interface QueuedEvent {
  event: RoutableEvent;
  channelId: string;
  claimed: boolean;
}

/** Where a linked account's events go, and whether they may go now. */
interface AccountRoute {
  channelId: string;
  status: LinkStatus;
}

export function createInboundDispatcher(deps: DispatcherDeps): InboundDispatcher {
  const concurrency = deps.concurrency ?? 16;
  const refusalRetry = deps.refusalRetry ?? DEFAULT_REFUSAL_RETRY;
  const maxConversationsRecording = deps.maxConversationsRecording ?? DEFAULT_MAX_CONVERSATIONS_RECORDING;
  /** Conversations the projector is recording now, across dispatches. */
  let conversationsRecording = 0;
  const undispatchedListeners: Array<() => void> = [];

  /** The accounts that are linked (status other than 'unlinked'), by id; an account missing here is not linked. */
  async function routesOf(igAccountIds: string[]): Promise<Map<string, AccountRoute>> {
    const accounts = await deps.models.linkedAccounts
      .find({ igAccountId: { $in: igAccountIds }, status: { $ne: 'unlinked' } }, { igAccountId: 1, channelId: 1, status: 1 })
      .lean<Array<{ igAccountId: string; channelId: string; status: LinkStatus }>>();
    return new Map(accounts.map((account) => [account.igAccountId, { channelId: account.channelId, status: account.status }]));
  }

  /** One signal with every event gathered for the conversation, in Meta's order. */
  async function signalConversation(events: QueuedEvent[]): Promise<void> {
    const inOrder = [...events].sort((a, b) => a.event.occurredAt.getTime() - b.event.occurredAt.getTime());
    const { igAccountId, customerIgsid } = inOrder[0]!.event;
    const { channelId } = inOrder[0]!;
    const unclaimed = inOrder.filter((queued) => !queued.claimed).map((queued) => queued.event.eventKey);
    // Marked before the signal, never after: once signalled, the workflow's activity writes these documents.
    if (unclaimed.length > 0) await deps.models.webhookEvents.updateMany({ _id: { $in: unclaimed } }, { $set: { dispatchedAt: new Date() }, $inc: { dispatchAttempts: 1 } });
    await deps.temporal.workflow.signalWithStart(conversationWorkflow, {
      workflowId: makeConversationWorkflowId(igAccountId, customerIgsid),
      taskQueue: deps.taskQueue,
      args: [{ igAccountId, igsid: customerIgsid, channelId }],
      signal: inboundEventsSignal,
      signalArgs: [{ eventIds: inOrder.map((queued) => queued.event.eventKey) }],
      typedSearchAttributes: [
        { key: ChannelIdKey, value: channelId },
        { key: IgAccountIdKey, value: igAccountId },
        { key: CustomerIgsidKey, value: customerIgsid },
        { key: ConversationStateKey, value: 'open' },
      ],
    });
  }

  /**
   * Counts a refusal on each event of the refused signal: tried again after a back-off, or parked with the reason
   * once the attempts are spent. Conditional on `pending`, so an event applied or parked meanwhile keeps its status.
   */
  async function noteRefusal(events: DispatchableEvent[], error: unknown): Promise<void> {
    const byRefusals = new Map<number, DispatchableEvent[]>();
    for (const event of events) {
      const refusals = (event.dispatchRefusals ?? 0) + 1;
      byRefusals.set(refusals, [...(byRefusals.get(refusals) ?? []), event]);
    }
    for (const [refusals, refused] of byRefusals) {
      if (refusals >= refusalRetry.attempts) {
        await park(refused, refusals, error);
        continue;
      }
      const delayMs = Math.min(refusalRetry.baseDelayMs * 2 ** (refusals - 1), refusalRetry.maxDelayMs);
      await deps.models.webhookEvents.updateMany({ _id: { $in: refused.map((event) => event.eventKey) }, status: 'pending' }, { $set: { dispatchRefusals: refusals, nextDispatchAt: new Date(Date.now() + delayMs) } });
    }
  }

  /** Sets aside events whose signal Temporal refused `refusals` times, with the reason; counted by kind as parked. */
  async function park(events: DispatchableEvent[], refusals: number, error: unknown): Promise<void> {
    const problem = `Temporal refused the signal to its conversation ${refusals} times: ${shortMessage(error)}`;
    const byKind = new Map<string, string[]>();
    for (const event of events) byKind.set(event.kind ?? 'unknown', [...(byKind.get(event.kind ?? 'unknown') ?? []), event.eventKey]);
    for (const [kind, eventKeys] of byKind) {
      // Conditional on `pending`: only the events this call parked are counted.
      const parked = await deps.models.webhookEvents.updateMany(
        { _id: { $in: eventKeys }, status: 'pending' },
        { $set: { status: 'parked', problem, dispatchRefusals: refusals, dispatchedAt: null, nextDispatchAt: null } },
      );
      for (let counted = 0; counted < parked.modifiedCount; counted += 1) deps.metrics.inboundEventParked(kind);
    }
    deps.logger.warn('inbound events parked: Temporal refuses their signal', { events: events.length, attempts: refusals, error: shortMessage(error) });
  }

  const mailboxes = createConversationMailboxes<QueuedEvent>(async (workflowId, events) => {
    try {
      await signalConversation(events);
    } catch (error) {
      // The workflow id names the customer: cut, since a refused one may be kilobytes long.
      deps.logger.warn('dispatch failed; the events stay pending for the sweeper', { workflowId: workflowId.slice(0, 200), events: events.length, error: shortMessage(error) });
      if (isRefusal(error)) {
        await noteRefusal(
          events.map((queued) => queued.event),
          error,
        ).catch((noted: unknown) => deps.logger.warn('a refused dispatch could not be counted; it is tried again', { error: shortMessage(noted) }));
      }
      throw error;
    }
  }, concurrency);

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
    deps.metrics.inboundEventRecorded('echo', 'matched-own-send');
    return true;
  }

  /** Dispatches under way, for `settle`. */
  const underWay = new Set<Promise<DispatchReport>>();

  function dispatch(events: DispatchableEvent[], options: { claimed?: boolean } = {}): Promise<DispatchReport> {
    const dispatching = dispatchNow(events, options);
    underWay.add(dispatching);
    const forget = (): void => void underWay.delete(dispatching);
    dispatching.then(forget, forget);
    return dispatching;
  }

  async function dispatchNow(events: DispatchableEvent[], { claimed = false }: { claimed?: boolean } = {}): Promise<DispatchReport> {
    const routable = events.filter((e): e is RoutableEvent => e.igAccountId !== null && e.customerIgsid !== null);
    if (routable.length === 0) return emptyDispatchReport();
    const routes = await routesOf([...new Set(routable.map((e) => e.igAccountId))]);

    const unlinked = routable.filter((e) => !routes.has(e.igAccountId));
    const held = routable.filter((e) => routes.get(e.igAccountId)?.status === 'reauth_required');
    // 'messages_access_off' accounts still receive: only their sends are refused.
    const deliverable = routable.filter((e) => routes.has(e.igAccountId) && routes.get(e.igAccountId)?.status !== 'reauth_required');

    let report = { ...emptyDispatchReport(), unlinked: await markUnlinked(unlinked) };
    if (held.length > 0) report = addDispatchReports(report, await holdUntilReauthenticated(held));
    const channels = new Map([...routes].map(([igAccountId, route]) => [igAccountId, route.channelId]));
    return addDispatchReports(report, await signalInOrder(deliverable, channels, claimed));
  }

  async function markUnlinked(events: RoutableEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    await deps.models.webhookEvents.updateMany({ _id: { $in: events.map((e) => e.eventKey) }, status: 'pending' }, { $set: { status: 'unlinked' } });
    return events.length;
  }

  /**
   * Keeps the events of accounts whose link expired, not shown, until a re-authentication releases them. The status
   * is read again once they are marked: a re-authentication that came in between released what was held before
   * ours, so ours are released here (held-events.ts explains why one of the two always sees the other).
   */
  async function holdUntilReauthenticated(events: RoutableEvent[]): Promise<DispatchReport> {
    await deps.models.webhookEvents.updateMany({ _id: { $in: events.map((e) => e.eventKey) }, status: 'pending' }, { $set: { status: 'held', dispatchedAt: null } });
    const routesNow = await routesOf([...new Set(events.map((e) => e.igAccountId))]);
    const stillHeld = events.filter((e) => routesNow.get(e.igAccountId)?.status === 'reauth_required');
    const reauthenticated = events.filter((e) => routesNow.get(e.igAccountId)?.status !== 'reauth_required');
    deps.metrics.inboundEventsHeld(stillHeld.map((e) => e.kind ?? 'unknown'));
    const report = { ...emptyDispatchReport(), held: stillHeld.length };
    if (reauthenticated.length === 0) return report;
    await reclaimHeldEvents(deps.models, reauthenticated.map((e) => e.eventKey));
    return addDispatchReports(report, await dispatch(reauthenticated, { claimed: true }));
  }

  /**
   * Records, conversation by conversation in Meta's order, the customers' messages to open conversations; takes them
   * out of `byConversation` and answers how many. At a conversation's first event that is not recorded so, the rest
   * of its events stay for its workflow, in order (a closed conversation's next messages open the next one there).
   */
  async function recordWithoutWorkflows(projector: MessageProjector, byConversation: Map<string, QueuedEvent[]>): Promise<number> {
    let recorded = 0;
    await forEachLimited([...byConversation], concurrency, async ([key, queue]) => {
      // As many as it may at once; the others go to their workflows as they are.
      if (conversationsRecording >= maxConversationsRecording) return;
      conversationsRecording += 1;
      try {
        recorded += await recordConversation(projector, byConversation, key, queue);
      } finally {
        conversationsRecording -= 1;
      }
    });
    return recorded;
  }

  /** One conversation's messages in Meta's order, until the first the projector leaves to the workflow. */
  async function recordConversation(projector: MessageProjector, byConversation: Map<string, QueuedEvent[]>, key: string, queue: QueuedEvent[]): Promise<number> {
    let recorded = 0;
    const left: QueuedEvent[] = [];
    let projecting = true;
    for (const queued of [...queue].sort((a, b) => a.event.occurredAt.getTime() - b.event.occurredAt.getTime())) {
      const outcome = projecting ? await projector.project(queued.event) : 'not-projected';
      if (outcome === 'recorded') {
        recorded += 1;
        continue;
      }
      // A message that finds the profile due is recorded, and still told to the workflow, which fetches it.
      if (outcome === 'not-projected') projecting = false;
      left.push(queued);
    }
    if (left.length > 0) byConversation.set(key, left);
    else byConversation.delete(key);
    return recorded;
  }

  /**
   * Each conversation's events go out in Meta's order, gathered with those other deliveries queued for it meanwhile
   * (conversation-mailboxes.ts); conversations in parallel.
   */
  async function signalInOrder(events: RoutableEvent[], channels: Map<string, string>, claimed: boolean): Promise<DispatchReport> {
    const report = emptyDispatchReport();
    const byConversation = new Map<string, QueuedEvent[]>();
    for (const event of events) {
      if (await recordIfEchoOfSentReply(event)) {
        report.ownEchoes += 1;
        continue;
      }
      const key = makeConversationWorkflowId(event.igAccountId, event.customerIgsid);
      byConversation.set(key, [...(byConversation.get(key) ?? []), { event, channelId: channels.get(event.igAccountId)!, claimed }]);
    }
    if (deps.projector !== undefined) report.recorded = await recordWithoutWorkflows(deps.projector, byConversation);
    const notSignalled: string[] = [];
    await Promise.all(
      [...byConversation].map(async ([key, queue]) => {
        const outcomes = await mailboxes.post(key, queue);
        outcomes.forEach((signalled, index) => {
          if (signalled) report.dispatched += 1;
          else notSignalled.push(queue[index]!.event.eventKey);
        });
      }),
    );
    report.failed = notSignalled.length;
    // Back to the sweeper at once (a claimed event would otherwise wait until its claim looks stale).
    if (notSignalled.length > 0) {
      await deps.models.webhookEvents.updateMany({ _id: { $in: notSignalled }, status: 'pending' }, { $set: { dispatchedAt: null } }).catch(() => undefined);
      for (const listener of undispatchedListeners) listener();
    }
    return report;
  }

  return {
    dispatch,
    async settle(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.allSettled([...underWay]), timeout]);
      clearTimeout(timer);
    },
    onUndispatched: (listener) => void undispatchedListeners.push(listener),
    async sweep({ olderThan = new Date(Date.now() - 2000), staleAfterMs = DEFAULT_STALE_CLAIM_MS, orphanedBefore, limit = 1000 } = {}) {
      const now = new Date();
      const staleBefore = new Date(Math.max(now.getTime() - staleAfterMs, orphanedBefore?.getTime() ?? 0));
      // Pending only: held events wait for their account's re-authentication, whatever their age; refused ones wait
      // for the end of their back-off.
      const pending = await deps.models.webhookEvents
        .find(
          {
            status: 'pending',
            $and: [
              { $or: [{ dispatchedAt: null, receivedAt: { $lt: olderThan } }, { dispatchedAt: { $lt: staleBefore } }] },
              { $or: [{ nextDispatchAt: null }, { nextDispatchAt: { $lte: now } }] },
            ],
          },
          { eventKey: 1, igAccountId: 1, customerIgsid: 1, occurredAt: 1, kind: 1, mid: 1, dispatchRefusals: 1 },
        )
        .sort({ receivedAt: 1 })
        .limit(limit)
        .lean<WebhookEvent[]>();
      return dispatch(pending);
    },
  };
}
