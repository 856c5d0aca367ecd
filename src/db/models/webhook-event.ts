/**
 * webhookEvents: every event Meta delivered, stored before the webhook is acknowledged, under its dedupe key as
 * `_id` so a second delivery of the same event is recognised. Its status says what became of it.
 * Lookups go by `_id` alone: the local database answers any other filter (but a unique index's) by scanning.
 */
import { Schema, type Connection, type Model } from 'mongoose';

export type WebhookEventStatus =
  /** Stored, not applied yet; `dispatchedAt` says whether it was handed to its conversation workflow. */
  | 'pending'
  /** Applied to the inbox by the workflow's activity. */
  | 'recorded'
  /** Applied as "not shown", on purpose: an account setting (A11) or a kind the inbox does not sync. */
  | 'skipped'
  /** For an Instagram account that is not linked to any channel. */
  | 'unlinked'
  /**
   * For an account whose link expired (re-authentication required): kept, not shown, until the account is
   * re-authenticated; then it is pending again and dispatched in order (src/inbound/held-events.ts).
   */
  | 'held'
  /** Signed by Meta but not understood: kept with the problem, never dispatched. */
  | 'invalid'
  /**
   * Could not be recorded, or not even handed to its conversation (Temporal refused the signal), after bounded
   * retries: set aside with its reason so the events after it go on.
   */
  | 'parked';

export interface WebhookEvent {
  /** The dedupe key (`message:<mid>`, `reaction:<sender>:<mid>:<action>:<ts>`, ...). */
  _id: string;
  /** The same key, kept as a field for readability of queries and listings. */
  eventKey: string;
  status: WebhookEventStatus;
  kind: string;
  igAccountId: string | null;
  customerIgsid: string | null;
  mid: string | null;
  /** Meta's timestamp of the event (ms), or the delivery time when the event has none. */
  occurredAt: Date;
  receivedAt: Date;
  /**
   * The event as Meta sent it: its JSON text exactly as it was in the delivery (one messaging item, one change, one
   * entry, or a whole body that is not a webhook; base64 for a body that is not UTF-8). Events stored before hold it
   * parsed, as an object: read it with `readStoredPayload` (src/domain/webhook-events), which takes both.
   */
  payload: unknown;
  problem: string | null;
  skipReason: string | null;
  conversationId: string | null;
  dispatchAttempts: number;
  dispatchedAt: Date | null;
  /** How many times Temporal refused its signal (not counting Temporal being unreachable). Absent when never. */
  dispatchRefusals?: number;
  /** After a refusal, not handed over again before this time (a back-off); absent or null: at once. */
  nextDispatchAt?: Date | null;
  recordedAt: Date | null;
  /** Parked: how many times recording it was tried (null when not known). Absent on events never parked. */
  recordAttempts?: number | null;
  /** How many times it was replayed after being parked, and when last (src/inbound/parked-events.ts). */
  replays?: number;
  replayedAt?: Date | null;
}

const webhookEventSchema = new Schema<WebhookEvent>(
  {
    _id: { type: String, required: true },
    eventKey: { type: String, required: true },
    status: { type: String, required: true, enum: ['pending', 'recorded', 'skipped', 'unlinked', 'held', 'invalid', 'parked'] },
    kind: { type: String, required: true },
    igAccountId: { type: String, default: null },
    customerIgsid: { type: String, default: null },
    mid: { type: String, default: null },
    occurredAt: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    payload: { type: Schema.Types.Mixed },
    problem: { type: String, default: null },
    skipReason: { type: String, default: null },
    conversationId: { type: String, default: null },
    dispatchAttempts: { type: Number, required: true, default: 0 },
    dispatchedAt: { type: Date, default: null },
    dispatchRefusals: { type: Number },
    nextDispatchAt: { type: Date },
    recordedAt: { type: Date, default: null },
    recordAttempts: { type: Number },
    replays: { type: Number },
    replayedAt: { type: Date },
  },
  { collection: 'webhookEvents', versionKey: false, minimize: false },
);
// The sweeper's query on MongoDB: pending events not handed over yet, oldest first. Its prefix also finds the
// parked events for their listing; they are few, so sorting them needs no index of its own on the hot insert path.
webhookEventSchema.index({ status: 1, dispatchedAt: 1, receivedAt: 1 });

export type WebhookEventModel = Model<WebhookEvent>;

export function getWebhookEventModel(connection: Connection): WebhookEventModel {
  return (connection.models.WebhookEvent as WebhookEventModel | undefined) ?? connection.model<WebhookEvent>('WebhookEvent', webhookEventSchema);
}
