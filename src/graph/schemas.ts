/** The documented shapes of Meta's answers (META-API 2.1, 3, 4), checked at the edge with zod. */
import { z } from 'zod';

// Meta documents ids as strings; tolerate numbers, which some older endpoints still return.
const graphId = z.union([z.string().min(1), z.number().int().transform(String)]);

export const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().default('bearer'),
  expires_in: z.coerce.number().int().nonnegative().optional(),
});

export const meResponseSchema = z.looseObject({ id: graphId, name: z.string().optional() });

export const pageSchema = z.looseObject({
  id: graphId,
  name: z.string().default(''),
  access_token: z.string().min(1).optional(),
  tasks: z.array(z.string()).default([]),
  instagram_business_account: z.looseObject({ id: graphId }).optional(),
});

export const pagedListSchema = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    data: z.array(item),
    paging: z.looseObject({ next: z.string().url().optional() }).optional(),
  });

export const debugTokenResponseSchema = z.object({
  data: z.looseObject({
    app_id: graphId.optional(),
    type: z.string().optional(),
    application: z.string().optional(),
    data_access_expires_at: z.number().int().optional(),
    expires_at: z.number().int().optional(),
    is_valid: z.boolean(),
    issued_at: z.number().int().optional(),
    scopes: z.array(z.string()).default([]),
    granular_scopes: z
      .array(z.looseObject({ scope: z.string(), target_ids: z.array(graphId).optional() }))
      .default([]),
    user_id: graphId.optional(),
    profile_id: graphId.optional(),
    error: z
      .looseObject({ code: z.number().int(), message: z.string().default(''), subcode: z.number().int().optional() })
      .optional(),
  }),
});

export const successResponseSchema = z.looseObject({ success: z.boolean() });

export const subscribedAppsResponseSchema = z.looseObject({
  data: z.array(
    z.looseObject({ id: graphId, name: z.string().optional(), subscribed_fields: z.array(z.string()).default([]) }),
  ),
});

export const sendMessageResponseSchema = z.looseObject({
  recipient_id: graphId,
  message_id: z.string().min(1),
});

export const senderActionResponseSchema = z.looseObject({ recipient_id: graphId });

// name and profile_pic are null (or absent, or empty) for users who set none (META-API 3).
const optionalText = z
  .string()
  .nullish()
  .transform((value) => (value === undefined || value === null || value === '' ? null : value));

export const userProfileResponseSchema = z.looseObject({
  id: graphId,
  name: optionalText,
  username: optionalText,
  profile_pic: optionalText,
  follower_count: z.number().int().optional(),
  is_verified_user: z.boolean().optional(),
  is_user_follow_business: z.boolean().optional(),
  is_business_follow_user: z.boolean().optional(),
});

export const instagramAccountResponseSchema = z.looseObject({
  id: graphId,
  username: z.string().optional(),
  name: optionalText,
  profile_picture_url: optionalText,
});

export const storyMentionResponseSchema = z.looseObject({
  id: z.string(),
  story: z.looseObject({ mention: z.looseObject({ link: z.string(), id: graphId }) }).optional(),
});
