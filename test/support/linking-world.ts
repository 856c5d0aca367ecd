/**
 * Linking helpers over an inbound world: a Facebook user with a business and Pages on the emulator, a channel with
 * an owner and an agent, and the whole linking flow through the engine's API and the emulator's dialog.
 */
import { randomUUID } from 'node:crypto';
import { loginThroughDialog, type DialogChoices } from '../../scripts/lib/login-dialog';
import { createChannelDirectory } from '../../src/channels/directory';
import type { InboundWorld, Json } from './inbound-world';

export interface SeededBusiness {
  businessId: string;
  user: { id: string; name: string; email: string; password: string };
  pages: Array<{ id: string; name: string; igAccountId: string | null }>;
}

export interface TestChannelKeys {
  channelId: string;
  ownerKey: string;
  agentKey: string;
}

/** `worldOf`: the world once started (the helpers are made before `beforeAll` starts it). */
export function createLinkingHelpers(worldOf: () => InboundWorld) {
  async function api(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${worldOf().engine.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  async function startLogin(channel: TestChannelKeys): Promise<string> {
    const started = await api(channel.ownerKey, 'POST', `/v1/channels/${channel.channelId}/instagram/link`);
    if (started.status !== 201) throw new Error(`the link did not start: ${started.status} ${JSON.stringify(started.body)}`);
    return String(started.body.loginUrl);
  }

  const credentials = (business: SeededBusiness): DialogChoices => ({ email: business.user.email, password: business.user.password });

  return { api, startLogin, credentials, seedBusiness, newChannel, link };

  /** A Facebook user with a business whose Pages carry the given Instagram accounts (null: a Page without one). */
  async function seedBusiness(usernames: Array<string | null>): Promise<SeededBusiness> {
    const tag = randomUUID().slice(0, 8);
    const user = { name: `Owner ${tag}`, email: `owner-${tag}@example.com`, password: `pw-${tag}` };
    const { status, body } = await worldOf().control('POST', '/businesses', {
      user,
      business: { name: `Business ${tag}` },
      pages: usernames.map((username, index) => ({ name: `Page ${index} ${tag}`, ...(username === null ? {} : { igAccount: { username: `${username}.${tag}`, name: username } }) })),
    });
    if (status !== 201) throw new Error(`the emulator did not seed the business: ${JSON.stringify(body)}`);
    return { businessId: String(body.business.id), user: { ...user, id: String(body.user.id) }, pages: body.pages as SeededBusiness['pages'] };
  }

  async function newChannel(): Promise<TestChannelKeys> {
    const directory = createChannelDirectory({ models: worldOf().engine.models, now: Date.now });
    const created = await directory.createChannelWithOwner({ channelId: `channel-${randomUUID().slice(0, 8)}`, name: 'Shop', ownerName: 'Owner' });
    const agent = await directory.addManager({ channelId: created.channel.channelId, name: 'Agent', role: 'agent' });
    return { channelId: created.channel.channelId, ownerKey: created.apiKey, agentKey: agent.apiKey };
  }

  /** The whole flow: start, the dialog, the callback, the selection (all offered accounts unless told). */
  async function link(channel: TestChannelKeys, business: SeededBusiness, options: { dialog?: Partial<DialogChoices>; select?: string[] } = {}): Promise<{ status: number; body: Json; choice: Json }> {
    const callback = await loginThroughDialog(await startLogin(channel), { ...credentials(business), ...options.dialog });
    if (callback.status !== 200) throw new Error(`the callback refused: ${callback.status} ${JSON.stringify(callback.body)}`);
    const choice = callback.body;
    const igAccountIds = options.select ?? (choice.accounts as Json[]).map((account) => account.igAccountId);
    const linked = await api(channel.ownerKey, 'POST', `/v1/channels/${channel.channelId}/instagram/link/${choice.loginId}`, { igAccountIds });
    return { ...linked, choice };
  }
}
