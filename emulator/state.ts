/**
 * The emulator's world, in memory: apps, Facebook users with businesses and Pages, Instagram professional
 * accounts linked to Pages, Instagram users with a scoped id (IGSID) per account, conversations, stories and
 * tokens. Times come from the emulator clock, so the control API can age tokens, windows and stories.
 */
import type { EmulatorClock } from './clock';
import { GraphError, graphErrors } from './graph-errors';
import { accessToken, messageId, numericId, opaqueCode } from './ids';

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;
export const SHORT_LIVED_TOKEN_MS = HOUR_MS;
/** What Meta answers in `expires_in` for a long-lived user token (META-API 4.1). */
export const LONG_LIVED_TOKEN_SECONDS = 5_183_944;
export const DATA_ACCESS_MS = 90 * DAY_MS;
export const AUTH_CODE_MS = 10 * 60 * 1000;
export const STORY_LIFE_MS = DAY_MS;

/** Instagram messaging fields an app can subscribe to in its dashboard. */
export const INSTAGRAM_FIELDS = [
  'messages',
  'message_echoes',
  'message_reactions',
  'messaging_seen',
  'messaging_postbacks',
  'messaging_referral',
  'message_edit',
] as const;

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

export interface SeedBusinessInput {
  user: { name: string; email: string; password: string };
  business: { name: string };
  pages: Array<{ name: string; igAccount?: { username: string; name: string } }>;
}

export class EmulatorState {
  readonly apps = new Map<string, EmulatedApp>();
  readonly users = new Map<string, FacebookUser>();
  readonly businesses = new Map<string, Business>();
  readonly pages = new Map<string, Page>();
  readonly igAccounts = new Map<string, IgAccount>();
  readonly igUsers = new Map<string, IgUser>();
  readonly conversations = new Map<string, Conversation>();
  readonly messagesByMid = new Map<string, StoredMessage>();
  readonly stories = new Map<string, Story>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly codes = new Map<string, AuthCode>();
  readonly media = new Map<string, MediaObject>();
  /** `${igAccountId}:${igUserId}` → IGSID, and back. */
  private readonly scopedIds = new Map<string, string>();
  private readonly scopedIdOwners = new Map<string, { igAccountId: string; igUserId: string }>();

  constructor(readonly clock: EmulatorClock) {}

  clear(): void {
    for (const map of [
      this.apps,
      this.users,
      this.businesses,
      this.pages,
      this.igAccounts,
      this.igUsers,
      this.conversations,
      this.messagesByMid,
      this.stories,
      this.tokens,
      this.codes,
      this.media,
      this.scopedIds,
      this.scopedIdOwners,
    ]) {
      map.clear();
    }
  }

  // --- apps and the business side --------------------------------------------------------------------------

  addApp(input: Partial<EmulatedApp> & { id: string; secret: string }): EmulatedApp {
    const app: EmulatedApp = {
      name: input.name ?? `App ${input.id}`,
      verifyToken: input.verifyToken ?? 'emulator-verify-token',
      callbackUrl: input.callbackUrl ?? null,
      deauthorizeCallbackUrl: input.deauthorizeCallbackUrl ?? null,
      dataDeletionCallbackUrl: input.dataDeletionCallbackUrl ?? null,
      fields: input.fields ?? ['messages', 'message_reactions', 'messaging_seen', 'messaging_postbacks', 'messaging_referral', 'message_edit'],
      ...input,
    };
    this.apps.set(app.id, app);
    return app;
  }

  addUser(input: { name: string; email: string; password: string; id?: string }): FacebookUser {
    if ([...this.users.values()].some((user) => user.email === input.email)) {
      throw graphErrors.invalidParameter(`a Facebook user with email ${input.email} already exists`);
    }
    const user: FacebookUser = {
      id: input.id ?? numericId('10', 16),
      name: input.name,
      email: input.email,
      password: input.password,
      businessIds: [],
      grants: new Map(),
    };
    this.users.set(user.id, user);
    return user;
  }

  addBusiness(input: { ownerUserId: string; name: string; id?: string }): Business {
    const owner = this.requireUser(input.ownerUserId);
    const business: Business = { id: input.id ?? numericId('20', 16), name: input.name, ownerUserId: owner.id };
    this.businesses.set(business.id, business);
    owner.businessIds.push(business.id);
    return business;
  }

  addPage(input: { businessId: string; name: string; id?: string }): Page {
    const business = this.businesses.get(input.businessId);
    if (!business) throw graphErrors.invalidParameter(`no business ${input.businessId}`);
    const page: Page = { id: input.id ?? numericId('1', 15), name: input.name, businessId: business.id, igAccountId: null, subscribedApps: new Map() };
    this.pages.set(page.id, page);
    return page;
  }

  addIgAccount(input: { pageId: string | null; username: string; name: string; id?: string }): IgAccount {
    const account: IgAccount = {
      id: input.id ?? numericId('178414', 17),
      username: input.username,
      name: input.name,
      pageId: null,
      messagesAccess: true,
      sendRateLimitPerSecond: 100,
      throttledUntil: 0,
      throttleMinutes: 0,
      recentSends: [],
    };
    this.igAccounts.set(account.id, account);
    if (input.pageId !== null) this.linkIgAccount(account.id, input.pageId);
    return account;
  }

  linkIgAccount(igAccountId: string, pageId: string): void {
    const account = this.requireIgAccount(igAccountId);
    const page = this.pages.get(pageId);
    if (!page) throw graphErrors.invalidParameter(`no Page ${pageId}`);
    if (page.igAccountId !== null && page.igAccountId !== igAccountId) {
      throw graphErrors.invalidParameter(`Page ${pageId} is already linked to Instagram account ${page.igAccountId}`);
    }
    page.igAccountId = account.id;
    account.pageId = page.id;
  }

  /** One call for a whole business: user, business, Pages and the Instagram accounts linked to them. */
  seedBusiness(input: SeedBusinessInput): { user: FacebookUser; business: Business; pages: Page[]; igAccounts: IgAccount[] } {
    const user = this.addUser(input.user);
    const business = this.addBusiness({ ownerUserId: user.id, name: input.business.name });
    const pages: Page[] = [];
    const igAccounts: IgAccount[] = [];
    for (const pageInput of input.pages) {
      const page = this.addPage({ businessId: business.id, name: pageInput.name });
      pages.push(page);
      if (pageInput.igAccount) igAccounts.push(this.addIgAccount({ pageId: page.id, ...pageInput.igAccount }));
    }
    return { user, business, pages, igAccounts };
  }

  addIgUser(input: { username: string; name?: string; profilePic?: string; id?: string }): IgUser {
    if (this.findIgUserByUsername(input.username)) throw graphErrors.invalidParameter(`username ${input.username} is taken`);
    const user: IgUser = {
      id: input.id ?? numericId('9', 17),
      username: input.username,
      name: input.name ?? '',
      profilePic: input.profilePic ?? '',
      usernameHistory: [],
    };
    this.igUsers.set(user.id, user);
    return user;
  }

  updateIgUser(id: string, changes: { username?: string; name?: string; profilePic?: string }): IgUser {
    const user = this.igUsers.get(id);
    if (!user) throw graphErrors.invalidParameter(`no Instagram user ${id}`);
    if (changes.username !== undefined && changes.username !== user.username) {
      const holder = this.findIgUserByUsername(changes.username);
      if (holder && holder.id !== id) throw graphErrors.invalidParameter(`username ${changes.username} is taken`);
      user.usernameHistory.push(user.username);
      user.username = changes.username;
    }
    if (changes.name !== undefined) user.name = changes.name;
    if (changes.profilePic !== undefined) user.profilePic = changes.profilePic;
    return user;
  }

  findIgUserByUsername(username: string): IgUser | undefined {
    return [...this.igUsers.values()].find((user) => user.username === username);
  }

  /** The IGSID of `igUserId` as seen by `igAccountId`, created on first interaction like Meta's scoped ids. */
  scopedId(igAccountId: string, igUserId: string): string {
    const key = `${igAccountId}:${igUserId}`;
    let igsid = this.scopedIds.get(key);
    if (igsid === undefined) {
      igsid = numericId('', 16).replace(/^0/, '1');
      this.scopedIds.set(key, igsid);
      this.scopedIdOwners.set(igsid, { igAccountId, igUserId });
    }
    return igsid;
  }

  resolveScopedId(igsid: string): { igAccountId: string; igUser: IgUser } | undefined {
    const owner = this.scopedIdOwners.get(igsid);
    const igUser = owner === undefined ? undefined : this.igUsers.get(owner.igUserId);
    return owner && igUser ? { igAccountId: owner.igAccountId, igUser } : undefined;
  }

  requireUser(id: string): FacebookUser {
    const user = this.users.get(id);
    if (!user) throw graphErrors.invalidParameter(`no Facebook user ${id}`);
    return user;
  }

  requireApp(id: string): EmulatedApp {
    const app = this.apps.get(id);
    if (!app) throw graphErrors.invalidParameter(`no app ${id}`);
    return app;
  }

  requireIgAccount(id: string): IgAccount {
    const account = this.igAccounts.get(id);
    if (!account) throw graphErrors.invalidParameter(`no Instagram professional account ${id}`);
    return account;
  }

  // --- conversations, messages, stories ---------------------------------------------------------------------

  conversation(igAccountId: string, igsid: string): Conversation {
    const key = `${igAccountId}:${igsid}`;
    let conversation = this.conversations.get(key);
    if (!conversation) {
      conversation = { igAccountId, igsid, lastCustomerMessageAt: null, messages: [] };
      this.conversations.set(key, conversation);
    }
    return conversation;
  }

  recordMessage(message: Omit<StoredMessage, 'mid'> & { mid?: string }): StoredMessage {
    const stored: StoredMessage = { ...message, mid: message.mid ?? messageId(message.igAccountId) };
    const conversation = this.conversation(stored.igAccountId, stored.igsid);
    conversation.messages.push(stored);
    this.messagesByMid.set(stored.mid, stored);
    return stored;
  }

  /** Only customer-initiated events open or move the window (META-API 2.4). */
  touchWindow(igAccountId: string, igsid: string, at: number): void {
    const conversation = this.conversation(igAccountId, igsid);
    conversation.lastCustomerMessageAt = Math.max(conversation.lastCustomerMessageAt ?? 0, at);
  }

  addStory(owner: Story['owner']): Story {
    const story: Story = { id: numericId('18', 17), owner, createdAt: this.clock.now(), deleted: false };
    this.stories.set(story.id, story);
    return story;
  }

  isStoryAlive(story: Story): boolean {
    return !story.deleted && this.clock.now() < story.createdAt + STORY_LIFE_MS;
  }

  addMedia(contentType: string, bytes: Buffer): MediaObject {
    const media: MediaObject = { id: numericId('55', 17), contentType, bytes };
    this.media.set(media.id, media);
    return media;
  }

  // --- tokens ------------------------------------------------------------------------------------------------

  issueAuthCode(input: { appId: string; redirectUri: string; grant: Grant }): AuthCode {
    const code: AuthCode = { code: opaqueCode(), ...input, issuedAt: this.clock.now(), used: false };
    this.codes.set(code.code, code);
    const user = this.requireUser(input.grant.userId);
    user.grants.set(input.appId, input.grant);
    return code;
  }

  issueUserToken(owner: { appId: string; userId: string }, lifetime: 'short' | 'long'): TokenRecord {
    const now = this.clock.now();
    const token: TokenRecord = {
      value: accessToken(),
      kind: 'USER',
      appId: owner.appId,
      userId: owner.userId,
      pageId: null,
      lifetime,
      issuedAt: now,
      expiresAt: now + (lifetime === 'short' ? SHORT_LIVED_TOKEN_MS : LONG_LIVED_TOKEN_SECONDS * 1000),
      dataAccessExpiresAt: now + DATA_ACCESS_MS,
      death: null,
    };
    this.tokens.set(token.value, token);
    return token;
  }

  /**
   * The Page token for `pageId` derived from a user token: from a short-lived user token it lives as long as
   * that one (1 hour); from a long-lived one it never expires (META-API 4.1). One per user token and Page.
   */
  pageTokenFor(userToken: TokenRecord, pageId: string): TokenRecord {
    const existing = [...this.tokens.values()].find(
      (token) => token.kind === 'PAGE' && token.pageId === pageId && token.userId === userToken.userId && token.appId === userToken.appId && token.issuedAt === userToken.issuedAt && token.death === null,
    );
    if (existing) return existing;
    const token: TokenRecord = {
      ...userToken,
      value: accessToken(),
      kind: 'PAGE',
      pageId,
      lifetime: userToken.lifetime === 'long' ? 'never' : 'short',
      expiresAt: userToken.lifetime === 'long' ? 0 : userToken.expiresAt,
      death: null,
    };
    this.tokens.set(token.value, token);
    return token;
  }

  /** Why the token no longer works, as Meta's error; undefined when it works. */
  tokenProblem(token: TokenRecord): GraphError | undefined {
    const now = this.clock.now();
    if (token.death) {
      switch (token.death.subcode) {
        case 460:
          return graphErrors.tokenPasswordChanged();
        case 458:
          return graphErrors.tokenAppRemoved(token.appId);
        case 463:
          return graphErrors.tokenExpired(token.death.at, now);
        default:
          return graphErrors.tokenInvalidated();
      }
    }
    if (token.expiresAt !== 0 && now >= token.expiresAt) return graphErrors.tokenExpired(token.expiresAt, now);
    if (this.currentGrant(token) === undefined) return graphErrors.tokenAppRemoved(token.appId);
    return undefined;
  }

  /**
   * What the token's user grants the app now: the selection of their last login, not of the login the token was
   * issued under. A Page or an Instagram account left out at a later login is out of reach of older tokens too,
   * as at Meta. Undefined once the user removed the app.
   */
  currentGrant(token: TokenRecord): Grant | undefined {
    return this.users.get(token.userId)?.grants.get(token.appId);
  }

  /** The current grant of a token `requireToken` accepted (a token without one is refused there, 190/458). */
  requireGrant(token: TokenRecord): Grant {
    const grant = this.currentGrant(token);
    if (!grant) throw graphErrors.tokenAppRemoved(token.appId);
    return grant;
  }

  /** The live token behind `value`, or Meta's 190 family error. */
  requireToken(value: string | undefined): TokenRecord {
    if (value === undefined || value === '') throw graphErrors.missingToken();
    const token = this.tokens.get(value);
    if (!token) throw graphErrors.malformedToken();
    const problem = this.tokenProblem(token);
    if (problem) throw problem;
    return token;
  }

  killTokens(filter: (token: TokenRecord) => boolean, subcode: DeathReason['subcode']): number {
    let killed = 0;
    const at = this.clock.now();
    for (const token of this.tokens.values()) {
      if (token.death === null && filter(token)) {
        token.death = { subcode, at };
        killed += 1;
      }
    }
    return killed;
  }

  changePassword(userId: string, password: string): number {
    const user = this.requireUser(userId);
    user.password = password;
    return this.killTokens((token) => token.userId === userId, 460);
  }

  /** The user removes the app from their business integrations: tokens die (458) and Page subscriptions go. */
  removeApp(userId: string, appId: string): number {
    const user = this.requireUser(userId);
    const grant = user.grants.get(appId);
    user.grants.delete(appId);
    for (const pageId of grant?.pageIds ?? []) this.pages.get(pageId)?.subscribedApps.delete(appId);
    return this.killTokens((token) => token.userId === userId && token.appId === appId, 458);
  }
}

export function isGraphError(error: unknown): error is GraphError {
  return error instanceof GraphError;
}
