/**
 * The inbox's reads, always within one channel: conversations and messages page by page, and customers as that
 * channel may see them. Routes ask here; nothing here knows HTTP.
 */
import type { FilterQuery } from 'mongoose';
import type { Models } from '../../db/models';
import type { Conversation } from '../../db/models/conversation';
import { makeCustomerKey, type Customer } from '../../db/models/customer';
import type { Member } from '../../db/models/member';
import type { Message } from '../../db/models/message';
import { pageOf, type CursorPosition } from '../cursor';

export interface PageRequest {
  limit: number;
  after?: CursorPosition;
}

export interface Page<T> {
  rows: T[];
  nextCursor: string | null;
}

export interface ConversationFilter {
  igAccountId?: string;
  igsid?: string;
  state?: 'open' | 'closed';
}

/**
 * A conversation's place in the newest-first list: its last message, or when it has none yet (only a referral so
 * far) when it was opened. Never null, so every conversation is listed.
 */
export function conversationSortTime(conversation: Pick<Conversation, 'lastMessageAt' | 'openedAt'>): number {
  return (conversation.lastMessageAt ?? conversation.openedAt).getTime();
}

/** Newest first; the id breaks ties (descending too). */
function newerFirst(a: Conversation, b: Conversation): number {
  return conversationSortTime(b) - conversationSortTime(a) || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);
}

export type InboxReads = ReturnType<typeof createInboxReads>;

export function createInboxReads(deps: { models: Pick<Models, 'conversations' | 'customers' | 'messages' | 'members' | 'linkedAccounts'> }) {
  const { models } = deps;

  return {
    /**
     * The sort time is `lastMessageAt`, else `openedAt`; the database cannot sort by such an expression here
     * (FerretDB has no `$ifNull`), so the two kinds are read apart, each in its own order, and merged.
     */
    async listConversations(channelId: string, filter: ConversationFilter, page: PageRequest): Promise<Page<Conversation>> {
      const base: FilterQuery<Conversation> = { channelId };
      if (filter.igAccountId !== undefined) base.igAccountId = filter.igAccountId;
      if (filter.igsid !== undefined) base.igsid = filter.igsid;
      if (filter.state !== undefined) base.state = filter.state;
      const after = page.after;
      const olderThanCursor = (field: 'lastMessageAt' | 'openedAt'): FilterQuery<Conversation> =>
        after ? { $or: [{ [field]: { $lt: new Date(after.at) } }, { [field]: new Date(after.at), _id: { $lt: after.id } }] } : {};
      const [withMessages, withoutMessages] = await Promise.all([
        models.conversations
          .find({ ...base, ...(after ? olderThanCursor('lastMessageAt') : { lastMessageAt: { $ne: null } }) })
          .sort({ lastMessageAt: -1, _id: -1 })
          .limit(page.limit + 1)
          .lean<Conversation[]>(),
        models.conversations
          .find({ ...base, lastMessageAt: null, ...olderThanCursor('openedAt') })
          .sort({ openedAt: -1, _id: -1 })
          .limit(page.limit + 1)
          .lean<Conversation[]>(),
      ]);
      const merged = [...withMessages, ...withoutMessages].sort(newerFirst).slice(0, page.limit + 1);
      const { rows, nextCursor } = pageOf(merged, page.limit, 'conversations', (c) => ({ at: conversationSortTime(c), id: c._id }));
      return { rows, nextCursor };
    },

    /** The conversation, or null when it does not exist or is another channel's. */
    async findConversation(channelId: string, conversationId: string): Promise<Conversation | null> {
      const conversation = await models.conversations.findOne({ _id: conversationId }).lean<Conversation>();
      return conversation && conversation.channelId === channelId ? conversation : null;
    },

    /** B11: the customer's order is Meta's timestamp, whatever order the webhooks came in; the id breaks ties. */
    async listMessages(conversationId: string, page: PageRequest): Promise<Page<Message>> {
      const after = page.after;
      const filter: FilterQuery<Message> = { conversationId };
      if (after) filter.$or = [{ sentAt: { $gt: new Date(after.at) } }, { sentAt: new Date(after.at), _id: { $gt: after.id } }];
      const messages = await models.messages.find(filter).sort({ sentAt: 1, _id: 1 }).limit(page.limit + 1).lean<Message[]>();
      return pageOf(messages, page.limit, 'messages', (m) => ({ at: m.sentAt.getTime(), id: m._id }));
    },

    /**
     * The customer as a channel may see it: when the Instagram account is linked to that channel now, or when the
     * channel has had a conversation with the customer (an account that moved to another channel keeps its past
     * conversations readable where they happened). Otherwise null, as if it did not exist.
     */
    async findVisibleCustomer(channelId: string, igAccountId: string, igsid: string): Promise<Customer | null> {
      const customer = await models.customers.findOne({ _id: makeCustomerKey(igAccountId, igsid) }).lean<Customer>();
      if (!customer) return null;
      const linkedHere = await models.linkedAccounts.exists({ _id: igAccountId, channelId, status: { $ne: 'unlinked' } });
      if (linkedHere) return customer;
      const talkedHere = await models.conversations.exists({ channelId, igAccountId, igsid });
      return talkedHere ? customer : null;
    },

    async customersOf(conversations: readonly Conversation[]): Promise<Map<string, Customer>> {
      if (conversations.length === 0) return new Map();
      const keys = [...new Set(conversations.map((c) => makeCustomerKey(c.igAccountId, c.igsid)))];
      const customers = await models.customers.find({ _id: { $in: keys } }).lean<Customer[]>();
      return new Map(customers.map((customer) => [customer._id, customer]));
    },

    /** The members these customers were merged into, of this channel only: another channel's member is never shown. */
    async membersOf(channelId: string, customers: Iterable<Customer | null | undefined>): Promise<Map<string, Member>> {
      const ids = [...new Set([...customers].flatMap((customer) => (customer?.memberId ? [customer.memberId] : [])))];
      if (ids.length === 0) return new Map();
      const members = await models.members.find({ _id: { $in: ids }, channelId }).lean<Member[]>();
      return new Map(members.map((member) => [member._id, member]));
    },
  };
}
