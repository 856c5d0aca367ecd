/**
 * Parked events: an event the conversation workflow could not record within its bounded attempts is set aside as
 * `parked`, with the reason and the attempts (src/activities/inbound/event-outcomes.ts), so the customer's next
 * events go on; so is an event whose signal Temporal keeps refusing (src/inbound/dispatcher.ts). Here they are listed, and replayed once the cause is fixed.
 *
 * A replay makes the event pending again and hands it to the dispatcher, the path the ingress takes: it goes to its
 * conversation workflow, in Meta's order with the other events replayed with it (the workflow no longer remembers a
 * parked event, so it takes it); for an account that is not linked, or whose link expired, it gets the status the
 * dispatcher gives such events (`unlinked`, `held`) and is kept, never lost.
 *
 * Never dispatched twice: the event becomes pending by a write conditional on `parked`, so of two replays at once
 * only one wins it. That write also claims it for the dispatch that follows, as the ingress claims what it stores:
 * the sweeper leaves it to that dispatch, and takes it over if the dispatch fails (Temporal unreachable).
 */
import type { FilterQuery } from 'mongoose';
import type { Models } from '../db/models';
import type { WebhookEvent, WebhookEventStatus } from '../db/models/webhook-event';
import { emptyDispatchReport, type DispatchReport, type InboundDispatcher } from './dispatcher';

export interface ParkedEventsDeps {
  models: Pick<Models, 'webhookEvents'>;
  dispatcher: Pick<InboundDispatcher, 'dispatch'>;
  now?: () => number;
}

export type ParkedEvent = Pick<
  WebhookEvent,
  '_id' | 'status' | 'kind' | 'igAccountId' | 'customerIgsid' | 'mid' | 'occurredAt' | 'receivedAt' | 'problem' | 'recordAttempts' | 'replays' | 'replayedAt'
>;

/** Which parked events: of these accounts only, or of every account when absent. */
export interface ParkedEventFilter {
  igAccountIds?: readonly string[];
}

export interface ParkedEventPage extends ParkedEventFilter {
  limit: number;
  /** The position after which the page starts: the receive time (ms) and id of the last row of the page before. */
  after?: { at: number; id: string };
}

/**
 * What became of a replayed event: handed to its conversation (`dispatched`); pending until the sweeper hands it
 * over (`queued`, Temporal did not take it); kept for an account whose link expired (`held`) or that is not linked
 * (`unlinked`); or, for the echo of a reply already sent, recorded at once (`recorded`).
 */
export type ReplayOutcome = 'dispatched' | 'queued' | 'held' | 'unlinked' | 'recorded';

export type EventReplay =
  | { outcome: 'replayed'; eventId: string; dispatch: ReplayOutcome }
  | { outcome: 'not-found' }
  /** Not parked (any more): its status now, e.g. `pending` when another replay took it first. */
  | { outcome: 'not-parked'; status: WebhookEventStatus };

export type AccountReplay = { replayed: number } & Record<ReplayOutcome, number>;

export type ParkedEvents = ReturnType<typeof createParkedEvents>;

const listedFields = { status: 1, kind: 1, igAccountId: 1, customerIgsid: 1, mid: 1, occurredAt: 1, receivedAt: 1, problem: 1, recordAttempts: 1, replays: 1, replayedAt: 1 } as const;

function parkedFilter(filter: ParkedEventFilter): FilterQuery<WebhookEvent> {
  return filter.igAccountIds === undefined ? { status: 'parked' } : { status: 'parked', igAccountId: { $in: [...filter.igAccountIds] } };
}

/** The dispatcher's report as outcomes; `queued` for what it could not hand over. */
function outcomesOf(report: DispatchReport): Record<ReplayOutcome, number> {
  return { dispatched: report.dispatched, queued: report.failed, held: report.held, unlinked: report.unlinked, recorded: report.ownEchoes };
}

/** The one outcome of a replay of one event. */
function outcomeOf(report: DispatchReport): ReplayOutcome {
  const counted = Object.entries(outcomesOf(report)).find(([, count]) => count > 0);
  // The dispatcher reports every routable event, and a parked event is routable (a workflow had it).
  return (counted?.[0] as ReplayOutcome | undefined) ?? 'queued';
}

export function createParkedEvents(deps: ParkedEventsDeps) {
  const { models } = deps;
  const now = deps.now ?? Date.now;

  /** Parked again → pending, claimed for the dispatch that follows. False when it is not parked (any more). */
  async function claim(eventId: string): Promise<boolean> {
    const at = new Date(now());
    const claimed = await models.webhookEvents.updateOne(
      { _id: eventId, status: 'parked' },
      // The refusals counted before are forgiven: a replay comes once the cause is fixed.
      { $set: { status: 'pending', dispatchedAt: at, replayedAt: at, problem: null, dispatchRefusals: 0, nextDispatchAt: null }, $inc: { replays: 1, dispatchAttempts: 1 } },
    );
    return claimed.matchedCount > 0;
  }

  const find = (eventId: string): Promise<ParkedEvent | null> => models.webhookEvents.findOne({ _id: eventId }, listedFields).lean<ParkedEvent>();

  return {
    find,

    /** Newest first by the time Meta delivered them, the id breaking ties. */
    async list(page: ParkedEventPage): Promise<ParkedEvent[]> {
      const after = page.after;
      const filter = parkedFilter(page);
      if (after) filter.$or = [{ receivedAt: { $lt: new Date(after.at) } }, { receivedAt: new Date(after.at), _id: { $lt: after.id } }];
      return models.webhookEvents.find(filter, listedFields).sort({ receivedAt: -1, _id: -1 }).limit(page.limit).lean<ParkedEvent[]>();
    },

    count(filter: ParkedEventFilter): Promise<number> {
      return models.webhookEvents.countDocuments(parkedFilter(filter));
    },

    async replay(eventId: string): Promise<EventReplay> {
      const event = await find(eventId);
      if (!event) return { outcome: 'not-found' };
      if (!(await claim(eventId))) {
        // Read again: another replay may have taken it between the two reads.
        const current = await find(eventId);
        return current ? { outcome: 'not-parked', status: current.status } : { outcome: 'not-found' };
      }
      const report = await deps.dispatcher.dispatch([{ ...event, eventKey: event._id }], { claimed: true });
      return { outcome: 'replayed', eventId, dispatch: outcomeOf(report) };
    },

    /** Every parked event of the account, in Meta's order; what another replay took meanwhile is left to it. */
    async replayAccount(igAccountId: string): Promise<AccountReplay> {
      const parked = await models.webhookEvents.find({ igAccountId, status: 'parked' }, listedFields).sort({ occurredAt: 1, _id: 1 }).lean<ParkedEvent[]>();
      const claimed: ParkedEvent[] = [];
      for (const event of parked) if (await claim(event._id)) claimed.push(event);
      if (claimed.length === 0) return { replayed: 0, ...outcomesOf(emptyDispatchReport()) };
      const report = await deps.dispatcher.dispatch(
        claimed.map((event) => ({ ...event, eventKey: event._id })),
        { claimed: true },
      );
      return { replayed: claimed.length, ...outcomesOf(report) };
    },
  };
}
