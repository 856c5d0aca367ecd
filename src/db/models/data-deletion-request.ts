/**
 * dataDeletionRequests: one per data-deletion callback of Meta (A12). The `_id` is the confirmation code Meta shows
 * the user: random and unguessable, because the status page it opens needs no key. `requestKey` (the user and
 * Meta's issued_at) is unique, so a second delivery of the same request answers the same code.
 */
import { Schema, type Connection, type Model } from 'mongoose';

/** What one request deleted; a repeated request finds less (or nothing) left to delete. */
export interface DeletedData {
  /** Linked accounts this request unlinked (those unlinked before it stay counted where they were). */
  unlinkedAccounts: number;
  /** Sealed Page tokens of the accounts the user linked. */
  pageTokens: number;
  /** The user's facebookConnections document (0 or 1). */
  facebookConnections: number;
  facebookLogins: number;
}

export interface DataDeletionRequest {
  /** = confirmationCode. */
  _id: string;
  confirmationCode: string;
  facebookUserId: string;
  /** `<facebookUserId>/<issued_at>`: the same request delivered again. */
  requestKey: string;
  /** Meta's issued_at. */
  issuedAt: Date;
  receivedAt: Date;
  /** The deletion runs before the answer to Meta, so a stored request is always completed. */
  status: 'completed';
  completedAt: Date;
  deleted: DeletedData;
}

const dataDeletionRequestSchema = new Schema<DataDeletionRequest>(
  {
    _id: { type: String, required: true },
    confirmationCode: { type: String, required: true },
    facebookUserId: { type: String, required: true },
    requestKey: { type: String, required: true },
    issuedAt: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    status: { type: String, required: true, enum: ['completed'] },
    completedAt: { type: Date, required: true },
    deleted: {
      unlinkedAccounts: { type: Number, required: true },
      pageTokens: { type: Number, required: true },
      facebookConnections: { type: Number, required: true },
      facebookLogins: { type: Number, required: true },
    },
  },
  { collection: 'dataDeletionRequests', versionKey: false },
);
dataDeletionRequestSchema.index({ requestKey: 1 }, { unique: true });

export type DataDeletionRequestModel = Model<DataDeletionRequest>;

export function getDataDeletionRequestModel(connection: Connection): DataDeletionRequestModel {
  return (connection.models.DataDeletionRequest as DataDeletionRequestModel | undefined) ?? connection.model<DataDeletionRequest>('DataDeletionRequest', dataDeletionRequestSchema);
}
