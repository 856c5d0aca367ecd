/**
 * The inbox's read API for what arrived: a channel's conversations, a conversation's messages in the customer's
 * order, and a customer with the usernames it has had. Every route needs a manager's API key and answers only
 * for that manager's channel.
 */
import { z } from 'zod';
import { makeCustomerKey } from '../../db/models/customer';
import { assertOwnChannel, notFound } from '../auth';
import { cursorParameter, nextCursorSchema } from '../cursor';
import {
  conversationSchema,
  conversationWithCustomerSchema,
  customerDetailSchema,
  messageSchema,
  presentConversation,
  presentConversationWithCustomer,
  presentCustomerDetail,
  presentMessage,
} from '../presenters';
import { defineRoute, errorResponse, type RouteDefinition } from '../route-definitions';
import type { InboxReads } from '../services/inbox-reads';

export interface InboxRoutesDeps {
  reads: InboxReads;
  now: () => number;
}

const id = z.string().min(1);
const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback).describe(`Rows per page (1–${max})`);

const listConversationsQuery = z
  .object({
    igAccountId: id.optional().describe('Only this linked Instagram account'),
    igsid: id.optional().describe('Only this customer (with igAccountId)'),
    state: z.enum(['open', 'closed']).optional(),
    limit: limit(200, 50),
    cursor: cursorParameter('conversations').optional(),
  })
  .strict();

const listMessagesQuery = z.object({ limit: limit(1000, 200), cursor: cursorParameter('messages').optional() }).strict();

/** How many of a customer's conversations its answer carries; the rest page through the channel's list. */
const CUSTOMER_CONVERSATIONS = 50;

export function createInboxRoutes(deps: InboxRoutesDeps): RouteDefinition[] {
  const { reads } = deps;
  const tags = ['inbox'];

  return [
    defineRoute({
      method: 'get',
      path: '/v1/channels/:channelId/conversations',
      operationId: 'listConversations',
      summary: "A channel's conversations, newest first",
      description:
        'Ordered by the last message (by the opening time while a conversation has no message yet), then by id. Page with `cursor` = the previous answer’s `nextCursor`.',
      tags,
      auth: 'manager',
      params: z.object({ channelId: id }),
      query: listConversationsQuery,
      responses: {
        200: { description: 'A page of conversations with their customers', schema: z.object({ conversations: z.array(conversationWithCustomerSchema), nextCursor: nextCursorSchema }) },
        404: errorResponse('NotFound: no such channel for this key'),
      },
      handler: async ({ params, query, caller }) => {
        assertOwnChannel(caller, params.channelId, `channel ${params.channelId}`);
        const { limit: pageSize, cursor, ...filter } = query;
        const page = await reads.listConversations(params.channelId, filter, { limit: pageSize, ...(cursor ? { after: cursor } : {}) });
        const customers = await reads.customersOf(page.rows);
        const members = await reads.membersOf(params.channelId, customers.values());
        const conversations = page.rows.map((conversation) => {
          const customer = customers.get(makeCustomerKey(conversation.igAccountId, conversation.igsid));
          return presentConversationWithCustomer(conversation, customer, customer?.memberId ? members.get(customer.memberId) : null);
        });
        return { status: 200, body: { conversations, nextCursor: page.nextCursor } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/conversations/:conversationId',
      operationId: 'getConversation',
      summary: 'One conversation and its customer',
      tags,
      auth: 'manager',
      params: z.object({ conversationId: id }),
      responses: {
        200: { description: 'The conversation', schema: z.object({ conversation: conversationWithCustomerSchema }) },
        404: errorResponse('NotFound: no such conversation in this key’s channel'),
      },
      handler: async ({ params, caller }) => {
        const channelId = caller.manager.channelId;
        const conversation = await reads.findConversation(channelId, params.conversationId);
        if (!conversation) throw notFound(`conversation ${params.conversationId}`);
        const customer = (await reads.customersOf([conversation])).values().next().value ?? null;
        const member = customer?.memberId ? (await reads.membersOf(channelId, [customer])).get(customer.memberId) : null;
        return { status: 200, body: { conversation: presentConversationWithCustomer(conversation, customer, member) } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/conversations/:conversationId/messages',
      operationId: 'listMessages',
      summary: "A conversation's messages in the customer's order",
      description: 'Ordered by Meta’s timestamps (B11), then by id. Page with `cursor` = the previous answer’s `nextCursor`.',
      tags,
      auth: 'manager',
      params: z.object({ conversationId: id }),
      query: listMessagesQuery,
      responses: {
        200: { description: 'A page of messages', schema: z.object({ conversationId: z.string(), messages: z.array(messageSchema), nextCursor: nextCursorSchema }) },
        404: errorResponse('NotFound: no such conversation in this key’s channel'),
      },
      handler: async ({ params, query, caller }) => {
        const conversation = await reads.findConversation(caller.manager.channelId, params.conversationId);
        if (!conversation) throw notFound(`conversation ${params.conversationId}`);
        const page = await reads.listMessages(conversation.conversationId, { limit: query.limit, ...(query.cursor ? { after: query.cursor } : {}) });
        const now = deps.now();
        return { status: 200, body: { conversationId: conversation.conversationId, messages: page.rows.map((m) => presentMessage(m, now)), nextCursor: page.nextCursor } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/customers/:igAccountId/:igsid',
      operationId: 'getCustomer',
      summary: 'A customer, every username it has had, and its conversations in this channel',
      description:
        'Visible to a channel that the Instagram account is linked to now, or that has had a conversation with the customer; only that channel’s conversations are listed (newest first, up to 50; `conversationsNextCursor` continues in `GET /v1/channels/{channelId}/conversations?igAccountId=&igsid=&cursor=`).',
      tags,
      auth: 'manager',
      params: z.object({ igAccountId: id, igsid: id }),
      responses: {
        200: {
          description: 'The customer',
          schema: z.object({ customer: customerDetailSchema, conversations: z.array(conversationSchema), conversationsNextCursor: nextCursorSchema }),
        },
        404: errorResponse('NotFound: no such customer for this key’s channel'),
      },
      handler: async ({ params, caller }) => {
        const channelId = caller.manager.channelId;
        const customer = await reads.findVisibleCustomer(channelId, params.igAccountId, params.igsid);
        if (!customer) throw notFound(`customer ${params.igsid} of account ${params.igAccountId}`);
        const [page, members] = await Promise.all([
          reads.listConversations(channelId, { igAccountId: customer.igAccountId, igsid: customer.igsid }, { limit: CUSTOMER_CONVERSATIONS }),
          reads.membersOf(channelId, [customer]),
        ]);
        return {
          status: 200,
          body: {
            customer: presentCustomerDetail(customer, customer.memberId ? members.get(customer.memberId) : null),
            conversations: page.rows.map(presentConversation),
            conversationsNextCursor: page.nextCursor,
          },
        };
      },
    }),
  ];
}
