/**
 * The shapes of what the emulator remembers: apps, Facebook users with their grants, businesses, Pages,
 * Instagram professional accounts and users, conversations and their messages, stories, tokens, authorization
 * codes and uploaded media. Times are emulator-clock milliseconds.
 */

export interface EmulatedApp {
  id: string;
  name: string;
  secret: string;
  verifyToken: string;
  callbackUrl: string | null;
  /** Facebook Login settings: where Meta posts a signed_request when a user removes the app (META-API 4.3). */
  deauthorizeCallbackUrl: string | null;
  /** Where Meta posts a signed_request when a user asks for their data to be deleted; it answers {url, confirmation_code}. */
  dataDeletionCallbackUrl: string | null;
  /** Instagram webhook fields chosen in the dashboard (app-wide, META-API 1.8). */
  fields: string[];
}

export interface Grant {
  appId: string;
  userId: string;
  scopes: string[];
  declinedScopes: string[];
  businessId: string | null;
  pageIds: string[];
  igAccountIds: string[];
}

export interface FacebookUser {
  id: string;
  name: string;
  email: string;
  password: string;
  businessIds: string[];
  /**
   * Per app, what the user granted at the last login; removed when the user removes the app. Every token of the
   * user for that app reaches what this grant names now, whatever the login it was issued under selected.
   */
  grants: Map<string, Grant>;
}

export interface Business {
  id: string;
  name: string;
  ownerUserId: string;
}

export interface Page {
  id: string;
  name: string;
  businessId: string;
  igAccountId: string | null;
  /** App id → Page fields the app subscribed with `POST /{page-id}/subscribed_apps`. */
  subscribedApps: Map<string, string[]>;
}

export interface IgAccount {
  id: string;
  username: string;
  name: string;
  pageId: string | null;
  /** Instagram app: Settings > Messages and story replies > Message controls > Connected tools. */
  messagesAccess: boolean;
  sendRateLimitPerSecond: number;
  /** Until when (emulator clock) sends answer 80002, and how many minutes Meta announces. */
  throttledUntil: number;
  throttleMinutes: number;
  recentSends: number[];
}

export interface IgUser {
  id: string;
  username: string;
  /** Empty string when the user has set none; the Profile API then answers null. */
  name: string;
  profilePic: string;
  usernameHistory: string[];
}

export interface StoredAttachment {
  type: string;
  payload?: Record<string, unknown>;
}

export interface StoredMessage {
  mid: string;
  igAccountId: string;
  igsid: string;
  direction: 'inbound' | 'outbound';
  source: 'customer' | 'send_api' | 'instagram_app';
  at: number;
  text?: string;
  attachments?: StoredAttachment[];
  appId?: string;
  tag?: string;
  deleted?: boolean;
  /** How many times the customer edited it. */
  edits?: number;
  storyId?: string;
}

export interface Conversation {
  igAccountId: string;
  igsid: string;
  /** Latest customer-initiated event (message, postback, referral): what the 24 h / 7 day windows count from. */
  lastCustomerMessageAt: number | null;
  messages: StoredMessage[];
}

export interface Story {
  id: string;
  /** The business's own story (replied to) or a customer's story that mentions the business. */
  owner: { kind: 'business'; igAccountId: string } | { kind: 'customer'; igUserId: string };
  createdAt: number;
  deleted: boolean;
}

export type TokenKind = 'USER' | 'PAGE';

export interface DeathReason {
  subcode: 458 | 460 | 463 | 467;
  at: number;
}

export interface TokenRecord {
  value: string;
  kind: TokenKind;
  appId: string;
  userId: string;
  pageId: string | null;
  lifetime: 'short' | 'long' | 'never';
  issuedAt: number;
  /** 0 = never. */
  expiresAt: number;
  dataAccessExpiresAt: number;
  death: DeathReason | null;
}

export interface AuthCode {
  code: string;
  appId: string;
  redirectUri: string;
  grant: Grant;
  issuedAt: number;
  used: boolean;
}

export interface MediaObject {
  id: string;
  contentType: string;
  bytes: Buffer;
}
