/**
 * facebookLogins: one Facebook Login of an owner, from the login URL to the accounts it linked. The `_id` is the
 * login id inside the signed `state`; each step moves `stage` forward with a conditional update, so a replayed
 * callback or a second selection finds the step already taken.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { sealedSecretSchema } from './sealed-secret';
import type { SealedSecret } from '../../security/token-cipher';

/**
 * started: login URL handed out; authorized: Meta answered, the owner chooses; linking: a selection is being applied
 * (back to authorized if Meta refuses a step, so the owner may try again); linked / refused: over.
 */
export type FacebookLoginStage = 'started' | 'authorized' | 'linking' | 'linked' | 'refused';

/** An Instagram account the login can reach, as the owner sees it on the selection step. */
export interface LoginCandidate {
  igAccountId: string;
  username: string;
  pageId: string;
  pageName: string;
  businessId: string | null;
  /** Linked already, in this channel, by this Facebook account. */
  linkedHere: boolean;
}

export interface FacebookLogin {
  /** = loginId. */
  _id: string;
  channelId: string;
  managerId: string;
  stage: FacebookLoginStage;
  /** When the callback used the `state`: a second use of the same `state` is a replay. */
  stateUsedAt: Date | null;
  createdAt: Date;
  /** The `state` is refused after this (it is part of what the state's signature covers). */
  expiresAt: Date;
  /** Once authorized: the selection is refused after this. */
  chooseBy: Date | null;
  facebookUserId: string | null;
  facebookUserName: string | null;
  /** The long-lived user token, sealed and bound to this login until the link moves it to facebookConnections. */
  userToken: SealedSecret | null;
  userTokenExpiresAt: Date | null;
  candidates: LoginCandidate[];
  /** Pages the owner granted that have no Instagram professional account (A2: they cannot be linked). */
  pagesWithoutInstagram: Array<{ pageId: string; pageName: string }>;
  linkedIgAccountIds: string[];
  refusal: { type: string; message: string } | null;
  updatedAt: Date;
}

const facebookLoginSchema = new Schema<FacebookLogin>(
  {
    _id: { type: String, required: true },
    channelId: { type: String, required: true },
    managerId: { type: String, required: true },
    stage: { type: String, required: true, enum: ['started', 'authorized', 'linking', 'linked', 'refused'] },
    stateUsedAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    chooseBy: { type: Date, default: null },
    facebookUserId: { type: String, default: null },
    facebookUserName: { type: String, default: null },
    userToken: { type: sealedSecretSchema, default: null },
    userTokenExpiresAt: { type: Date, default: null },
    candidates: { type: Schema.Types.Mixed, default: [] },
    pagesWithoutInstagram: { type: Schema.Types.Mixed, default: [] },
    linkedIgAccountIds: { type: [String], default: [] },
    refusal: { type: Schema.Types.Mixed, default: null },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'facebookLogins', versionKey: false, minimize: false },
);

export type FacebookLoginModel = Model<FacebookLogin>;

export function getFacebookLoginModel(connection: Connection): FacebookLoginModel {
  return (connection.models.FacebookLogin as FacebookLoginModel | undefined) ?? connection.model<FacebookLogin>('FacebookLogin', facebookLoginSchema);
}
