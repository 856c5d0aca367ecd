/**
 * Inbox data written straight into a test engine's database (no Meta, no workflows): channels with a manager's
 * key, linked accounts, customers, conversations and messages, with the times a test asks for, so that tests of
 * the inbox API can make rows that share a millisecond.
 */
import { randomUUID } from 'node:crypto';
import { createChannelDirectory } from '../../src/channels/directory';
import type { Models } from '../../src/db/models';
import type { ManagerRole } from '../../src/db/models/manager';
import type { Conversation } from '../../src/db/models/conversation';
import { makeCustomerKey, type Customer } from '../../src/db/models/customer';
import { newLinkedAccount, type LinkStatus } from '../../src/db/models/linked-account';
import type { Message } from '../../src/db/models/message';
import type { WebhookEvent, WebhookEventStatus } from '../../src/db/models/webhook-event';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of the API, read field by field
export type Json = Record<string, any>;

export const uid = (): string => randomUUID().slice(0, 8);

export interface TestChannel {
  channelId: string;
  /** The channel's first manager, an owner, and their key. */
  managerId: string;
  keyId: string;
  apiKey: string;
}

export interface TestManager {
  managerId: string;
  keyId: string;
  apiKey: string;
}

export function createInboxFixtures(models: Models) {
  const directory = createChannelDirectory({ models, now: Date.now });
  return {
    directory,

    /** A channel with an owner, made the way the admin route makes it. */
    async channel(prefix = 'channel'): Promise<TestChannel> {
      const created = await directory.createChannelWithOwner({ channelId: `${prefix}-${uid()}`, name: `Channel ${prefix}`, ownerName: 'Owner' });
      return { channelId: created.channel.channelId, managerId: created.manager.managerId, keyId: created.keyId, apiKey: created.apiKey };
    },

    /** Another manager of a channel, with a key. */
    async manager(channelId: string, role: ManagerRole, name = `${role} ${uid()}`): Promise<TestManager> {
      const created = await directory.addManager({ channelId, name, role });
      return { managerId: created.manager.managerId, keyId: created.keyId, apiKey: created.apiKey };
    },

    async linkAccount(igAccountId: string, channelId: string, status: LinkStatus = 'active'): Promise<void> {
      const account = { ...newLinkedAccount({ igAccountId, channelId, pageId: `page-${igAccountId}`, username: `${igAccountId}.shop`, pageToken: { keyId: 'k1', iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' } }), status };
      await models.linkedAccounts.replaceOne({ _id: igAccountId }, account, { upsert: true });
    },

    async customer(igAccountId: string, igsid: string, channelId: string, fields: Partial<Customer> = {}): Promise<Customer> {
      const customer: Customer = {
        _id: makeCustomerKey(igAccountId, igsid),
        igAccountId,
        igsid,
        channelId,
        username: `user.${igsid}`,
        name: `Customer ${igsid}`,
        profilePicUrl: 'https://cdn.example/p.jpg',
        usernameHistory: [{ username: `user.${igsid}`, seenAt: new Date(Date.UTC(2026, 0, 1)) }],
        profileFetchedAt: new Date(),
        profileError: null,
        memberId: null,
        firstSeenAt: new Date(Date.UTC(2026, 0, 1)),
        ...fields,
      };
      await models.customers.collection.insertOne({ ...customer } as never);
      return customer;
    },

    /** Conversations of one customer; `lastMessageAt: null` makes one that has only a referral so far. */
    async conversations(base: { channelId: string; igAccountId: string; igsid: string }, rows: Array<{ openedAt: Date; lastMessageAt: Date | null; state?: 'open' | 'closed' }>): Promise<Conversation[]> {
      const conversations: Conversation[] = rows.map((row) => {
        const conversationId = `conv-${randomUUID()}`;
        return {
          _id: conversationId,
          conversationId,
          ...base,
          state: row.state ?? 'open',
          workflowId: `ig-conversation/${base.igAccountId}/${base.igsid}`,
          openedAt: row.openedAt,
          lastCustomerMessageAt: row.lastMessageAt,
          windowClosesAt: row.lastMessageAt ? new Date(row.lastMessageAt.getTime() + 7 * 24 * 3600 * 1000) : null,
          lastMessageAt: row.lastMessageAt,
          lastReadMid: null,
          lastReferral: row.lastMessageAt ? null : { ref: 'ad-1', source: 'ADS', at: row.openedAt },
          closedAt: null,
        };
      });
      if (conversations.length > 0) await models.conversations.collection.insertMany(conversations.map((c) => ({ ...c })) as never[]);
      return conversations;
    },

    /** `count` customer text messages of a conversation, all sent at `sentAt`. */
    async messages(conversation: Conversation, count: number, sentAt: Date): Promise<Message[]> {
      const messages: Message[] = Array.from({ length: count }, (_, index) => {
        const mid = `mid-${randomUUID()}`;
        return {
          _id: mid,
          messageId: mid,
          mid,
          conversationId: conversation.conversationId,
          channelId: conversation.channelId,
          igAccountId: conversation.igAccountId,
          igsid: conversation.igsid,
          direction: 'inbound',
          senderType: 'customer',
          kind: 'text',
          text: `message ${index}`,
          attachments: [],
          story: null,
          replyToMid: null,
          sentAt,
          receivedAt: sentAt,
          status: 'received',
          deletedAt: null,
          editCount: 0,
          reaction: null,
          error: null,
        };
      });
      if (messages.length > 0) await models.messages.collection.insertMany(messages.map((m) => ({ ...m })) as never[]);
      return messages;
    },

    /**
     * A customer's text message as the ingress stores it, in the status a test asks for (by default parked, as the
     * conversation workflow leaves an event it could not record): the real payload, so a replay records it.
     */
    async webhookEvent(
      igAccountId: string,
      igsid: string,
      fields: { text?: string; occurredAt?: Date; receivedAt?: Date; status?: WebhookEventStatus; problem?: string; recordAttempts?: number | null } = {},
    ): Promise<WebhookEvent> {
      const mid = `mid-${randomUUID()}`;
      const occurredAt = fields.occurredAt ?? new Date();
      const status = fields.status ?? 'parked';
      const event: WebhookEvent = {
        _id: `message:${mid}`,
        eventKey: `message:${mid}`,
        status,
        kind: 'message',
        igAccountId,
        customerIgsid: igsid,
        mid,
        occurredAt,
        receivedAt: fields.receivedAt ?? occurredAt,
        payload: { sender: { id: igsid }, recipient: { id: igAccountId }, timestamp: occurredAt.getTime(), message: { mid, text: fields.text ?? `text of ${mid}` } },
        problem: status === 'parked' ? (fields.problem ?? 'the database did not answer') : null,
        skipReason: null,
        conversationId: null,
        dispatchAttempts: 1,
        dispatchedAt: occurredAt,
        recordedAt: null,
        ...(status === 'parked' ? { recordAttempts: fields.recordAttempts === undefined ? 10 : fields.recordAttempts } : {}),
      };
      await models.webhookEvents.collection.insertOne({ ...event } as never);
      return event;
    },
  };
}

export type InboxFixtures = ReturnType<typeof createInboxFixtures>;

/** A call on the API with a manager's key (or none, or any Authorization header). */
export function createApiCaller(baseUrl: string) {
  return async (
    method: string,
    path: string,
    options: { key?: string | null; authorization?: string; body?: unknown; rawBody?: string; contentType?: string } = {},
  ): Promise<{ status: number; body: Json; text: string; contentType: string }> => {
    const headers: Record<string, string> = {};
    if (options.authorization !== undefined) headers.authorization = options.authorization;
    else if (options.key) headers.authorization = `Bearer ${options.key}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    let json: Json = {};
    if (contentType.includes('json')) json = JSON.parse(text);
    return { status: response.status, body: json, text, contentType };
  };
}

export type ApiCaller = ReturnType<typeof createApiCaller>;

/**
 * Pages through a list route with its `nextCursor` until the end; answers the ids of the rows (field `idField`),
 * how many pages it took, and each page's `unreadCount` where the route gives one.
 */
export async function pageThrough(
  call: ApiCaller,
  path: string,
  options: { key: string; field: string; idField: string; limit: number },
): Promise<{ ids: string[]; pages: number; unreadCounts: number[] }> {
  const ids: string[] = [];
  const unreadCounts: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page = await call('GET', `${path}${separator}limit=${options.limit}${cursor ? `&cursor=${cursor}` : ''}`, { key: options.key });
    expect(page.status).toBe(200);
    pages += 1;
    ids.push(...(page.body[options.field] as Array<Record<string, string>>).map((row) => row[options.idField]!));
    if (page.body.unreadCount !== undefined) unreadCounts.push(page.body.unreadCount as number);
    cursor = page.body.nextCursor as string | null;
    expect(pages).toBeLessThan(100);
  } while (cursor !== null);
  return { ids, pages, unreadCounts };
}
