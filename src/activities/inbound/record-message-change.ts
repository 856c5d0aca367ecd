/**
 * What changes a message already sent, or the conversation's read mark: an unsend, a reaction, an edit, a read.
 * None moves the window. An unsend keeps the message's place and drops its content (B11); a reaction shows on its
 * message, not as a message (B8). Reactions and edits may come before their message: they are then held and
 * applied when it is stored, the newest by Meta's time winning whatever the order (src/inbound/early-changes.ts).
 */
import { insertIfAbsent } from '../../db/insert-if-absent';
import type { Models } from '../../db/models';
import type { MessageReaction } from '../../db/models/message';
import { editNumberOf } from '../../domain/webhook-events';
import type { EarlyChanges } from '../../inbound/early-changes';
import type { RecordedInboundEvent } from '../conversation-contract';
import type { ConversationWrites } from './conversation-writes';
import type { EventToApply, KindRecorders } from './record-event';
import { messageFields, newMessage, type MessageStore } from './stored-messages';

export interface MessageChangeDeps {
  models: Pick<Models, 'messages'>;
  changes: Pick<EarlyChanges, 'applyHeldChanges' | 'recordReaction' | 'recordEdit'>;
  messages: Pick<MessageStore, 'findByMid'>;
  conversations: Pick<ConversationWrites, 'touchConversation'>;
}

export function createMessageChangeRecorders(deps: MessageChangeDeps): Pick<KindRecorders, 'deleted' | 'reaction' | 'edit' | 'read'> {
  const { models, changes } = deps;

  /** Keeps the place in the conversation, drops the content; a tombstone if the message is not here yet (B11). */
  async function recordDeleted({ event, input, account, recorded }: EventToApply): Promise<RecordedInboundEvent> {
    const noContent = messageFields(event, input, account, { kind: 'text', text: null, attachments: [], story: null, replyToMid: null }, 'customer');
    const tombstone = newMessage(event, noContent, event.occurredAt);
    if (!(await insertIfAbsent(models.messages, { ...tombstone }))) {
      const target = await deps.messages.findByMid(event.mid);
      if (target) await models.messages.updateOne({ _id: target._id }, { $set: { deletedAt: event.occurredAt, text: null, attachments: [], story: null } });
    }
    // A reaction that came before still shows on the placeholder; an edit never fills it again.
    if (event.mid !== null) await changes.applyHeldChanges(event.mid);
    return recorded;
  }

  /** A late older reaction does not win; one that came before its message is applied when the message is stored. */
  async function recordReaction({ event, payload, recorded }: EventToApply): Promise<RecordedInboundEvent> {
    const reaction = (payload.reaction ?? {}) as { action?: string; reaction?: string; emoji?: string };
    const at = event.occurredAt;
    const value: MessageReaction | null = reaction.action === 'react' ? { by: 'customer', reaction: reaction.reaction ?? 'other', emoji: reaction.emoji ?? null, at } : null;
    if (event.mid !== null) await changes.recordReaction({ mid: event.mid, reaction: value, at, eventKey: event._id });
    return recorded;
  }

  /** The newest edit by Meta's time wins, whatever order they come in; one that came before its message is applied when the message is stored. */
  async function recordEdit({ event, payload, recorded }: EventToApply): Promise<RecordedInboundEvent> {
    const edit = (payload.message_edit ?? {}) as { text?: unknown; num_edit?: unknown };
    const text = typeof edit.text === 'string' ? edit.text : null;
    if (event.mid !== null) await changes.recordEdit({ mid: event.mid, text, editCount: editNumberOf(edit.num_edit), at: event.occurredAt, eventKey: event._id });
    return recorded;
  }

  async function recordRead({ event, input, account, recorded }: EventToApply): Promise<RecordedInboundEvent> {
    await deps.conversations.touchConversation(input, account, { set: { lastReadMid: event.mid } });
    return recorded;
  }

  return { deleted: recordDeleted, reaction: recordReaction, edit: recordEdit, read: recordRead };
}
