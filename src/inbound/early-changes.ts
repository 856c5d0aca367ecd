/**
 * Edits and reactions, applied to their message whenever it arrives. Meta delivers late, out of order and in
 * separate webhooks, so an edit or a reaction may be recorded before the message it targets is stored; it is then
 * held (earlyMessageChanges, keyed by the target's mid) and applied by whoever makes the message findable by that
 * mid: the customer's message or the echo being stored, an unsend's placeholder, or the engine's reply getting its
 * mid (from the Send API's answer or from the echo that settles it). Every such writer calls `applyHeldChanges`
 * after its write.
 *
 * No transaction, and no lost update, whichever writer runs first and however often:
 * - Every write that applies a change is one conditional update that only moves the message forward in Meta's
 *   time: an edit only replaces an older edit (Meta's timestamp, then its edit number), a reaction or unreact only
 *   an older one. Applied twice, late, or in any order, the message ends with the newest of each. The held record
 *   is replaced the same way, so it always holds the newest change of its kind.
 * - The change's writer holds it (a write), then looks for the message again (a read). The message's writer stores
 *   it (a write), then reads what is held (a read). Each writes before it reads, on the same primary, so at least one
 *   of the two sees the other's write: if the message's writer read before the hold was written, the hold came
 *   after the message was stored, and the second look finds the message. A change is never left held behind a
 *   stored message. When both see each other, it is applied twice, which changes nothing.
 * MongoDB, and the local database the project starts, apply each conditional update atomically. On FerretDB 1.x an
 * update is a read and a whole-document write, so two writers of one message at the same instant can lose one of
 * the two changes there (one reason the local stack left it).
 */
import { insertIfAbsent } from '../db/insert-if-absent';
import type { Models } from '../db/models';
import type { EarlyMessageChange, HeldEdit, HeldReaction } from '../db/models/early-message-change';
import type { Message, MessageReaction } from '../db/models/message';
import type { OutboundMid } from '../db/models/outbound-mid';

export interface MessageEditChange {
  /** The message edited. */
  mid: string;
  text: string | null;
  /** Meta's edit number (num_edit), 1 for the first edit. */
  editCount: number;
  /** Meta's timestamp of the edit. */
  at: Date;
  eventKey: string;
}

export interface MessageReactionChange {
  /** The message reacted to. */
  mid: string;
  /** The reaction; null for an unreact. */
  reaction: MessageReaction | null;
  /** Meta's timestamp of the reaction or unreact. */
  at: Date;
  eventKey: string;
}

/** `held`: the message is not stored yet; the change is applied when it is. */
export type ChangeOutcome = 'applied' | 'held';

export interface EarlyChangesDeps {
  models: Pick<Models, 'messages' | 'outboundMids' | 'earlyMessageChanges'>;
  now?: () => number;
}

type MessageState = Pick<Message, '_id' | 'deletedAt' | 'editCount' | 'editedAt' | 'reaction' | 'reactionAt'>;
const stateFields = { deletedAt: 1, editCount: 1, editedAt: 1, reaction: 1, reactionAt: 1 } as const;

const timeOf = (value: Date | string | null | undefined): number | null => (value === null || value === undefined ? null : new Date(value).getTime());

/** Whether the edit is newer than what the message shows (the update's condition below, read in advance). */
function editIsNewer(message: MessageState, edit: MessageEditChange): boolean {
  if (message.deletedAt) return false;
  const shownAt = timeOf(message.editedAt);
  const at = edit.at.getTime();
  if (shownAt === null) return message.editCount < edit.editCount;
  return shownAt < at || (shownAt === at && message.editCount < edit.editCount);
}

/** The same rule as a condition of the update, so a writer that read before another wrote cannot go backwards. */
function newerEditCondition(edit: MessageEditChange): Record<string, unknown> {
  return {
    // An unsent message stays empty, whatever edit comes later (B11).
    deletedAt: null,
    $or: [
      { editedAt: { $lt: edit.at } },
      { editedAt: edit.at, editCount: { $lt: edit.editCount } },
      // Never edited, or edited before the edit's time was kept: only Meta's edit number can tell.
      { editedAt: null, editCount: { $lt: edit.editCount } },
    ],
  };
}

function reactionIsNewer(message: MessageState, change: MessageReactionChange): boolean {
  const shownAt = timeOf(message.reactionAt) ?? timeOf(message.reaction?.at);
  return shownAt === null || shownAt < change.at.getTime();
}

function newerReactionCondition(change: MessageReactionChange): Record<string, unknown> {
  return {
    $or: [
      { reactionAt: { $lt: change.at } },
      { reactionAt: null, reaction: null },
      // Reacted before the reaction's time was kept apart from the reaction.
      { reactionAt: null, 'reaction.at': { $lt: change.at } },
    ],
  };
}

export function createEarlyChanges(deps: EarlyChangesDeps) {
  const { models } = deps;
  const now = deps.now ?? Date.now;

  /**
   * The message a mid names, as far as changes care: what customers sent is keyed by its mid, the engine's replies
   * are found through their mid index. `_id` lookups only (the one filter FerretDB does not answer by scanning).
   */
  async function findTarget(mid: string): Promise<MessageState | null> {
    const keyed = await models.messages.findOne({ _id: mid }, stateFields).lean<MessageState>();
    if (keyed) return keyed;
    const own = await models.outboundMids.findOne({ _id: mid }).lean<OutboundMid>();
    return own ? models.messages.findOne({ _id: own.messageId }, stateFields).lean<MessageState>() : null;
  }

  // The read first: the common case (the message already shows this change or a newer one) writes nothing, and the
  // conditional update, which FerretDB answers by scanning the collection, runs only when something changes.
  async function applyEdit(message: MessageState, edit: MessageEditChange): Promise<void> {
    if (!editIsNewer(message, edit)) return;
    await models.messages.updateOne({ _id: message._id, ...newerEditCondition(edit) }, { $set: { text: edit.text, editCount: edit.editCount, editedAt: edit.at } });
  }

  async function applyReaction(message: MessageState, change: MessageReactionChange): Promise<void> {
    if (!reactionIsNewer(message, change)) return;
    await models.messages.updateOne({ _id: message._id, ...newerReactionCondition(change) }, { $set: { reaction: change.reaction, reactionAt: change.at } });
  }

  /** Holds the change for its mid: created with it, or replacing the held one of its kind only if that is older. */
  async function hold(mid: string, held: Pick<EarlyMessageChange, 'edit'> | Pick<EarlyMessageChange, 'reaction'>, olderHeld: Array<Record<string, unknown>>): Promise<void> {
    if (await insertIfAbsent(models.earlyMessageChanges, { _id: mid, edit: null, reaction: null, createdAt: new Date(now()), ...held })) return;
    await models.earlyMessageChanges.updateOne({ _id: mid, $or: olderHeld }, { $set: held });
  }

  function holdEdit(edit: MessageEditChange): Promise<void> {
    const held: HeldEdit = { at: edit.at, eventKey: edit.eventKey, heldAt: new Date(now()), settledAt: null, text: edit.text, editCount: edit.editCount };
    return hold(edit.mid, { edit: held }, [{ edit: null }, { 'edit.at': { $lt: edit.at } }, { 'edit.at': edit.at, 'edit.editCount': { $lt: edit.editCount } }]);
  }

  function holdReaction(change: MessageReactionChange): Promise<void> {
    const held: HeldReaction = { at: change.at, eventKey: change.eventKey, heldAt: new Date(now()), settledAt: null, reaction: change.reaction };
    return hold(change.mid, { reaction: held }, [{ reaction: null }, { 'reaction.at': { $lt: change.at } }]);
  }

  /** Marks the held change as settled, unless a newer one replaced it meanwhile (that one's writer applies it). */
  async function settle(mid: string, kind: 'edit' | 'reaction', eventKey: string): Promise<void> {
    await models.earlyMessageChanges.updateOne({ _id: mid, [`${kind}.eventKey`]: eventKey, [`${kind}.settledAt`]: null }, { $set: { [`${kind}.settledAt`]: new Date(now()) } });
  }

  /**
   * Applies what is held for `mid` to its message. Call it after every write that makes a message findable by
   * that mid (storing it, or giving a reply its mid): one `_id` lookup when nothing waits, which is nearly always.
   */
  async function applyHeldChanges(mid: string): Promise<void> {
    const held = await models.earlyMessageChanges.findOne({ _id: mid }).lean<EarlyMessageChange>();
    const edit = held?.edit?.settledAt === null ? held.edit : null;
    const reaction = held?.reaction?.settledAt === null ? held.reaction : null;
    if (!edit && !reaction) return;
    const message = await findTarget(mid);
    if (!message) return;
    if (edit) {
      await applyEdit(message, { mid, text: edit.text, editCount: edit.editCount, at: new Date(edit.at), eventKey: edit.eventKey });
      await settle(mid, 'edit', edit.eventKey);
    }
    if (reaction) {
      await applyReaction(message, { mid, reaction: reaction.reaction, at: new Date(reaction.at), eventKey: reaction.eventKey });
      await settle(mid, 'reaction', reaction.eventKey);
    }
  }

  /** After holding: the message may have been stored since the first look, by a writer that read before the hold. */
  async function applyIfStoredMeanwhile(mid: string): Promise<ChangeOutcome> {
    if (!(await findTarget(mid))) return 'held';
    await applyHeldChanges(mid);
    return 'applied';
  }

  return {
    applyHeldChanges,

    /** Applies an edit to its message, or holds it until the message is stored. */
    async recordEdit(edit: MessageEditChange): Promise<ChangeOutcome> {
      const message = await findTarget(edit.mid);
      if (message) {
        await applyEdit(message, edit);
        return 'applied';
      }
      await holdEdit(edit);
      return applyIfStoredMeanwhile(edit.mid);
    },

    /** Applies a reaction or an unreact to its message, or holds it until the message is stored. */
    async recordReaction(change: MessageReactionChange): Promise<ChangeOutcome> {
      const message = await findTarget(change.mid);
      if (message) {
        await applyReaction(message, change);
        return 'applied';
      }
      await holdReaction(change);
      return applyIfStoredMeanwhile(change.mid);
    },
  };
}

export type EarlyChanges = ReturnType<typeof createEarlyChanges>;
