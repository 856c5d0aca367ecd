/**
 * notices: what the system posts to a manager's personal room (D1: re-authentication due, link expired or
 * dropped, account moved to another channel, messages access off). The `_id` is derived from the manager and the
 * notice's dedupe key, so posting the same notice again (a retry, a second caller) finds it already there.
 */
import { Schema, type Connection, type Model } from 'mongoose';

/** Plain JSON, so a notice's facts survive storage and the API unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Notice {
  /** = noticeId, derived from managerId and dedupeKey. */
  _id: string;
  noticeId: string;
  channelId: string;
  managerId: string;
  /** What happened, for clients to branch on (`reauth_due`, `link_expired`, ...). */
  kind: string;
  title: string;
  body: string;
  /** The details a client may show or link to (account id, expiry time, ...): plain JSON, as posted (`JsonValue`). */
  facts: Record<string, unknown>;
  dedupeKey: string;
  createdAt: Date;
  readAt: Date | null;
}

const noticeSchema = new Schema<Notice>(
  {
    _id: { type: String, required: true },
    noticeId: { type: String, required: true },
    channelId: { type: String, required: true },
    managerId: { type: String, required: true },
    kind: { type: String, required: true },
    title: { type: String, required: true },
    body: { type: String, required: true },
    facts: { type: Schema.Types.Mixed, default: {} },
    dedupeKey: { type: String, required: true },
    createdAt: { type: Date, required: true },
    readAt: { type: Date, default: null },
  },
  { collection: 'notices', versionKey: false, minimize: false },
);
// A manager's room, newest first with the id as tie-breaker.
noticeSchema.index({ managerId: 1, createdAt: -1, _id: -1 });

export type NoticeModel = Model<Notice>;

export function getNoticeModel(connection: Connection): NoticeModel {
  return (connection.models.Notice as NoticeModel | undefined) ?? connection.model<Notice>('Notice', noticeSchema);
}
