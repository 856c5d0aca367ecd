/**
 * Parked events as the API shows them, by who asks: an operator sees every channel's; a manager sees those of the
 * Instagram accounts of their channel (linked now, or unlinked since: an account keeps its channel), and anything
 * else is not found, as everywhere in the API. The listing and the replays themselves are
 * src/inbound/parked-events.ts, shared with the operators' CLI.
 */
import type { Models } from '../../db/models';
import type { LinkedAccount } from '../../db/models/linked-account';
import type { ParkedEvent, ParkedEvents } from '../../inbound/parked-events';
import { pageOf, type CursorPosition } from '../cursor';
import type { Page } from './inbox-reads';

/** Whose parked events a caller may see: every channel's (operators) or one channel's (its managers). */
export type ParkedEventsVisibility = { scope: 'every-channel' } | { scope: 'channel'; channelId: string };

export interface ParkedEventQuery {
  igAccountId?: string | undefined;
  limit: number;
  after?: CursorPosition | undefined;
}

export type ParkedEventReads = ReturnType<typeof createParkedEventReads>;

export function createParkedEventReads(deps: { models: Pick<Models, 'linkedAccounts'>; parked: Pick<ParkedEvents, 'list' | 'find'> }) {
  const { models } = deps;

  const channelOf = async (igAccountId: string): Promise<string | null> =>
    (await models.linkedAccounts.findOne({ _id: igAccountId }, { channelId: 1 }).lean<Pick<LinkedAccount, 'channelId'>>())?.channelId ?? null;

  /** The account exists, and for a manager it is of their channel. */
  async function accountVisible(visibility: ParkedEventsVisibility, igAccountId: string): Promise<boolean> {
    const channelId = await channelOf(igAccountId);
    return channelId !== null && (visibility.scope === 'every-channel' || channelId === visibility.channelId);
  }

  /** The accounts whose events the caller sees: all (undefined), or the ones of their channel. */
  async function visibleAccounts(visibility: ParkedEventsVisibility): Promise<string[] | undefined> {
    if (visibility.scope === 'every-channel') return undefined;
    const accounts = await models.linkedAccounts.find({ channelId: visibility.channelId }, { igAccountId: 1 }).lean<Array<Pick<LinkedAccount, 'igAccountId'>>>();
    return accounts.map((account) => account.igAccountId);
  }

  return {
    accountVisible,

    /** A page of the parked events the caller sees, newest first; null when the account asked for is not theirs. */
    async listVisible(visibility: ParkedEventsVisibility, query: ParkedEventQuery): Promise<Page<ParkedEvent> | null> {
      if (query.igAccountId !== undefined && !(await accountVisible(visibility, query.igAccountId))) return null;
      const igAccountIds = query.igAccountId === undefined ? await visibleAccounts(visibility) : [query.igAccountId];
      const rows = await deps.parked.list({ ...(igAccountIds === undefined ? {} : { igAccountIds }), limit: query.limit + 1, ...(query.after ? { after: query.after } : {}) });
      return pageOf(rows, query.limit, 'parked-events', (event) => ({ at: event.receivedAt.getTime(), id: event._id }));
    },

    /** Any stored webhook event the caller sees (parked or not: a replay answers what became of it). */
    async findVisible(visibility: ParkedEventsVisibility, eventId: string): Promise<ParkedEvent | null> {
      const event = await deps.parked.find(eventId);
      if (!event) return null;
      if (visibility.scope === 'every-channel') return event;
      return event.igAccountId !== null && (await accountVisible(visibility, event.igAccountId)) ? event : null;
    },
  };
}
