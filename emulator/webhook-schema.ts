/**
 * The emulator's own parser of Instagram messaging webhooks (META-API 1.3-1.6). The sender checks every payload
 * with it before signing, and it accepts Meta's documentation examples (test/fixtures/meta), so what the
 * emulator sends and what Meta documents are held to one definition. Unknown keys are kept: Meta adds fields.
 */
import { z } from 'zod';

const id = z.string().min(1);
const epochMs = z.number().int().nonnegative();

export const attachmentSchema = z.looseObject({
  type: z.string().min(1),
  // Disappearing ("ephemeral") media and some link shares come with no payload.
  payload: z
    .looseObject({
      url: z.string().optional(),
      title: z.string().optional(),
      reel_video_id: z.union([z.string(), z.number()]).optional(),
      ig_post_media_id: z.union([z.string(), z.number()]).optional(),
      story_media_id: z.union([z.string(), z.number()]).optional(),
      story_media_url: z.string().optional(),
    })
    .nullish(),
});

const referralSchema = z.looseObject({
  ref: z.string().optional(),
  source: z.string().optional(),
  type: z.string().optional(),
  ad_id: z.string().optional(),
  product: z.looseObject({ id: id }).optional(),
});

export const messageSchema = z.looseObject({
  mid: id,
  text: z.string().optional(),
  attachments: z.array(attachmentSchema).optional(),
  is_deleted: z.boolean().optional(),
  is_echo: z.boolean().optional(),
  is_self: z.boolean().optional(),
  is_unsupported: z.boolean().optional(),
  // Messenger documents app_id on echoes as a number; accept the string form too.
  app_id: z.union([z.string(), z.number()]).optional(),
  quick_reply: z.looseObject({ payload: z.string() }).optional(),
  referral: referralSchema.optional(),
  reply_to: z
    .looseObject({ mid: z.string().optional(), story: z.looseObject({ url: z.string(), id: id }).optional() })
    .optional(),
});

const reactionSchema = z.looseObject({
  mid: id,
  action: z.enum(['react', 'unreact']),
  reaction: z.string().optional(),
  emoji: z.string().optional(),
});

const eventKinds = ['message', 'reaction', 'read', 'postback', 'referral', 'message_edit'] as const;

export const messagingEventSchema = z
  .looseObject({
    sender: z.looseObject({ id }),
    recipient: z.looseObject({ id }),
    timestamp: epochMs,
    message: messageSchema.optional(),
    reaction: reactionSchema.optional(),
    read: z.looseObject({ mid: id }).optional(),
    postback: z.looseObject({ mid: z.string().optional(), title: z.string().optional(), payload: z.string() }).optional(),
    referral: referralSchema.optional(),
    message_edit: z.looseObject({ mid: id, text: z.string().optional(), num_edit: z.union([z.number(), z.string()]) }).optional(),
  })
  .refine((event) => eventKinds.filter((kind) => event[kind] !== undefined).length >= 1, {
    message: `a messaging event carries one of: ${eventKinds.join(', ')}`,
  });

export const webhookEntrySchema = z.looseObject({
  id,
  time: epochMs,
  messaging: z.array(messagingEventSchema).optional(),
  standby: z.array(messagingEventSchema).optional(),
  changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })).optional(),
});

export const webhookPayloadSchema = z.object({
  object: z.literal('instagram'),
  // "a batch with a maximum of 1000 updates" (META-API 1.7).
  entry: z.array(webhookEntrySchema).min(1).max(1000),
});

export type WebhookAttachment = z.infer<typeof attachmentSchema>;
export type WebhookMessage = z.infer<typeof messageSchema>;
export type MessagingEvent = z.infer<typeof messagingEventSchema>;
export type WebhookEntry = z.infer<typeof webhookEntrySchema>;
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

export class WebhookPayloadError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid Instagram webhook payload: ${problems.join('; ')}`);
    this.name = 'WebhookPayloadError';
  }
}

/** Parses the raw bytes of a delivery (never a re-serialized copy). */
export function parseWebhookPayload(raw: string | Uint8Array): WebhookPayload {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new WebhookPayloadError([`not JSON: ${(error as Error).message}`]);
  }
  const parsed = webhookPayloadSchema.safeParse(json);
  if (!parsed.success) {
    throw new WebhookPayloadError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  return parsed.data;
}
