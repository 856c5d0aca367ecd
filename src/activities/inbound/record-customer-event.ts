/**
 * What customers initiate: a message, a postback (a button tapped) and an ig.me referral. Each creates the
 * customer when new, moves the 7-day window from Meta's time of it, and answers whether the customer's profile is
 * due. A message and a postback are shown in the conversation; a referral is kept on it as its last referral.
 */
import { projectMessage, type MessageProjection } from '../../domain/webhook-events';
import type { RecordedInboundEvent } from '../conversation-contract';
import type { ConversationWrites } from './conversation-writes';
import type { CustomerProfiles } from './customer-profile';
import type { EventOutcomes } from './event-outcomes';
import type { EventToApply, KindRecorders } from './record-event';
import { messageFields, type MessageStore } from './stored-messages';

export interface CustomerEventDeps {
  customers: Pick<CustomerProfiles, 'ensureCustomer'>;
  conversations: Pick<ConversationWrites, 'touchConversation'>;
  messages: Pick<MessageStore, 'insertMessage'>;
  outcomes: Pick<EventOutcomes, 'skip'>;
}

export function createCustomerEventRecorders(deps: CustomerEventDeps): Pick<KindRecorders, 'message' | 'postback' | 'referral'> {
  const { customers, conversations, messages } = deps;

  /**
   * Moves the window and shows what the customer sent in the conversation. The conversation first: recorded by the
   * ingress, the message goes in only if that move found the conversation still open.
   */
  async function storeCustomerMessage({ event, input, account, recorded }: EventToApply, content: MessageProjection): Promise<RecordedInboundEvent> {
    const profileDue = await customers.ensureCustomer(account, input.igsid, input.firstOfConversation);
    await conversations.touchConversation(input, account, { customerMessageAt: event.occurredAt, messageAt: event.occurredAt });
    await messages.insertMessage(event, messageFields(event, input, account, content, 'customer'));
    return { ...recorded, profileDue };
  }

  async function recordMessage(target: EventToApply): Promise<RecordedInboundEvent> {
    const { event, input, account, payload } = target;
    const projection = projectMessage(payload, event.occurredAt.getTime());
    // Each account chooses whether these open conversations (A11).
    if (projection.kind === 'story_mention' && !account.settings.openOnStoryMention) return deps.outcomes.skip(event, input, 'story mentions do not open conversations for this account (A11)');
    if (projection.kind === 'post_share' && !account.settings.openOnPostShare) return deps.outcomes.skip(event, input, 'shared posts do not open conversations for this account (A11)');
    return storeCustomerMessage(target, projection);
  }

  /** A button tapped shows as its title (or else its payload). */
  async function recordPostback(target: EventToApply): Promise<RecordedInboundEvent> {
    const postback = (target.payload.postback ?? {}) as { title?: string; payload?: string };
    const text = postback.title ?? postback.payload ?? null;
    return storeCustomerMessage(target, { kind: 'postback', text, attachments: [], story: null, replyToMid: null, quickReplyPayload: null });
  }

  async function recordReferral({ event, input, account, payload, recorded }: EventToApply): Promise<RecordedInboundEvent> {
    const referral = (payload.referral ?? {}) as { ref?: string; source?: string };
    const profileDue = await customers.ensureCustomer(account, input.igsid, input.firstOfConversation);
    const lastReferral = { ref: referral.ref ?? null, source: referral.source ?? null, at: event.occurredAt };
    await conversations.touchConversation(input, account, { customerMessageAt: event.occurredAt, set: { lastReferral } });
    return { ...recorded, profileDue };
  }

  return { message: recordMessage, postback: recordPostback, referral: recordReferral };
}
