/**
 * earlyMessageChanges: edits and reactions that arrived before the message they target was stored (Meta delivers
 * late, out of order and in separate webhooks). One document per target mid, keyed by it, so the writer that stores
 * a message finds what waits for it with one `_id` lookup. Each kind keeps only its newest change by Meta's time; it
 * is applied when the message is stored and then kept, marked settled, as the record of what came early. How the
 * two writers meet without a transaction: src/inbound/early-changes.ts.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { MessageReaction } from './message';

interface HeldChange {
  /** Meta's timestamp of the change: an older one never replaces a newer one. */
  at: Date;
  /** The webhook event that carried it. */
  eventKey: string;
  heldAt: Date;
  /** When it was applied to its message, or found older than what the message already shows; null while waiting. */
  settledAt: Date | null;
}

export interface HeldEdit extends HeldChange {
  text: string | null;
  /** Meta's edit number (num_edit). */
  editCount: number;
}

export interface HeldReaction extends HeldChange {
  /** The customer's reaction; null for an unreact. */
  reaction: MessageReaction | null;
}

export interface EarlyMessageChange {
  /** = mid of the message the changes are for. */
  _id: string;
  edit: HeldEdit | null;
  reaction: HeldReaction | null;
  createdAt: Date;
}

const earlyMessageChangeSchema = new Schema<EarlyMessageChange>(
  {
    _id: { type: String, required: true },
    edit: { type: Schema.Types.Mixed, default: null },
    reaction: { type: Schema.Types.Mixed, default: null },
    createdAt: { type: Date, required: true },
  },
  { collection: 'earlyMessageChanges', versionKey: false, minimize: false },
);

export type EarlyMessageChangeModel = Model<EarlyMessageChange>;

export function getEarlyMessageChangeModel(connection: Connection): EarlyMessageChangeModel {
  return (connection.models.EarlyMessageChange as EarlyMessageChangeModel | undefined) ?? connection.model<EarlyMessageChange>('EarlyMessageChange', earlyMessageChangeSchema);
}
