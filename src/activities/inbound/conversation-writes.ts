/**
 * Writes to a conversation, by `_id`: what an event changes on it (the customer's last message and the 7-day window,
 * the last message, the last read, the last ig.me referral), creating it on its first event (and its entry among the
 * open conversations), and its close. Times only move forward (`$max`), so a late old event never shortens the window.
 */
import { insertIfAbsent } from '../../db/insert-if-absent';
import type { Models } from '../../db/models';
import type { Conversation } from '../../db/models/conversation';
import type { LinkedAccount } from '../../db/models/linked-account';
import { nextWindowClosesAt } from '../../domain/window';
import { makeConversationWorkflowId } from '../../temporal/names';
import type { CloseConversationInput, CloseConversationOutcome, RecordInboundEventInput } from '../conversation-contract';

/** What an event changes on its conversation. */
export interface ConversationTouch {
  /** A customer-initiated event: the window moves from Meta's time of it. */
  customerMessageAt?: Date;
  messageAt?: Date;
  set?: Record<string, unknown>;
}

type ConversationOf = Pick<RecordInboundEventInput, 'conversationId' | 'igAccountId' | 'igsid' | 'workflowId' | 'onlyIfOpen'>;

/** The ingress found the conversation closed (or gone) when its message came to move it: the workflow takes the message. */
export class ConversationNotOpenError extends Error {
  constructor(conversationId: string) {
    super(`conversation ${conversationId} is no longer open`);
    this.name = 'ConversationNotOpenError';
  }
}

/** The later times an event brings, for `$max`. */
function laterTimes(update: ConversationTouch): Record<string, Date> {
  const max: Record<string, Date> = {};
  if (update.customerMessageAt) {
    max.lastCustomerMessageAt = update.customerMessageAt;
    max.windowClosesAt = new Date(nextWindowClosesAt(undefined, update.customerMessageAt.getTime()));
  }
  if (update.messageAt) max.lastMessageAt = update.messageAt;
  return max;
}

/** A conversation opened by its first event, with what that event brings. */
function newConversation(input: ConversationOf, account: LinkedAccount, openedAt: Date, changes: Record<string, unknown>): Conversation {
  return {
    _id: input.conversationId,
    conversationId: input.conversationId,
    channelId: account.channelId,
    igAccountId: input.igAccountId,
    igsid: input.igsid,
    state: 'open',
    workflowId: input.workflowId,
    openedAt,
    lastCustomerMessageAt: null,
    windowClosesAt: null,
    lastMessageAt: null,
    lastReadMid: null,
    lastReferral: null,
    closedAt: null,
    ...changes,
  };
}

export function createConversationWrites(deps: { models: Pick<Models, 'conversations' | 'openConversations'>; now: () => number }) {
  const { models, now } = deps;

  async function touchConversation(input: ConversationOf, account: LinkedAccount, update: ConversationTouch): Promise<void> {
    const max = laterTimes(update);
    const changes = { ...(Object.keys(max).length > 0 ? { $max: max } : {}), ...(update.set ? { $set: update.set } : {}) };
    if (input.onlyIfOpen === true) {
      // One conditional update of the document a close also updates conditionally: either this keeps it open, or the
      // close won and nothing of the message is written here.
      const moved = await models.conversations.updateOne({ _id: input.conversationId, state: 'open' }, changes);
      if (moved.matchedCount === 0) throw new ConversationNotOpenError(input.conversationId);
      return;
    }
    const apply = async (): Promise<boolean> => Object.keys(changes).length > 0 && (await models.conversations.updateOne({ _id: input.conversationId }, changes)).matchedCount > 0;
    if (await apply()) return;
    const created = newConversation(input, account, new Date(now()), { ...max, ...update.set });
    // Lost a race with another writer of the same conversation: apply the changes to what it created.
    if (!(await insertIfAbsent(models.conversations, { ...created }))) await apply();
    // From now on the ingress finds it, and records the customer's messages to it directly. The previous conversation
    // of this customer was closed, and its entry removed, before this one's workflow run began.
    await models.openConversations.updateOne({ _id: input.workflowId }, { $set: { conversationId: input.conversationId } }, { upsert: true });
  }

  /**
   * Closes the conversation; when the window's timer fired, only if no customer message recorded by the ingress moved
   * the window past the close. One conditional update of one document: a message's window move and this close
   * cannot both win, so a message is never recorded into a conversation as its window silently closes.
   */
  async function closeConversation(input: CloseConversationInput): Promise<CloseConversationOutcome> {
    const closedAt = new Date(input.closedAt);
    const windowPassed = input.onlyIfWindowPassed === true ? { $or: [{ windowClosesAt: null }, { windowClosesAt: { $lte: closedAt } }] } : {};
    const closed = await models.conversations.updateOne({ _id: input.conversationId, state: 'open', ...windowPassed }, { $set: { state: 'closed', closedAt } });
    if (closed.matchedCount === 0 && input.onlyIfWindowPassed === true) {
      const current = await models.conversations.findOne({ _id: input.conversationId }, { state: 1, windowClosesAt: 1, lastCustomerMessageAt: 1 }).lean<Pick<Conversation, 'state' | 'windowClosesAt' | 'lastCustomerMessageAt'>>();
      if (current?.state === 'open' && current.windowClosesAt !== null && current.windowClosesAt.getTime() > input.closedAt) {
        return { closed: false, windowClosesAt: current.windowClosesAt.getTime(), lastCustomerMessageAt: current.lastCustomerMessageAt?.getTime() };
      }
    }
    await models.openConversations.deleteOne({ _id: makeConversationWorkflowId(input.igAccountId, input.igsid), conversationId: input.conversationId });
    return { closed: true };
  }

  return { touchConversation, closeConversation };
}

export type ConversationWrites = ReturnType<typeof createConversationWrites>;
