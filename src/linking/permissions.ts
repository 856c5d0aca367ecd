/** What the engine asks of Meta when an owner links accounts: the permissions, and the webhook fields of each Page. */

/**
 * Every permission the engine needs (Facebook Login flavour): reading the Instagram account and its messages,
 * sending, subscribing the Page to webhooks, listing the owner's Pages and businesses.
 */
export const REQUIRED_SCOPES = [
  'instagram_basic',
  'instagram_manage_messages',
  'pages_manage_metadata',
  'pages_read_engagement',
  'pages_show_list',
  'business_management',
] as const;

/** The Page's webhook fields the inbound path reads: messages (and echoes), reactions, reads, postbacks, referrals. */
export const WEBHOOK_FIELDS = ['messages', 'message_reactions', 'messaging_seen', 'messaging_postbacks', 'messaging_referral'] as const;

/** What each permission is for, in the error that names a missing one. */
export const SCOPE_PURPOSES: Record<(typeof REQUIRED_SCOPES)[number], string> = {
  instagram_basic: 'read the Instagram account',
  instagram_manage_messages: 'receive and send Instagram messages',
  pages_manage_metadata: "subscribe the Page to Instagram's webhooks",
  pages_read_engagement: "read the Page's content",
  pages_show_list: 'list the Pages the account manages',
  business_management: 'read the chosen business',
};
