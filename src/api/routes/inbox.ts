/**
 * The inbox's read API for what arrived: a channel's conversations, a conversation's messages in the customer's
 * order, and a customer with the usernames it has had. Every route needs a manager's API key.
 */
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Models } from '../../db/models';
import type { Conversation } from '../../db/models/conversation';
import { isAnonymous, makeCustomerKey, type Customer } from '../../db/models/customer';
import type { Message } from '../../db/models/message';
import { assertSameChannel, createManagerAuth } from '../auth';
import { HttpError, validationError } from '../errors';

export interface InboxRouterDeps {
  models: Models;
  now: () => number;
}

const listConversationsQuery = z
  .object({
    igAccountId: z.string().min(1).optional(),
    state: z.enum(['open', 'closed']).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** Pagination: conversations whose last message is older than this ISO time. */
    before: z.iso.datetime().optional(),
  })
  .strict();

const listMessagesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(200),
    /** Pagination: messages sent after this ISO time. */
    after: z.iso.datetime().optional(),
  })
  .strict();

function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw validationError(parsed.error, 'query');
  return parsed.data;
}

function presentCustomer(customer: Customer | null | undefined) {
  if (!customer) return null;
  return {
    igAccountId: customer.igAccountId,
    igsid: customer.igsid,
    username: customer.username,
    name: customer.name,
    profilePicUrl: customer.profilePicUrl,
    anonymous: isAnonymous(customer),
    displayName: isAnonymous(customer) ? 'Anonymous' : (customer.name ?? customer.username),
    memberId: customer.memberId,
  };
}

function presentConversation(conversation: Conversation, customer?: Customer | null) {
  return {
    conversationId: conversation.conversationId,
    channelId: conversation.channelId,
    igAccountId: conversation.igAccountId,
    igsid: conversation.igsid,
    state: conversation.state,
    openedAt: conversation.openedAt.toISOString(),
    lastCustomerMessageAt: conversation.lastCustomerMessageAt?.toISOString() ?? null,
    lastMessageAt: conversation.lastMessageAt?.toISOString() ?? null,
    windowClosesAt: conversation.windowClosesAt?.toISOString() ?? null,
    closedAt: conversation.closedAt?.toISOString() ?? null,
    workflowId: conversation.workflowId,
    ...(customer === undefined ? {} : { customer: presentCustomer(customer) }),
  };
}

function presentMessage(message: Message, now: number) {
  const deleted = message.deletedAt !== null;
  return {
    messageId: message.messageId,
    mid: message.mid ?? null,
    direction: message.direction,
    senderType: message.senderType,
    kind: message.kind,
    text: message.text,
    attachments: message.attachments,
    // B7: a story lives 24 hours; the inbox says when its link no longer opens.
    story: message.story ? { ...message.story, expiresAt: new Date(message.story.expiresAt).toISOString(), available: message.story.expiresAt > now } : null,
    replyToMid: message.replyToMid,
    sentAt: message.sentAt.toISOString(),
    status: message.status,
    deleted,
    deletedAt: message.deletedAt?.toISOString() ?? null,
    edited: message.editCount > 0,
    reaction: message.reaction,
    error: message.error,
    // What an inbox shows where the content cannot be shown.
    placeholder: deleted
      ? 'This message was unsent by the customer.'
      : message.kind === 'unsupported'
        ? 'This message cannot be shown (unsupported or sent in vanish mode). Open Instagram to see it.'
        : message.story && message.story.expiresAt <= now
          ? 'This story is no longer available.'
          : null,
  };
}

async function loadConversation(models: Models, res: Response, conversationId: string): Promise<Conversation> {
  const conversation = await models.conversations.findOne({ _id: conversationId }).lean<Conversation>();
  if (!conversation) throw new HttpError(404, 'NotFound', `conversation ${conversationId} not found`);
  assertSameChannel(res, conversation.channelId, `conversation ${conversationId}`);
  return conversation;
}

export function createInboxRouter(deps: InboxRouterDeps): Router {
  const { models } = deps;
  const router = Router();
  router.use('/v1', createManagerAuth(models));

  router.get('/v1/channels/:channelId/conversations', async (req, res) => {
    assertSameChannel(res, req.params.channelId, `channel ${req.params.channelId}`);
    const query = parseQuery(listConversationsQuery, req.query);
    const filter: Record<string, unknown> = { channelId: req.params.channelId };
    if (query.igAccountId) filter.igAccountId = query.igAccountId;
    if (query.state) filter.state = query.state;
    if (query.before) filter.lastMessageAt = { $lt: new Date(query.before) };
    const conversations = await models.conversations.find(filter).sort({ lastMessageAt: -1, openedAt: -1 }).limit(query.limit).lean<Conversation[]>();
    const customers =
      conversations.length === 0 ? [] : await models.customers.find({ _id: { $in: conversations.map((c) => makeCustomerKey(c.igAccountId, c.igsid)) } }).lean<Customer[]>();
    const byKey = new Map(customers.map((c) => [`${c.igAccountId}/${c.igsid}`, c]));
    res.json({ conversations: conversations.map((c) => presentConversation(c, byKey.get(`${c.igAccountId}/${c.igsid}`) ?? null)) });
  });

  router.get('/v1/conversations/:conversationId', async (req, res) => {
    const conversation = await loadConversation(models, res, req.params.conversationId);
    const customer = await models.customers.findOne({ _id: makeCustomerKey(conversation.igAccountId, conversation.igsid) }).lean<Customer>();
    res.json({ conversation: presentConversation(conversation, customer) });
  });

  router.get('/v1/conversations/:conversationId/messages', async (req, res) => {
    const conversation = await loadConversation(models, res, req.params.conversationId);
    const query = parseQuery(listMessagesQuery, req.query);
    const filter: Record<string, unknown> = { conversationId: conversation.conversationId };
    if (query.after) filter.sentAt = { $gt: new Date(query.after) };
    // B11: the customer's order is Meta's timestamp, whatever order the webhooks came in.
    const messages = await models.messages.find(filter).sort({ sentAt: 1, mid: 1 }).limit(query.limit).lean<Message[]>();
    const now = deps.now();
    res.json({ conversationId: conversation.conversationId, messages: messages.map((m) => presentMessage(m, now)) });
  });

  router.get('/v1/customers/:igAccountId/:igsid', async (req, res) => {
    const customer = await models.customers.findOne({ _id: makeCustomerKey(req.params.igAccountId, req.params.igsid) }).lean<Customer>();
    if (!customer) throw new HttpError(404, 'NotFound', `customer ${req.params.igsid} of account ${req.params.igAccountId} not found`);
    assertSameChannel(res, customer.channelId, `customer ${req.params.igsid} of account ${req.params.igAccountId}`);
    const conversations = await models.conversations.find({ igAccountId: customer.igAccountId, igsid: customer.igsid }).sort({ openedAt: -1 }).limit(100).lean<Conversation[]>();
    res.json({
      customer: {
        ...presentCustomer(customer),
        usernameHistory: customer.usernameHistory.map((entry) => ({ username: entry.username, seenAt: entry.seenAt.toISOString() })),
        firstSeenAt: customer.firstSeenAt.toISOString(),
        profileError: customer.profileError,
      },
      conversations: conversations.map((c) => presentConversation(c)),
    });
  });

  return router;
}
