/**
 * An engine (real API, worker, Temporal dev server, database) and a Meta emulator wired to each other, with the
 * emulator's demo Instagram account linked to a channel through the real OAuth flow and the real Graph client,
 * and a manager's API key to read the inbox with. End-to-end tests drive the emulator's customers and check
 * through the inbox API, the way an inbox client would.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findFreePort } from '../../scripts/lib/processes';
import { createEmulator, type Emulator } from '../../emulator/app';
import { createLogger } from '../../emulator/logger';
import { DEMO } from '../../emulator/seed';
import { createGraphClient, type GraphClient } from '../../src/graph/client';
import { createChannelDirectory } from '../../src/channels/directory';
import { newLinkedAccount } from '../../src/db/models/linked-account';
import { createTokenCipher } from '../../src/security/token-cipher';
import { loadConfig } from '../../src/config';
import { startEngine, testEnvironment, type RunningEngine } from './engine';

export { DEMO };

const APP_ID = '100000000000001';
const APP_SECRET = 'inbound-test-app-secret';
const VERIFY_TOKEN = 'inbound-test-verify-token';
const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of the APIs, read field by field
export type Json = any;

export interface InboundWorld {
  engine: RunningEngine;
  /** The environment the engine was configured from (for a worker run as a separate process). */
  env: Record<string, string>;
  emulator: Emulator;
  emulatorUrl: string;
  graph: GraphClient;
  channelId: string;
  igAccountId: string;
  pageToken: string;
  apiKey: string;
  /** Makes a demo customer (by username) do something on Instagram; answers the emulator's result. */
  customer(action: Record<string, unknown>, username?: string): Promise<{ igsid: string; mid?: string; timestamp: number }>;
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }>;
  /** GET on the inbox API with the manager's key. */
  inbox(path: string): Promise<{ status: number; body: Json }>;
  /** Polls `probe` until it returns a value that is not undefined. */
  eventually<T>(probe: () => Promise<T | undefined>, timeoutMs?: number, what?: string, intervalMs?: number): Promise<T>;
  /** The conversation of a customer (the newest), once it exists. */
  conversationOf(igsid: string): Promise<Json>;
  /** The messages of a customer's newest conversation, once there are at least `count`. */
  messagesOf(igsid: string, count: number, timeoutMs?: number): Promise<Json[]>;
  close(): Promise<void>;
}

export async function startInboundWorld(options: { engineEnv?: Record<string, string>; emulatorWebhookOptions?: Record<string, unknown>; worker?: boolean } = {}): Promise<InboundWorld> {
  const emulatorPort = await findFreePort();
  let enginePort = await findFreePort();
  while (enginePort === emulatorPort) enginePort = await findFreePort();
  const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
  const env = testEnvironment({
    API_PORT: String(enginePort),
    PUBLIC_BASE_URL: `http://127.0.0.1:${enginePort}`,
    GRAPH_API_URL: emulatorUrl,
    META_LOGIN_DIALOG_URL: `${emulatorUrl}/dialog/oauth`,
    META_APP_ID: APP_ID,
    META_APP_SECRET: APP_SECRET,
    META_WEBHOOK_VERIFY_TOKEN: VERIFY_TOKEN,
    WEBHOOK_SWEEP_INTERVAL_MS: '1000',
    ...options.engineEnv,
  });
  const config = loadConfig(env);
  const engine = await startEngine({ config, sweeper: true, listenOnConfiguredPort: true, ...(options.worker === undefined ? {} : { worker: options.worker }) });

  const emulator = createEmulator({
    logger: createLogger({ level: 'error', write: () => undefined }),
    publicBaseUrl: () => emulatorUrl,
    seed: {
      appId: APP_ID,
      appSecret: APP_SECRET,
      verifyToken: VERIFY_TOKEN,
      webhookUrl: `${engine.baseUrl}/webhooks/instagram`,
      deauthorizeCallbackUrl: `${engine.baseUrl}/meta/deauthorize`,
      dataDeletionCallbackUrl: `${engine.baseUrl}/meta/data-deletion`,
      demo: true,
    },
    webhookOptions: { timeoutMs: 5_000, retryDelaysMs: [50, 100, 200, 400, 800], giveUpAfterMs: 60 * 60 * 1000, ...options.emulatorWebhookOptions },
  });
  const server: Server = createServer(emulator.app);
  await new Promise<void>((resolve) => server.listen(emulatorPort, '127.0.0.1', resolve));
  if ((server.address() as AddressInfo).port !== emulatorPort) throw new Error('emulator port mismatch');

  const graph = createGraphClient({ baseUrl: emulatorUrl, version: config.meta.graphApiVersion, timeoutMs: 5_000, appId: APP_ID, appSecret: APP_SECRET });
  const control: InboundWorld['control'] = async (method, path, body) => {
    const response = await fetch(`${emulatorUrl}/_emulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  // The linking flow of a later issue, done by hand: dialog → code → long-lived token → Page token → subscription.
  const dialog = await control('POST', '/dialog/complete', {
    client_id: APP_ID,
    redirect_uri: REDIRECT_URI,
    state: 'state-1',
    scope: 'instagram_basic,instagram_manage_messages,pages_manage_metadata,pages_read_engagement,pages_show_list,business_management',
    email: DEMO.user.email,
    password: DEMO.user.password,
  });
  if (dialog.status !== 200) throw new Error(`login dialog refused: ${JSON.stringify(dialog.body)}`);
  const short = await graph.exchangeCode({ code: String(dialog.body.code), redirectUri: REDIRECT_URI });
  const long = await graph.exchangeForLongLivedToken(short.accessToken);
  const page = (await graph.listPages(long.accessToken)).find((candidate) => candidate.id === DEMO.page.id);
  if (!page?.accessToken) throw new Error('the demo Page is missing from /me/accounts');
  await graph.subscribeApp(page.id, page.accessToken, ['messages', 'message_reactions', 'messaging_seen', 'messaging_postbacks', 'messaging_referral']);

  const channelId = `channel-${randomUUID().slice(0, 8)}`;
  const now = new Date();
  await engine.models.linkedAccounts.create({
    ...newLinkedAccount({ igAccountId: DEMO.igAccount.id, channelId, pageId: page.id, username: DEMO.igAccount.username, pageToken: createTokenCipher(config.tokens.keyring).seal(page.accessToken, { boundTo: DEMO.igAccount.id }), at: now }),
    linkedByFacebookUserId: DEMO.user.id,
  });
  const { apiKey } = await createChannelDirectory({ models: engine.models, now: Date.now }).createChannelWithOwner({ channelId, name: 'Demo shop', ownerName: 'Owner' });

  const inbox: InboundWorld['inbox'] = async (path) => {
    const response = await fetch(`${engine.baseUrl}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
    return { status: response.status, body: (await response.json()) as Json };
  };
  const eventually: InboundWorld['eventually'] = async (probe, timeoutMs = 20_000, what = 'condition', intervalMs = 50) => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  const conversationOf: InboundWorld['conversationOf'] = (igsid) =>
    eventually(async () => {
      const { body } = await inbox(`/v1/customers/${DEMO.igAccount.id}/${igsid}`);
      return (body.conversations as Json[] | undefined)?.[0];
    }, 20_000, `a conversation of ${igsid}`);
  const messagesOf: InboundWorld['messagesOf'] = async (igsid, count, timeoutMs = 20_000) => {
    const conversation = await conversationOf(igsid);
    return eventually(async () => {
      const { body } = await inbox(`/v1/conversations/${conversation.conversationId}/messages?limit=1000`);
      const messages = body.messages as Json[];
      return messages.length >= count ? messages : undefined;
    }, timeoutMs, `${count} messages of ${igsid}`);
  };

  return {
    engine,
    env,
    emulator,
    emulatorUrl,
    graph,
    channelId,
    igAccountId: DEMO.igAccount.id,
    pageToken: page.accessToken,
    apiKey,
    async customer(action, username: string = DEMO.customers[0].username) {
      const { status, body } = await control('POST', `/ig-accounts/${DEMO.igAccount.id}/inbound`, { from: { username }, ...action });
      if (status !== 201) throw new Error(`customer action refused: ${JSON.stringify(body)}`);
      return body as { igsid: string; mid?: string; timestamp: number };
    },
    control,
    inbox,
    eventually,
    conversationOf,
    messagesOf,
    async close() {
      await emulator.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.stop();
    },
  };
}
