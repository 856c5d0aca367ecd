/**
 * The `message` of a message or echo event, projected into what the inbox stores and shows: its kind, text,
 * attachments (links, never embedded media), the story it replies to or mentions, and the message it replies to.
 * Lenient field by field: an odd value costs that value only, and an attachment type not known is shown as a link.
 */
import { z } from 'zod';

export const STORY_LIFETIME_MS = 24 * 60 * 60 * 1000;

export type MessageKind =
  | 'text'
  | 'image'
  | 'video'
  | 'audio'
  | 'file'
  | 'story_reply'
  | 'story_mention'
  | 'post_share'
  | 'reel_share'
  | 'story_share'
  | 'link'
  | 'postback'
  | 'unsupported';

export type AttachmentType = 'image' | 'video' | 'audio' | 'file' | 'story' | 'post' | 'reel' | 'link';

/** Media are never embedded: the inbox shows each as a link that opens it (B4). */
export interface MessageAttachment {
  type: AttachmentType;
  url: string | null;
  title: string | null;
  mediaId: string | null;
}

export interface StoryReference {
  id: string | null;
  url: string | null;
  /** A story lives 24 hours; after that its link no longer opens (B7). */
  expiresAt: number;
}

export interface MessageProjection {
  kind: MessageKind;
  text: string | null;
  attachments: MessageAttachment[];
  story: StoryReference | null;
  replyToMid: string | null;
  quickReplyPayload: string | null;
}

// Lenient field by field on purpose: one odd value (a null caption, a numeric url, a quick_reply without payload)
// must cost that value only, never the attachment or the message text around it (B4: nothing is dropped).
const optionalText = z.string().optional().catch(undefined);
const optionalId = z.union([z.string(), z.number()]).optional().catch(undefined);

const attachmentItemSchema = z.looseObject({
  type: z.string().catch(''),
  payload: z
    .looseObject({
      url: optionalText,
      title: optionalText,
      reel_video_id: optionalId,
      ig_post_media_id: optionalId,
      story_media_id: optionalId,
      story_media_url: optionalText,
      id: optionalId,
    })
    .nullish()
    .catch(null),
});

const messageBodySchema = z.looseObject({
  mid: z.string(),
  text: z.string().optional(),
  is_unsupported: z.boolean().optional().catch(undefined),
  attachments: z.array(z.unknown()).optional().catch(undefined),
  quick_reply: z.looseObject({ payload: z.string() }).optional().catch(undefined),
  reply_to: z
    .looseObject({ mid: optionalText, story: z.looseObject({ url: optionalText, id: optionalId }).optional().catch(undefined) })
    .optional()
    .catch(undefined),
});

/** How each attachment type Meta sends is shown. GIFs and stickers arrive as images (B4). */
const attachmentTypes: Record<string, { type: AttachmentType; kind: MessageKind }> = {
  image: { type: 'image', kind: 'image' },
  video: { type: 'video', kind: 'video' },
  audio: { type: 'audio', kind: 'audio' },
  file: { type: 'file', kind: 'file' },
  story_mention: { type: 'story', kind: 'story_mention' },
  share: { type: 'post', kind: 'post_share' },
  ig_post: { type: 'post', kind: 'post_share' },
  ig_reel: { type: 'reel', kind: 'reel_share' },
  reel: { type: 'reel', kind: 'reel_share' },
  ig_story: { type: 'story', kind: 'story_share' },
  story: { type: 'story', kind: 'story_share' },
  fallback: { type: 'link', kind: 'link' },
  media: { type: 'link', kind: 'link' },
};

/** The attachments of a message as shown, the kind the first one gives the message, and whether media were left out. */
interface ReadAttachments {
  attachments: MessageAttachment[];
  kind: MessageKind | null;
  /** Disappearing media (vanish mode) were sent: there is nothing the inbox can show of them. */
  unsupportedMedia: boolean;
}

function isSharePair(a: string | undefined, b: string): boolean {
  return (a === 'share' && b === 'ig_post') || (a === 'ig_post' && b === 'share');
}

/**
 * Reads the attachments in their order; unknown types become links and items that are not even objects become
 * links with nothing to open, never dropped.
 */
function readAttachments(items: unknown[]): ReadAttachments {
  const read: ReadAttachments = { attachments: [], kind: null, unsupportedMedia: false };
  // Which type Meta gave each kept attachment: a share and an ig_post in one message are the same post.
  const sourceTypes = new Map<MessageAttachment, string>();
  for (const raw of items) {
    const parsed = attachmentItemSchema.safeParse(raw);
    if (!parsed.success) {
      read.attachments.push({ type: 'link', url: null, title: null, mediaId: null });
      read.kind ??= 'link';
      continue;
    }
    if (parsed.data.type === 'ephemeral') {
      read.unsupportedMedia = true;
      continue;
    }
    const { attachment, kind, source } = attachmentOf(parsed.data);
    if (attachment.type === 'post' && mergeIntoTwin(read.attachments, attachment, source, sourceTypes)) continue;
    read.attachments.push(attachment);
    sourceTypes.set(attachment, source);
    read.kind ??= kind;
  }
  return read;
}

function attachmentOf({ type, payload: p }: z.infer<typeof attachmentItemSchema>): { attachment: MessageAttachment; kind: MessageKind; source: string } {
  // Own properties only: a type named like an Object member ("constructor") is an unknown type, not a match.
  const known = Object.hasOwn(attachmentTypes, type) ? attachmentTypes[type]! : { type: 'link' as const, kind: 'link' as const };
  const rawMediaId = p?.ig_post_media_id ?? p?.reel_video_id ?? p?.story_media_id ?? p?.id ?? null;
  const attachment: MessageAttachment = {
    type: known.type,
    url: p?.url ?? p?.story_media_url ?? null,
    title: p?.title ?? null,
    mediaId: rawMediaId === null ? null : String(rawMediaId),
  };
  return { attachment, kind: known.kind, source: type };
}

/**
 * Since 2025-11-03 a post share comes as two attachments (share, then ig_post with the caption and media id) for
 * the same post: keep one, with what either of them carries. Keeping only the first used to lose the ig_post's
 * caption and media id, since the share comes first. Answers whether `post` was merged into one already kept.
 */
function mergeIntoTwin(kept: MessageAttachment[], post: MessageAttachment, source: string, sourceTypes: Map<MessageAttachment, string>): boolean {
  const { url, mediaId } = post;
  const twin = kept.find(
    (a) => a.type === 'post' && ((url !== null && a.url === url) || (mediaId !== null && a.mediaId === mediaId) || isSharePair(sourceTypes.get(a), source)),
  );
  if (!twin) return false;
  twin.url ??= url;
  twin.title ??= post.title;
  twin.mediaId ??= mediaId;
  sourceTypes.set(twin, 'share+ig_post');
  return true;
}

/** Projects the `message` of a message or echo event. Unknown attachment types become links, never vanish. */
export function projectMessage(payload: unknown, occurredAt: number): MessageProjection {
  const message = messageBodySchema.safeParse((payload as { message?: unknown } | null)?.message);
  if (!message.success) {
    return { kind: 'unsupported', text: null, attachments: [], story: null, replyToMid: null, quickReplyPayload: null };
  }
  const body = message.data;
  const { attachments, kind: attachmentKind, unsupportedMedia } = readAttachments(body.attachments ?? []);
  const story = body.reply_to?.story;
  const text = body.text ?? null;
  const base = { text, attachments, replyToMid: body.reply_to?.mid ?? null, quickReplyPayload: body.quick_reply?.payload ?? null };

  if (body.is_unsupported || (unsupportedMedia && attachments.length === 0 && text === null)) {
    return { ...base, kind: 'unsupported', story: null };
  }
  if (story) {
    return { ...base, kind: 'story_reply', story: { id: story.id === undefined ? null : String(story.id), url: story.url ?? null, expiresAt: occurredAt + STORY_LIFETIME_MS } };
  }
  if (attachmentKind === 'story_mention') {
    const mention = attachments.find((a) => a.type === 'story');
    return { ...base, kind: 'story_mention', story: { id: mention?.mediaId ?? null, url: mention?.url ?? null, expiresAt: occurredAt + STORY_LIFETIME_MS } };
  }
  if (attachmentKind) return { ...base, kind: attachmentKind, story: null };
  return { ...base, kind: 'text', story: null };
}
