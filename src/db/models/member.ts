/**
 * members: a channel's own customer records (B3). A manager may merge an Instagram customer into one; the member
 * then lists that Instagram profile, and the customer names the member (`customers.memberId`). Never automatic.
 */
import { Schema, type Connection, type Model } from 'mongoose';

/** An Instagram customer merged into a member, as it was when merged. */
export interface MemberInstagramProfile {
  igAccountId: string;
  igsid: string;
  /** The customer's username at merge time (it may change later: B10). */
  username: string | null;
  mergedAt: Date;
  /** The manager who merged it. */
  mergedBy: string;
}

export interface Member {
  /** = memberId: lookups by `_id` are the fast ones on the local database. */
  _id: string;
  memberId: string;
  channelId: string;
  name: string;
  email: string | null;
  phone: string | null;
  note: string | null;
  instagramProfiles: MemberInstagramProfile[];
  createdAt: Date;
}

const memberSchema = new Schema<Member>(
  {
    _id: { type: String, required: true },
    memberId: { type: String, required: true },
    channelId: { type: String, required: true },
    name: { type: String, required: true },
    email: { type: String, default: null },
    phone: { type: String, default: null },
    note: { type: String, default: null },
    instagramProfiles: [
      {
        _id: false,
        igAccountId: { type: String, required: true },
        igsid: { type: String, required: true },
        username: { type: String, default: null },
        mergedAt: { type: Date, required: true },
        mergedBy: { type: String, required: true },
      },
    ],
    createdAt: { type: Date, required: true },
  },
  { collection: 'members', versionKey: false, minimize: false },
);
// A channel's member list, newest first, with the id as tie-breaker.
memberSchema.index({ channelId: 1, createdAt: -1, _id: -1 });

export type MemberModel = Model<Member>;

export function getMemberModel(connection: Connection): MemberModel {
  return (connection.models.Member as MemberModel | undefined) ?? connection.model<Member>('Member', memberSchema);
}
