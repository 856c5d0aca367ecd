/**
 * The emulator's world, in memory: apps, Facebook users with businesses and Pages, Instagram professional
 * accounts linked to Pages, Instagram users with a scoped id (IGSID) per account, conversations, stories and
 * tokens. Times come from the emulator clock, so the control API can age tokens, windows and stories. The rules
 * about tokens and grants live in access-tokens.ts; the shapes of the records in state-records.ts.
 */
import { DAY_MS, type EmulatorClock } from './clock';
import { graphErrors } from './graph-errors';
import { messageId, numericId } from './ids';
import type {
  AuthCode,
  Business,
  Conversation,
  EmulatedApp,
  FacebookUser,
  IgAccount,
  IgUser,
  MediaObject,
  Page,
  StoredMessage,
  Story,
  TokenRecord,
} from './state-records';

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
}
