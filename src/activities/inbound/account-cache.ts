/**
 * The linked account of an event (its channel, settings and token), read by `_id` and kept a few seconds: every
 * event of an account needs it, a few seconds of staleness is harmless, and it saves a database read per event.
 */
import type { Models } from '../../db/models';
import type { LinkedAccount } from '../../db/models/linked-account';
import { FailureType } from '../../temporal/failures';
import { ActivityError } from '../failures';

const ACCOUNT_CACHE_MS = 5_000;

export type LoadAccount = (igAccountId: string) => Promise<LinkedAccount>;

export function createAccountCache(deps: { models: Pick<Models, 'linkedAccounts'>; now: () => number }): LoadAccount {
  const { models, now } = deps;
  const cache = new Map<string, { account: LinkedAccount; until: number }>();
  return async function loadAccount(igAccountId: string): Promise<LinkedAccount> {
    const cached = cache.get(igAccountId);
    if (cached && cached.until > now()) return cached.account;
    const account = await models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>();
    if (!account) throw new ActivityError(FailureType.AccountNotActive, `Instagram account ${igAccountId} is not linked to any channel`);
    cache.set(igAccountId, { account, until: now() + ACCOUNT_CACHE_MS });
    return account;
  };
}
