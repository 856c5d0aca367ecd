/**
 * customers: an Instagram user as seen by one linked account (IGSIDs are scoped per account), with the profile
 * from the Graph API and every username it has had (B10). Never merged automatically (B3).
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface UsernameChange {
  username: string;
  seenAt: Date;
}

/** The customer's `_id`: the IGSID is scoped to one linked account. */
export function makeCustomerKey(igAccountId: string, igsid: string): string {
  return `${igAccountId}/${igsid}`;
}

export interface Customer {
  _id: string;
  igAccountId: string;
  igsid: string;
  channelId: string;
  username: string | null;
  name: string | null;
  profilePicUrl: string | null;
  usernameHistory: UsernameChange[];
  profileFetchedAt: Date | null;
  profileError: string | null;
  /**
   * The member (a channel's own customer record) a manager merged this customer into (B3); null when not merged.
   * The source of truth of the merge: the member's list of Instagram profiles follows it (see api/services/members.ts).
   */
  memberId: string | null;
  firstSeenAt: Date;
}

const customerSchema = new Schema<Customer>(
  {
    _id: { type: String, required: true },
    igAccountId: { type: String, required: true },
    igsid: { type: String, required: true },
    channelId: { type: String, required: true },
    username: { type: String, default: null },
    name: { type: String, default: null },
    profilePicUrl: { type: String, default: null },
    usernameHistory: [{ _id: false, username: { type: String, required: true }, seenAt: { type: Date, required: true } }],
    profileFetchedAt: { type: Date, default: null },
    profileError: { type: String, default: null },
    memberId: { type: String, default: null },
    firstSeenAt: { type: Date, required: true },
  },
  { collection: 'customers', versionKey: false },
);
customerSchema.index({ channelId: 1, username: 1 });

export type CustomerModel = Model<Customer>;

export function getCustomerModel(connection: Connection): CustomerModel {
  return (connection.models.Customer as CustomerModel | undefined) ?? connection.model<Customer>('Customer', customerSchema);
}

/** B2: a customer without a name or a profile picture is shown as anonymous. */
export function isAnonymous(customer: Pick<Customer, 'name' | 'profilePicUrl'>): boolean {
  return !customer.name || !customer.profilePicUrl;
}
