/**
 * Linked accounts for a benchmark, seeded rather than linked through the engine's HTTP login flow (thousands of
 * logins are not what is measured):
 *   - at the emulator: per channel, one Facebook user and business with `count` Pages, each with an Instagram
 *     professional account. The Page tokens come from Meta's own steps (the dialog's code, the long-lived user token,
 *     /me/accounts), as the linker gets them: they never expire, and debug_token answers for them;
 *   - in the database, written directly: the channel with one owner (through the channel directory) and the linked
 *     accounts, their Page tokens sealed with the worker's key.
 */
import { createChannelDirectory } from '../src/channels/directory';
import type { Models } from '../src/db/models';
import { newLinkedAccount, type LinkedAccount } from '../src/db/models/linked-account';
import type { GraphClient, ManagedPage } from '../src/graph/client';
import { REQUIRED_SCOPES } from '../src/linking/permissions';
import type { TokenCipher } from '../src/security/token-cipher';

export interface Account {
  igAccountId: string;
  channelId: string;
  facebookUserId: string;
}

export interface SeedContext {
  models: Models;
  graph: GraphClient;
  cipher: TokenCipher;
  emulatorUrl: string;
  appId: string;
  /** Makes the run's names its own (a shared database may hold an earlier run's). */
  runTag: string;
  linkedAt: Date;
}

async function emulatorControl<T>(emulatorUrl: string, route: string, body: unknown): Promise<T> {
  const response = await fetch(`${emulatorUrl}/_emulator${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await response.json()) as T;
  if (!response.ok) throw new Error(`emulator ${route} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

interface SeededBusiness {
  user: { id: string };
  pages: Array<{ id: string; name: string; igAccountId: string | null }>;
}

/** At the emulator: the channel owner's Facebook user, business and Pages, and the Page tokens the linker would get. */
async function seedAtEmulator(context: SeedContext, index: number, count: number): Promise<{ seeded: SeededBusiness; listed: Map<string, ManagedPage> }> {
  const { runTag } = context;
  const user = { name: `Bench Owner ${index}`, email: `bench-${runTag}-${index}@example.com`, password: `pw-${runTag}-${index}` };
  const seeded = await emulatorControl<SeededBusiness>(context.emulatorUrl, '/businesses', {
    user,
    business: { name: `Bench business ${runTag} ${index}` },
    pages: Array.from({ length: count }, (_, page) => ({ name: `Bench Page ${index}.${page}`, igAccount: { username: `bench.${runTag}.${index}.${page}`, name: `Bench ${index}.${page}` } })),
  });
  const redirectUri = 'http://127.0.0.1:9/v1/oauth/facebook/callback';
  const { code } = await emulatorControl<{ code?: string }>(context.emulatorUrl, '/dialog/complete', { client_id: context.appId, redirect_uri: redirectUri, scope: [...REQUIRED_SCOPES], ...user });
  if (code === undefined) throw new Error(`the emulator's dialog gave no code for channel ${index}`);
  const shortLived = await context.graph.exchangeCode({ code, redirectUri });
  const longLived = await context.graph.exchangeForLongLivedToken(shortLived.accessToken);
  const pages = await context.graph.listPages(longLived.accessToken);
  return { seeded, listed: new Map(pages.map((page) => [page.id, page])) };
}

/** One channel with its owner, and `count` linked accounts of the owner's Pages. */
export async function seedChannel(context: SeedContext, index: number, count: number): Promise<Account[]> {
  const channelId = `bench-${context.runTag}-${index}`;
  await createChannelDirectory({ models: context.models, now: Date.now }).createChannelWithOwner({ channelId, name: `Bench channel ${index}`, ownerName: `Bench owner ${index}` });
  const { seeded, listed } = await seedAtEmulator(context, index, count);
  const documents: LinkedAccount[] = seeded.pages.map((seededPage, page) => {
    const token = listed.get(seededPage.id)?.accessToken;
    if (!token || !seededPage.igAccountId || listed.get(seededPage.id)?.instagramBusinessAccountId !== seededPage.igAccountId) throw new Error(`the emulator did not list Page ${seededPage.id} with its token and Instagram account`);
    return {
      ...newLinkedAccount({
        igAccountId: seededPage.igAccountId,
        channelId,
        pageId: seededPage.id,
        username: `bench.${context.runTag}.${index}.${page}`,
        pageToken: context.cipher.seal(token, { boundTo: seededPage.igAccountId }),
        at: context.linkedAt,
      }),
      pageName: seededPage.name,
      linkedByFacebookUserId: seeded.user.id,
      // A Page token from a long-lived user token never expires (debug_token's expires_at 0): the linker stores null.
      tokenExpiresAt: null,
    };
  });
  await context.models.linkedAccounts.collection.insertMany(documents as never[], { ordered: false });
  return documents.map((document) => ({ igAccountId: document.igAccountId, channelId, facebookUserId: seeded.user.id }));
}
