/**
 * idempotencyRecords: the first answer to a request sent with an `Idempotency-Key` header, kept 24 hours, so the
 * same key sends nothing twice and gets the same answer. Keyed by channel and key: keys of two channels never meet.
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface IdempotencyRecord {
  /** `<channelId>/<key>`. */
  _id: string;
  /** SHA-256 of the request (route, body): the same key with another request is refused. */
  requestHash: string;
  /** `pending` while the first request runs; `done` with its answer. */
  state: 'pending' | 'done';
  responseStatus: number | null;
  responseBody: unknown;
  createdAt: Date;
}

const idempotencyRecordSchema = new Schema<IdempotencyRecord>(
  {
    _id: { type: String, required: true },
    requestHash: { type: String, required: true },
    state: { type: String, required: true, enum: ['pending', 'done'] },
    responseStatus: { type: Number, default: null },
    responseBody: { type: Schema.Types.Mixed, default: null },
    createdAt: { type: Date, required: true },
  },
  { collection: 'idempotencyRecords', versionKey: false, minimize: false },
);

export type IdempotencyRecordModel = Model<IdempotencyRecord>;

export function getIdempotencyRecordModel(connection: Connection): IdempotencyRecordModel {
  return (connection.models.IdempotencyRecord as IdempotencyRecordModel | undefined) ?? connection.model<IdempotencyRecord>('IdempotencyRecord', idempotencyRecordSchema);
}
