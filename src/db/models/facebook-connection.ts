/**
 * facebookConnections: one per Facebook user who linked Instagram accounts (A5: a Facebook account serves one
 * channel). Holds the channel it serves and its long-lived user token (sealed, bound to the Facebook user id).
 * Meta's deauthorize and data-deletion callbacks name this user.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { sealedSecretSchema } from './sealed-secret';
import type { SealedSecret } from '../../security/token-cipher';

export interface FacebookConnection {
  /** = facebookUserId (app-scoped, as Meta gives it to this app). */
  _id: string;
  facebookUserId: string;
  name: string | null;
  channelId: string;
  userToken: SealedSecret;
  /** Meta's expiry of the long-lived user token; null when Meta says it never expires. */
  userTokenExpiresAt: Date | null;
  /** The Instagram accounts the last login of this user linked (what Meta now grants the app). */
  igAccountIds: string[];
  linkedAt: Date;
  updatedAt: Date;
}

const facebookConnectionSchema = new Schema<FacebookConnection>(
  {
    _id: { type: String, required: true },
    facebookUserId: { type: String, required: true },
    name: { type: String, default: null },
    channelId: { type: String, required: true },
    userToken: { type: sealedSecretSchema, required: true },
    userTokenExpiresAt: { type: Date, default: null },
    igAccountIds: { type: [String], default: [] },
    linkedAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'facebookConnections', versionKey: false },
);

export type FacebookConnectionModel = Model<FacebookConnection>;

export function getFacebookConnectionModel(connection: Connection): FacebookConnectionModel {
  return (connection.models.FacebookConnection as FacebookConnectionModel | undefined) ?? connection.model<FacebookConnection>('FacebookConnection', facebookConnectionSchema);
}
