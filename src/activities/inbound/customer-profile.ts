/**
 * The customer behind a conversation. Created on their first event without a profile, so no message waits for the
 * Profile API; the profile is fetched apart from the events, when it was never fetched, is older than the limit, or
 * a new conversation began, so a changed username shows on a later message (B10). Customers are keyed by account
 * and IGSID and read by `_id`.
 */
import { insertIfAbsent } from '../../db/insert-if-absent';
import type { Models } from '../../db/models';
import { makeCustomerKey, type Customer } from '../../db/models/customer';
import type { LinkedAccount } from '../../db/models/linked-account';
import type { GraphClient, UserProfile } from '../../graph/client';
import type { Logger } from '../../logger';
import type { TokenCipher } from '../../security/token-cipher';
import type { RefreshCustomerProfileInput } from '../conversation-contract';
import type { LoadAccount } from './account-cache';

/**
 * Shorter than the refresh activity's own limit (5 s in the conversation workflow): a slow Profile API then ends
 * as a failure the activity records on the customer and Temporal retries, not as an activity timeout.
 */
export const PROFILE_FETCH_TIMEOUT_MS = 3_000;

export interface CustomerProfileDeps {
  models: Pick<Models, 'customers'>;
  graph: Pick<GraphClient, 'getUserProfile'>;
  cipher: Pick<TokenCipher, 'open'>;
  logger: Logger;
  /** A profile older than this is fetched again. */
  profileStaleAfterMs: number;
  /** How long one Profile API call may take. */
  profileFetchTimeoutMs: number;
  loadAccount: LoadAccount;
  now: () => number;
}

/** A customer seen for the first time: no profile yet. */
function newCustomer(account: LinkedAccount, igsid: string, firstSeenAt: Date): Customer {
  return {
    _id: makeCustomerKey(account.igAccountId, igsid),
    igAccountId: account.igAccountId,
    igsid,
    channelId: account.channelId,
    username: null,
    name: null,
    profilePicUrl: null,
    usernameHistory: [],
    profileFetchedAt: null,
    profileError: null,
    memberId: null,
    firstSeenAt,
  };
}

export function createCustomerProfiles(deps: CustomerProfileDeps) {
  const { models, now } = deps;

  /** A profile never fetched, or fetched longer ago than the limit (a changed username shows on a later message). */
  function profileIsStale(customer: Customer): boolean {
    return customer.profileFetchedAt === null || now() - customer.profileFetchedAt.getTime() >= deps.profileStaleAfterMs;
  }

  /**
   * Creates the customer when new, without a profile: the message must not wait for the Profile API. Answers
   * whether a profile fetch is due (the workflow runs it beside the events). Nothing is written for a known customer.
   */
  async function ensureCustomer(account: LinkedAccount, igsid: string, firstOfConversation = false): Promise<boolean> {
    const created = newCustomer(account, igsid, new Date(now()));
    const read = (): Promise<Customer | null> => models.customers.findOne({ _id: created._id }).lean<Customer>();
    let customer = await read();
    if (!customer) customer = (await insertIfAbsent(models.customers, { ...created })) ? created : await read();
    // No token once the Facebook user who granted it had their data deleted: nothing can be fetched.
    if (!customer || !account.pageToken) return false;
    // Each new conversation reads the profile again, whatever its age (B10).
    return firstOfConversation || profileIsStale(customer);
  }

  /** Stores a fetched profile; the old username stays in the history and the new one is added once (B10). */
  async function storeProfile(customer: Customer, profile: UserProfile): Promise<void> {
    const at = new Date(now());
    const username = profile.username || null;
    const update: Record<string, unknown> = {
      $set: { username, name: profile.name || null, profilePicUrl: profile.profilePic || null, profileFetchedAt: at, profileError: null },
    };
    if (username && !customer.usernameHistory.some((entry) => entry.username === username)) {
      update.$push = { usernameHistory: { username, seenAt: at } };
    }
    await models.customers.updateOne({ _id: customer._id }, update);
  }

  /**
   * Fetches the customer's profile and stores it (B10). A failure is recorded on the customer (`profileError`)
   * and raised, so Temporal retries what may pass; the customer keeps what is known meanwhile.
   */
  async function refreshCustomerProfile(input: RefreshCustomerProfileInput): Promise<void> {
    const account = await deps.loadAccount(input.igAccountId);
    const key = makeCustomerKey(input.igAccountId, input.igsid);
    const customer = await models.customers.findOne({ _id: key }).lean<Customer>();
    // No token once the Facebook user who granted it had their data deleted: nothing can be fetched.
    if (!customer || !account.pageToken) return;
    try {
      const accessToken = deps.cipher.open(account.pageToken, { boundTo: account.igAccountId });
      const profile = await deps.graph.getUserProfile({ igsid: input.igsid, accessToken, fields: ['name', 'username', 'profile_pic'], timeoutMs: deps.profileFetchTimeoutMs });
      await storeProfile(customer, profile);
    } catch (error) {
      const type = (error as { type?: string }).type ?? 'Error';
      deps.logger.warn('profile fetch failed; the customer keeps what is known', { igAccountId: input.igAccountId, igsid: input.igsid, type, error: (error as Error).message });
      await models.customers.updateOne({ _id: key }, { $set: { profileError: type } });
      throw error;
    }
  }

  return { ensureCustomer, refreshCustomerProfile };
}

export type CustomerProfiles = ReturnType<typeof createCustomerProfiles>;
