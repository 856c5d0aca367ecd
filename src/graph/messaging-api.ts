/**
 * Messaging calls: the Send API (a message, or a sender action such as typing) and reading the story a customer
 * mentioned the account in. A message send is not idempotent: a timeout leaves its outcome unknown.
 */
import { senderActionResponseSchema, sendMessageResponseSchema, storyMentionResponseSchema } from './schemas';
import type { GraphRequester } from './transport';

export type OutgoingMessage = { kind: 'text'; text: string } | { kind: 'image'; url: string };

export interface SendMessageInput {
  /** A Page access token of the Page linked to the sending Instagram account. */
  accessToken: string;
  /** The id in the path: the Page id, the Instagram account id, or "me" (the token's Page). */
  senderId?: string;
  recipientId: string;
  message: OutgoingMessage;
  /** Needed between 24 hours and 7 days after the customer's last message (META-API 2.4). */
  tag?: 'HUMAN_AGENT';
  replyToMid?: string;
}

export interface SentMessage {
  recipientId: string;
  messageId: string;
}

export type SenderAction = 'typing_on' | 'typing_off' | 'mark_seen';

export interface MessagingApi {
  sendMessage(input: SendMessageInput): Promise<SentMessage>;
  sendSenderAction(input: { accessToken: string; senderId?: string; recipientId: string; action: SenderAction }): Promise<void>;
  /** A fresh link to the story a customer mentioned the account in; undefined when the story is gone. */
  getStoryMention(mid: string, accessToken: string): Promise<{ link: string; storyId: string } | undefined>;
}

function sendMessageBody(input: SendMessageInput) {
  const message =
    input.message.kind === 'text'
      ? { text: input.message.text }
      : { attachment: { type: 'image', payload: { url: input.message.url } } };
  return {
    recipient: { id: input.recipientId },
    message,
    ...(input.tag === undefined ? { messaging_type: 'RESPONSE' } : { messaging_type: 'MESSAGE_TAG', tag: input.tag }),
    ...(input.replyToMid === undefined ? {} : { reply_to: { mid: input.replyToMid } }),
  };
}

export function createMessagingApi(request: GraphRequester): MessagingApi {
  return {
    async sendMessage(input) {
      const data = await request({
        method: 'POST',
        path: `/${encodeURIComponent(input.senderId ?? 'me')}/messages`,
        accessToken: input.accessToken,
        body: sendMessageBody(input),
        schema: sendMessageResponseSchema,
        idempotent: false,
        errorContext: input.message.kind === 'text' ? { sentText: input.message.text } : {},
      });
      return { recipientId: data.recipient_id, messageId: data.message_id };
    },

    async sendSenderAction(input) {
      await request({
        method: 'POST',
        path: `/${encodeURIComponent(input.senderId ?? 'me')}/messages`,
        accessToken: input.accessToken,
        body: { recipient: { id: input.recipientId }, sender_action: input.action },
        schema: senderActionResponseSchema,
        idempotent: true,
      });
    },

    async getStoryMention(mid, accessToken) {
      const data = await request({
        method: 'GET',
        path: `/${encodeURIComponent(mid)}`,
        query: { fields: 'story' },
        accessToken,
        schema: storyMentionResponseSchema,
        idempotent: true,
      });
      const mention = data.story?.mention;
      return mention === undefined ? undefined : { link: mention.link, storyId: String(mention.id) };
    },
  };
}
