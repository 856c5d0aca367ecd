/**
 * What the inbox API answers about conversations, messages, customers and members: the zod schema of each shape
 * (named in the API document) and the function that makes it from a stored document. No storage here.
 */
import { z } from 'zod';
import type { Conversation } from '../db/models/conversation';
import { isAnonymous, type Customer } from '../db/models/customer';
import type { Member } from '../db/models/member';
import { messageStatuses, type Message } from '../db/models/message';
import { namedSchema } from './schema-names';
import { removedLinkSchema, shownLink } from './shown-links';

const isoTime = z.iso.datetime();
const toIso = (value: Date | number | string): string => new Date(value).toISOString();

export const memberSummarySchema = namedSchema(
  'MemberSummary',
  z.object({ memberId: z.string(), name: z.string() }).describe('The member (the channel’s own customer record) this Instagram customer was merged into (B3).'),
);

export const customerSchema = namedSchema(
  'Customer',
  z.object({
    igAccountId: z.string(),
    igsid: z.string().describe('Instagram-scoped id of the customer, per linked account'),
    username: z.string().nullable(),
    name: z.string().nullable(),
    profilePicUrl: z.string().nullable().describe('An https or http link, or null (none, or withheld: see profilePicUrlRemoved)'),
    profilePicUrlRemoved: removedLinkSchema.nullable().describe('Set when Meta gave a picture link that is not served'),
    anonymous: z.boolean().describe('No name or no profile picture (B2)'),
    displayName: z.string().nullable(),
    member: memberSummarySchema.nullable(),
  }),
);

export const customerDetailSchema = namedSchema(
  'CustomerDetail',
  customerSchema.extend({
    usernameHistory: z.array(z.object({ username: z.string(), seenAt: isoTime })).describe('Every username the customer has had (B10)'),
    firstSeenAt: isoTime,
    profileError: z.string().nullable(),
  }),
);

export const conversationSchema = namedSchema(
  'Conversation',
  z.object({
    conversationId: z.string(),
    channelId: z.string(),
    igAccountId: z.string(),
    igsid: z.string(),
    state: z.enum(['open', 'closed']),
    openedAt: isoTime,
    lastCustomerMessageAt: isoTime.nullable(),
    lastMessageAt: isoTime.nullable(),
    windowClosesAt: isoTime.nullable().describe('7 days after the customer’s last message (C4)'),
    closedAt: isoTime.nullable(),
    workflowId: z.string().describe('The conversation workflow in Temporal'),
  }),
);

export const conversationWithCustomerSchema = namedSchema('ConversationWithCustomer', conversationSchema.extend({ customer: customerSchema.nullable() }));

export const messageSchema = namedSchema(
  'Message',
  z.object({
    messageId: z.string(),
    mid: z.string().nullable().describe('Meta’s message id, once Meta gave one'),
    direction: z.enum(['inbound', 'outbound']),
    senderType: z.enum(['customer', 'manager', 'bot', 'system']),
    kind: z.string().describe('text, image, video, audio, file, story_reply, story_mention, post_share, reel_share, story_share, link, postback, unsupported'),
    text: z.string().nullable(),
    attachments: z
      .array(
        z.object({
          type: z.string(),
          url: z.string().nullable().describe('An https or http link, or null (none, or withheld: see urlRemoved)'),
          urlRemoved: removedLinkSchema.nullable().describe('Set when Meta gave a link that is not served'),
          title: z.string().nullable(),
          mediaId: z.string().nullable(),
        }),
      )
      .describe('Media are links, never embedded (B4)'),
    story: z
      .object({
        id: z.string().nullable(),
        url: z.string().nullable().describe('An https or http link, or null (none, or withheld: see urlRemoved)'),
        urlRemoved: removedLinkSchema.nullable().describe('Set when Meta gave a link that is not served'),
        expiresAt: isoTime,
        available: z.boolean(),
      })
      .nullable()
      .describe('A story lives 24 hours (B7)'),
    replyToMid: z.string().nullable(),
    sentAt: isoTime.describe('Meta’s timestamp: the customer’s order (B11)'),
    status: z.enum(messageStatuses as [string, ...string[]]),
    deleted: z.boolean(),
    deletedAt: isoTime.nullable(),
    edited: z.boolean(),
    reaction: z.object({ by: z.string(), reaction: z.string(), emoji: z.string().nullable(), at: isoTime }).nullable(),
    error: z.looseObject({ type: z.string(), message: z.string() }).nullable().describe('Why a reply was not sent'),
    placeholder: z.string().nullable().describe('What to show where the content cannot be shown'),
  }),
);

export const memberSchema = namedSchema(
  'Member',
  z.object({
    memberId: z.string(),
    channelId: z.string(),
    name: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    note: z.string().nullable(),
    instagramProfiles: z
      .array(z.object({ igAccountId: z.string(), igsid: z.string(), username: z.string().nullable(), mergedAt: isoTime, mergedBy: z.string().describe('managerId') }))
      .describe('The Instagram customers merged into this member'),
    createdAt: isoTime,
  }),
);

export function presentMemberSummary(member: Member | null | undefined): z.input<typeof memberSummarySchema> | null {
  return member ? { memberId: member.memberId, name: member.name } : null;
}

/** `member`: the member it was merged into, when that member is of the asking channel (else null). */
export function presentCustomer(customer: Customer, member: Member | null | undefined): z.input<typeof customerSchema> {
  const anonymous = isAnonymous(customer);
  const picture = shownLink(customer.profilePicUrl);
  return {
    igAccountId: customer.igAccountId,
    igsid: customer.igsid,
    username: customer.username,
    name: customer.name,
    profilePicUrl: picture.url,
    profilePicUrlRemoved: picture.removed,
    anonymous,
    displayName: anonymous ? 'Anonymous' : (customer.name ?? customer.username),
    member: presentMemberSummary(member),
  };
}

export function presentCustomerDetail(customer: Customer, member: Member | null | undefined): z.input<typeof customerDetailSchema> {
  return {
    ...presentCustomer(customer, member),
    usernameHistory: customer.usernameHistory.map((entry) => ({ username: entry.username, seenAt: toIso(entry.seenAt) })),
    firstSeenAt: toIso(customer.firstSeenAt),
    profileError: customer.profileError,
  };
}

export function presentConversation(conversation: Conversation): z.input<typeof conversationSchema> {
  return {
    conversationId: conversation.conversationId,
    channelId: conversation.channelId,
    igAccountId: conversation.igAccountId,
    igsid: conversation.igsid,
    state: conversation.state,
    openedAt: toIso(conversation.openedAt),
    lastCustomerMessageAt: conversation.lastCustomerMessageAt ? toIso(conversation.lastCustomerMessageAt) : null,
    lastMessageAt: conversation.lastMessageAt ? toIso(conversation.lastMessageAt) : null,
    windowClosesAt: conversation.windowClosesAt ? toIso(conversation.windowClosesAt) : null,
    closedAt: conversation.closedAt ? toIso(conversation.closedAt) : null,
    workflowId: conversation.workflowId,
  };
}

export function presentConversationWithCustomer(conversation: Conversation, customer: Customer | null | undefined, member: Member | null | undefined): z.input<typeof conversationWithCustomerSchema> {
  return { ...presentConversation(conversation), customer: customer ? presentCustomer(customer, member) : null };
}

export function presentMessage(message: Message, now: number): z.input<typeof messageSchema> {
  const deleted = message.deletedAt !== null;
  return {
    messageId: message.messageId,
    mid: message.mid ?? null,
    direction: message.direction,
    senderType: message.senderType,
    kind: message.kind,
    text: message.text,
    attachments: message.attachments.map((attachment) => {
      const link = shownLink(attachment.url);
      return { type: attachment.type, url: link.url, urlRemoved: link.removed, title: attachment.title, mediaId: attachment.mediaId };
    }),
    story: presentStory(message.story, now),
    replyToMid: message.replyToMid,
    sentAt: toIso(message.sentAt),
    status: message.status,
    deleted,
    deletedAt: message.deletedAt ? toIso(message.deletedAt) : null,
    edited: message.editCount > 0,
    reaction: message.reaction ? { by: message.reaction.by, reaction: message.reaction.reaction, emoji: message.reaction.emoji, at: toIso(message.reaction.at) } : null,
    error: message.error ? { ...message.error } : null,
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

/** B7: a story lives 24 hours; the inbox says when its link no longer opens. */
function presentStory(story: Message['story'], now: number): z.input<typeof messageSchema>['story'] {
  if (!story) return null;
  const link = shownLink(story.url);
  return { id: story.id, url: link.url, urlRemoved: link.removed, expiresAt: toIso(story.expiresAt), available: story.expiresAt > now };
}

export function presentMember(member: Member): z.input<typeof memberSchema> {
  return {
    memberId: member.memberId,
    channelId: member.channelId,
    name: member.name,
    email: member.email,
    phone: member.phone,
    note: member.note,
    instagramProfiles: member.instagramProfiles.map((profile) => ({
      igAccountId: profile.igAccountId,
      igsid: profile.igsid,
      username: profile.username,
      mergedAt: toIso(profile.mergedAt),
      mergedBy: profile.mergedBy,
    })),
    createdAt: toIso(member.createdAt),
  };
}
