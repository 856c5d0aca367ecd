/**
 * Messages as inbound events store them: an id that is never random, the document of a customer's message, of a
 * reply made in the Instagram app or of an unsend's placeholder, its insert once per id, and the lookup of a
 * message by Meta's mid. Every read is by `_id`.
 */
import { insertIfAbsent } from '../../db/insert-if-absent';
import type { Models } from '../../db/models';
import type { LinkedAccount } from '../../db/models/linked-account';
import type { Message } from '../../db/models/message';
import type { OutboundMid } from '../../db/models/outbound-mid';
import type { WebhookEvent } from '../../db/models/webhook-event';
import type { MessageProjection } from '../../domain/webhook-events';
import type { EarlyChanges } from '../../inbound/early-changes';
import type { RecordInboundEventInput } from '../conversation-contract';

/**
 * A stored message's id: Meta's mid, or else one derived from its webhook event's key. Never random, so an activity
 * retried after it inserted the message finds it instead of inserting it twice.
 */
export function messageIdOf(event: Pick<WebhookEvent, '_id' | 'mid'>): string {
  return event.mid ?? `event-${event._id}`;
}

/** What a message shows, without the state that edits, reactions and unsends change later. */
export type MessageFields = Omit<Message, '_id' | 'messageId' | 'deletedAt' | 'editCount' | 'editedAt' | 'reaction' | 'reactionAt' | 'error'>;

type MessageContent = Pick<MessageProjection, 'kind' | 'text' | 'attachments' | 'story' | 'replyToMid'>;

/** The message an event carries: the customer's (inbound, received) or a reply made in the Instagram app (the bot's, sent). */
export function messageFields(event: WebhookEvent, input: RecordInboundEventInput, account: LinkedAccount, content: MessageContent, sender: 'customer' | 'bot'): MessageFields {
  return {
    mid: event.mid ?? undefined,
    conversationId: input.conversationId,
    channelId: account.channelId,
    igAccountId: input.igAccountId,
    igsid: input.igsid,
    direction: sender === 'customer' ? 'inbound' : 'outbound',
    senderType: sender,
    kind: content.kind,
    text: content.text,
    attachments: content.attachments,
    story: content.story,
    replyToMid: content.replyToMid,
    sentAt: event.occurredAt,
    receivedAt: event.receivedAt,
    status: sender === 'customer' ? 'received' : 'sent',
  };
}

/** The whole document of a new message, keyed by `messageIdOf`: never edited or reacted to, unsent at `deletedAt`. */
export function newMessage(event: WebhookEvent, fields: MessageFields, deletedAt: Date | null): Message {
  const messageId = messageIdOf(event);
  return { ...fields, _id: messageId, messageId, deletedAt, editCount: 0, editedAt: null, reaction: null, reactionAt: null, error: null };
}

export function createMessageStore(deps: { models: Pick<Models, 'messages' | 'outboundMids'>; changes: Pick<EarlyChanges, 'applyHeldChanges'> }) {
  const { models, changes } = deps;

  /**
   * Inserts a message once per mid, then applies the edit and reaction that came before it. A message the customer
   * already unsent stays deleted and empty.
   */
  async function insertMessage(event: WebhookEvent, fields: MessageFields): Promise<void> {
    // Keyed by mid: a second delivery, or an unsend that arrived first and left a tombstone, keeps what is there.
    await insertIfAbsent(models.messages, { ...newMessage(event, fields, null) });
    // Also when it was there already: an attempt that stored it may have stopped before this.
    if (fields.mid !== undefined) await changes.applyHeldChanges(fields.mid);
  }

  /**
   * A message by Meta's mid: what customers sent is keyed by it; the engine's own replies are found through their
   * mid index. Both are `_id` lookups.
   */
  async function findByMid(mid: string | null): Promise<Message | null> {
    if (mid === null) return null;
    const keyed = await models.messages.findOne({ _id: mid }).lean<Message>();
    if (keyed) return keyed;
    const own = await models.outboundMids.findOne({ _id: mid }).lean<OutboundMid>();
    return own ? models.messages.findOne({ _id: own.messageId }).lean<Message>() : null;
  }

  return { insertMessage, findByMid };
}

export type MessageStore = ReturnType<typeof createMessageStore>;
