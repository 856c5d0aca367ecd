/**
 * What happens in Instagram's inbox, turned into webhook events: a customer's messages and actions, the
 * business's replies from the Instagram app, and the echoes of messages sent through the Send API.
 * Shapes follow META-API 1.3-1.6.
 */
import { z } from 'zod';
import { graphErrors } from './graph-errors';
import { placeholderMedia, type PlaceholderKind } from './placeholder-media';
import type { EmulatorState } from './state';
import type { StoredAttachment, StoredMessage } from './state-records';
import type { MessagingEvent } from './webhook-schema';
import type { WebhookSender } from './webhook-sender';

export interface MessagingDeps {
  state: EmulatorState;
  webhooks: WebhookSender;
  publicBaseUrl: () => string;
}

const reactionEmoji: Record<string, string> = {
  like: '\u{1F44D}',
  love: '\u{2764}\u{FE0F}',
  laugh: '\u{1F606}',
  wow: '\u{1F62E}',
  sad: '\u{1F622}',
  angry: '\u{1F621}',
};

const optionalUrl = z.string().url().optional();

/** Messenger allows at most 5 edits of a message (META-API 1.6, message_edit). */
export const MAX_MESSAGE_EDITS = 5;

/** What the control API can make a customer do (one `kind` per webhook shape). */
export const customerActionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string().min(1), replyToMid: z.string().optional(), quickReplyPayload: z.string().optional() }),
  z.object({ kind: z.literal('image'), url: optionalUrl }),
  z.object({ kind: z.literal('gif'), url: optionalUrl }),
  z.object({ kind: z.literal('video'), url: optionalUrl }),
  z.object({ kind: z.literal('audio'), url: optionalUrl }),
  z.object({ kind: z.literal('file'), url: optionalUrl }),
  z.object({ kind: z.literal('story_reply'), text: z.string().min(1), storyId: z.string().optional() }),
  z.object({ kind: z.literal('story_mention') }),
  z.object({ kind: z.literal('post_share'), caption: z.string().default(''), postId: z.string().optional() }),
  z.object({ kind: z.literal('reel_share'), title: z.string().default('') }),
  z.object({
    kind: z.literal('reaction'),
    mid: z.string().min(1),
    action: z.enum(['react', 'unreact']).default('react'),
    reaction: z.enum(['like', 'love', 'laugh', 'wow', 'sad', 'angry', 'other']).default('love'),
    emoji: z.string().optional(),
  }),
  z.object({ kind: z.literal('unsend'), mid: z.string().min(1) }),
  z.object({ kind: z.literal('edit'), mid: z.string().min(1), text: z.string().min(1) }),
  z.object({ kind: z.literal('unsupported') }),
  z.object({ kind: z.literal('read'), mid: z.string().optional() }),
  z.object({ kind: z.literal('postback'), title: z.string().min(1), payload: z.string().min(1) }),
  z.object({ kind: z.literal('referral'), ref: z.string().max(2083).regex(/^[A-Za-z0-9_=-]*$/) }),
]);
export type CustomerAction = z.infer<typeof customerActionSchema>;

export interface CustomerActionResult {
  igsid: string;
  mid?: string;
  timestamp: number;
  event: MessagingEvent;
  /** How many apps the webhook was queued for (0: no app subscribed to this account's Page for the field). */
  queuedFor: number;
}

export function createMessaging(deps: MessagingDeps) {
  const { state, webhooks } = deps;
  const cdn = (path: string): string => `${deps.publicBaseUrl()}/_cdn/${path}`;

  /** A CDN path that does not depend on where the emulator listens (seeding happens before the port is known). */
  function mediaPath(kind: PlaceholderKind): string {
    const placeholder = placeholderMedia[kind];
    const media = state.addMedia(placeholder.contentType, placeholder.bytes);
    return `/_cdn/media/${media.id}`;
  }

  function mediaUrl(kind: PlaceholderKind): string {
    return absolute(mediaPath(kind));
  }

  function absolute(pathOrUrl: string): string {
    return pathOrUrl.startsWith('/') ? `${deps.publicBaseUrl()}${pathOrUrl}` : pathOrUrl;
  }

  function storyUrl(storyId: string): string {
    return cdn(`stories/${storyId}`);
  }

  function publish(igAccountId: string, field: string, event: MessagingEvent): number {
    return webhooks.publish({ igAccountId, field, event });
  }

  function requireMessage(mid: string, igAccountId: string, igsid: string): StoredMessage {
    const message = state.messagesByMid.get(mid);
    if (!message || message.igAccountId !== igAccountId || message.igsid !== igsid) {
      throw graphErrors.invalidParameter(`no message ${mid} in this conversation`);
    }
    return message;
  }

  /** Makes Instagram user `igUserId` do `action` towards the professional account `igAccountId`. */
  function customerAct(igAccountId: string, igUserId: string, action: CustomerAction): CustomerActionResult {
    state.requireIgAccount(igAccountId);
    if (!state.igUsers.has(igUserId)) throw graphErrors.invalidParameter(`no Instagram user ${igUserId}`);
    const igsid = state.scopedId(igAccountId, igUserId);
    const timestamp = state.clock.now();
    const envelope = { sender: { id: igsid }, recipient: { id: igAccountId }, timestamp };

    const sendMessage = (content: { text?: string; attachments?: StoredAttachment[]; storyId?: string }, extra: Record<string, unknown> = {}) => {
      const stored = state.recordMessage({ igAccountId, igsid, direction: 'inbound', source: 'customer', at: timestamp, ...content });
      state.touchWindow(igAccountId, igsid, timestamp);
      const message = {
        mid: stored.mid,
        ...(content.text === undefined ? {} : { text: content.text }),
        ...(content.attachments === undefined ? {} : { attachments: content.attachments }),
        ...extra,
      };
      const event = { ...envelope, message } as MessagingEvent;
      return { igsid, mid: stored.mid, timestamp, event, queuedFor: publish(igAccountId, 'messages', event) };
    };

    switch (action.kind) {
      case 'text':
        return sendMessage(
          { text: action.text },
          {
            ...(action.quickReplyPayload === undefined ? {} : { quick_reply: { payload: action.quickReplyPayload } }),
            ...(action.replyToMid === undefined ? {} : { reply_to: { mid: requireMessage(action.replyToMid, igAccountId, igsid).mid } }),
          },
        );
      case 'image':
      case 'video':
      case 'audio':
      case 'file':
        return sendMessage({ attachments: [{ type: action.kind, payload: { url: action.url ?? mediaUrl(action.kind) } }] });
      case 'gif':
        // "image, gif, or sticker" share the image type (META-API 1.5).
        return sendMessage({ attachments: [{ type: 'image', payload: { url: action.url ?? mediaUrl('gif') } }] });
      case 'story_reply': {
        const story = action.storyId === undefined ? state.addStory({ kind: 'business', igAccountId }) : state.stories.get(action.storyId);
        if (!story || story.owner.kind !== 'business' || story.owner.igAccountId !== igAccountId) {
          throw graphErrors.invalidParameter(`no story ${action.storyId ?? ''} of this account`);
        }
        return sendMessage({ text: action.text, storyId: story.id }, { reply_to: { story: { url: storyUrl(story.id), id: story.id } } });
      }
      case 'story_mention': {
        const story = state.addStory({ kind: 'customer', igUserId });
        return sendMessage({ attachments: [{ type: 'story_mention', payload: { url: storyUrl(story.id) } }], storyId: story.id });
      }
      case 'post_share': {
        const postId = action.postId ?? String(17_000_000_000_000_000 + Math.floor(Math.random() * 1e15));
        const url = mediaUrl('image');
        // Since 2025-11-03 a post share carries both a share and an ig_post attachment (META-API 1.5).
        return sendMessage({
          attachments: [
            { type: 'share', payload: { url } },
            { type: 'ig_post', payload: { url, title: action.caption, ig_post_media_id: postId } },
          ],
        });
      }
      case 'reel_share': {
        const reelId = String(18_000_000_000_000_000 + Math.floor(Math.random() * 1e15));
        return sendMessage({ attachments: [{ type: 'ig_reel', payload: { url: mediaUrl('video'), title: action.title, reel_video_id: reelId } }] });
      }
      case 'unsupported':
        return sendMessage({}, { is_unsupported: true });
      case 'unsend': {
        const original = requireMessage(action.mid, igAccountId, igsid);
        if (original.direction !== 'inbound') throw graphErrors.invalidParameter('a customer can unsend only their own messages');
        original.deleted = true;
        // The original mid, no text (META-API 1.4); unsending does not move the window.
        const event = { ...envelope, message: { mid: original.mid, is_deleted: true } } as MessagingEvent;
        return { igsid, mid: original.mid, timestamp, event, queuedFor: publish(igAccountId, 'messages', event) };
      }
      case 'edit': {
        const original = requireMessage(action.mid, igAccountId, igsid);
        if (original.direction !== 'inbound') throw graphErrors.invalidParameter('a customer can edit only their own messages');
        if (original.deleted) throw graphErrors.invalidParameter('an unsent message cannot be edited');
        const edits = (original.edits ?? 0) + 1;
        if (edits > MAX_MESSAGE_EDITS) throw graphErrors.invalidParameter(`a message can be edited at most ${MAX_MESSAGE_EDITS} times`);
        original.edits = edits;
        original.text = action.text;
        // The original mid, the new text and the edit's number (an integer, as Messenger defines it); editing does
        // not move the window.
        const event = { ...envelope, message_edit: { mid: original.mid, text: action.text, num_edit: edits } } as MessagingEvent;
        return { igsid, mid: original.mid, timestamp, event, queuedFor: publish(igAccountId, 'message_edit', event) };
      }
      case 'reaction': {
        const target = requireMessage(action.mid, igAccountId, igsid);
        const reaction =
          action.action === 'unreact'
            ? { mid: target.mid, action: 'unreact' as const }
            : { mid: target.mid, action: 'react' as const, reaction: action.reaction, emoji: action.emoji ?? reactionEmoji[action.reaction] ?? '\u{2764}\u{FE0F}' };
        const event = { ...envelope, reaction } as MessagingEvent;
        return { igsid, mid: target.mid, timestamp, event, queuedFor: publish(igAccountId, 'message_reactions', event) };
      }
      case 'read': {
        const conversation = state.conversation(igAccountId, igsid);
        const lastOutbound = [...conversation.messages].reverse().find((message) => message.direction === 'outbound');
        const mid = action.mid ?? lastOutbound?.mid;
        if (mid === undefined) throw graphErrors.invalidParameter('nothing to mark as read: the business has sent nothing');
        const event = { ...envelope, read: { mid } } as MessagingEvent;
        return { igsid, mid, timestamp, event, queuedFor: publish(igAccountId, 'messaging_seen', event) };
      }
      case 'postback': {
        const stored = state.recordMessage({ igAccountId, igsid, direction: 'inbound', source: 'customer', at: timestamp, text: action.title });
        state.touchWindow(igAccountId, igsid, timestamp);
        const event = { ...envelope, postback: { mid: stored.mid, title: action.title, payload: action.payload } } as MessagingEvent;
        return { igsid, mid: stored.mid, timestamp, event, queuedFor: publish(igAccountId, 'messaging_postbacks', event) };
      }
      case 'referral': {
        state.touchWindow(igAccountId, igsid, timestamp);
        const event = { ...envelope, referral: { ref: action.ref, source: 'SHORTLINK', type: 'OPEN_THREAD' } } as MessagingEvent;
        return { igsid, timestamp, event, queuedFor: publish(igAccountId, 'messaging_referral', event) };
      }
    }
  }

  /** The echo of a message the business sent: through the Send API (with the app id) or the Instagram app (without). */
  function publishEcho(message: StoredMessage): number {
    const event = {
      sender: { id: message.igAccountId },
      recipient: { id: message.igsid },
      timestamp: message.at,
      message: {
        mid: message.mid,
        ...(message.text === undefined ? {} : { text: message.text }),
        ...(message.attachments === undefined ? {} : { attachments: message.attachments }),
        is_echo: true,
        // Messenger documents app_id on echoes as a number.
        ...(message.appId === undefined ? {} : { app_id: Number(message.appId) }),
      },
    } as MessagingEvent;
    return publish(message.igAccountId, 'message_echoes', event);
  }

  function replyFromInstagramApp(igAccountId: string, igsid: string, text: string): { message: StoredMessage; queuedFor: number } {
    state.requireIgAccount(igAccountId);
    const owner = state.resolveScopedId(igsid);
    if (!owner || owner.igAccountId !== igAccountId) throw graphErrors.invalidParameter(`no customer ${igsid} for this account`);
    const message = state.recordMessage({ igAccountId, igsid, direction: 'outbound', source: 'instagram_app', at: state.clock.now(), text });
    return { message, queuedFor: publishEcho(message) };
  }

  return { customerAct, publishEcho, replyFromInstagramApp, mediaPath, mediaUrl, absolute, storyUrl, cdn };
}

export type Messaging = ReturnType<typeof createMessaging>;
