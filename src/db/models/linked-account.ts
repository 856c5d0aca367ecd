/**
 * linkedAccounts: an Instagram professional account connected to a channel, with its Page and the Page token
 * (sealed, never in plaintext). Written by the linking flow; read by the inbound and outbound paths.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { SealedSecret } from '../../security/token-cipher';
import { sealedSecretSchema } from './sealed-secret';

export type LinkStatus = 'active' | 'reauth_required' | 'messages_access_off' | 'unlinked';

export interface LinkedAccountSettings {
  /** A11: open a conversation when a follower mentions the account in a story. */
  openOnStoryMention: boolean;
  /** A11: open a conversation when a follower shares a post. */
  openOnPostShare: boolean;
}

/** Why an account stopped being active, as Meta said it (a send's token error, messages access turned off). */
export interface LinkStatusReason {
  type: string;
  reason: string | null;
  message: string;
  at: Date;
}

export interface LinkedAccount {
  /** = igAccountId. */
  _id: string;
  igAccountId: string;
  channelId: string;
  pageId: string;
  username: string;
  pageName?: string | null;
  /** The Facebook user whose login made (and may re-authenticate) the link; null for links made before it was kept. */
  linkedByFacebookUserId?: string | null;
  /** Meta's expiry of the Page token; null when Meta says it never expires. */
  tokenExpiresAt?: Date | null;
  status: LinkStatus;
  statusReason?: LinkStatusReason | null;
  settings: LinkedAccountSettings;
  /** The Page token, sealed; null once the Facebook user who granted it asked Meta to delete their data (A12). */
  pageToken: SealedSecret | null;
  linkedAt: Date;
  updatedAt: Date;
}

const linkedAccountSchema = new Schema<LinkedAccount>(
  {
    _id: { type: String, required: true },
    igAccountId: { type: String, required: true },
    channelId: { type: String, required: true },
    pageId: { type: String, required: true },
    username: { type: String, required: true },
    pageName: { type: String, default: null },
    linkedByFacebookUserId: { type: String, default: null },
    tokenExpiresAt: { type: Date, default: null },
    status: { type: String, required: true, enum: ['active', 'reauth_required', 'messages_access_off', 'unlinked'] },
    statusReason: { type: Schema.Types.Mixed, default: null },
    settings: {
      openOnStoryMention: { type: Boolean, required: true, default: true },
      openOnPostShare: { type: Boolean, required: true, default: true },
    },
    pageToken: { type: sealedSecretSchema, default: null },
    linkedAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'linkedAccounts', versionKey: false },
);
linkedAccountSchema.index({ channelId: 1 });
// Meta's deauthorize and data-deletion callbacks name the Facebook user, not the accounts.
linkedAccountSchema.index({ linkedByFacebookUserId: 1 });

export type LinkedAccountModel = Model<LinkedAccount>;

/**
 * A newly linked, active account with the default settings (both A11 switches on: everything opens a conversation).
 * Whether it is the representative is the channel's to say (see claimRepresentativeIfNone).
 */
export function newLinkedAccount(input: { igAccountId: string; channelId: string; pageId: string; username: string; pageToken: SealedSecret; at?: Date }): LinkedAccount {
  const at = input.at ?? new Date();
  return {
    _id: input.igAccountId,
    igAccountId: input.igAccountId,
    channelId: input.channelId,
    pageId: input.pageId,
    username: input.username,
    status: 'active',
    settings: { openOnStoryMention: true, openOnPostShare: true },
    pageToken: input.pageToken,
    linkedAt: at,
    updatedAt: at,
  };
}

/** Why an account that is not active cannot send, and what to do about it: shown to managers and on failed replies. */
export function inactiveAccountAdvice(status: Exclude<LinkStatus, 'active'>): string {
  switch (status) {
    case 'reauth_required':
      return 'its link expired or was dropped by Facebook: an owner must re-authenticate it';
    case 'messages_access_off':
      return 'its owner turned off "Allow access to messages" (Instagram app: Settings > Messages and story replies > Message controls > Connected tools): turn it on, then send again';
    case 'unlinked':
      return 'it was unlinked from the channel';
  }
}

export function getLinkedAccountModel(connection: Connection): LinkedAccountModel {
  return (connection.models.LinkedAccount as LinkedAccountModel | undefined) ?? connection.model<LinkedAccount>('LinkedAccount', linkedAccountSchema);
}
