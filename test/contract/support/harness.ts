/**
 * Runs the emulator in-process on a free port, with a local webhook receiver and a small media server, and
 * links the demo Instagram account through the real OAuth flow with the real Graph client.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEmulator, type Emulator } from '../../../emulator/app';
import { createLogger } from '../../../emulator/logger';
import { DEMO } from '../../../emulator/seed';
import { createGraphClient, type GraphClient } from '../../../src/graph/client';
import { REQUIRED_SCOPES } from '../../../src/linking/permissions';

export const APP_ID = '100000000000001';
export const APP_SECRET = 'contract-test-app-secret';
export const VERIFY_TOKEN = 'contract-verify-token';
export const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback';
export const SCOPES = [...REQUIRED_SCOPES];
export { DEMO };

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface ReceivedWebhook {
  headers: IncomingMessage['headers'];
  raw: Buffer;
  at: number;
}

/** A webhook endpoint that records the exact bytes it gets and answers what the test tells it to. */
export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  /** Decides the answer to each POST; the default is 200. `delayMs` holds the answer. */
  respond: (request: ReceivedWebhook, index: number) => { status: number; delayMs?: number; body?: string };
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  reset(): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const timers = new Set<NodeJS.Timeout>();
  const receiver: Partial<Receiver> & { received: ReceivedWebhook[] } = {
    received: [],
    respond: () => ({ status: 200 }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'GET') {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const ok = url.searchParams.get('hub.verify_token') === VERIFY_TOKEN && url.searchParams.get('hub.mode') === 'subscribe';
        res.statusCode = ok ? 200 : 403;
        res.end(ok ? url.searchParams.get('hub.challenge') ?? '' : 'forbidden');
        return;
      }
      const record: ReceivedWebhook = { headers: req.headers, raw: Buffer.concat(chunks), at: Date.now() };
      const index = receiver.received.length;
      receiver.received.push(record);
      const answer = receiver.respond!(record, index);
      const send = (): void => {
        res.statusCode = answer.status;
        res.end(answer.body ?? 'EVENT_RECEIVED');
      };
      if (answer.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, answer.delayMs);
        timers.add(timer);
      } else send();
    });
  });
  const url = await listen(server);
  receiver.url = `${url}/webhooks/instagram`;
  receiver.waitFor = async (count, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (receiver.received.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} webhook posts, got ${receiver.received.length}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return receiver.received.slice(0, count);
  };
  receiver.reset = () => {
    receiver.received.length = 0;
    receiver.respond = () => ({ status: 200 });
  };
  receiver.close = async () => {
    for (const timer of timers) clearTimeout(timer);
    await closeServer(server);
  };
  return receiver as Receiver;
}

/** Serves fixed bodies at fixed paths, for the Send API to fetch. */
export async function startMediaServer(files: Record<string, { contentType: string; body: Buffer }>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (!file) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('content-type', file.contentType);
    res.end(file.body);
  });
  const url = await listen(server);
  return { url, close: () => closeServer(server) };
}

/** JSON answers of the control API; tests read them loosely, field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type Json = any;

export interface Harness {
  baseUrl: string;
  emulator: Emulator;
  receiver: Receiver;
  client: GraphClient;
  control<T = Json>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Customer action through the control API; fails the test on a refusal. */
  customer(action: Record<string, unknown>, from?: Record<string, string>): Promise<{ igsid: string; mid?: string; timestamp: number }>;
  /** Dialog → code → short-lived → long-lived → Page token, subscribed to messaging fields. */
  linkDemoAccount(options?: { declinedScopes?: string[] }): Promise<{ userToken: string; pageToken: string; pageId: string; igAccountId: string }>;
  close(): Promise<void>;
}

export function makeClient(baseUrl: string, overrides: { timeoutMs?: number } = {}): GraphClient {
  return createGraphClient({ baseUrl, version: 'v25.0', timeoutMs: overrides.timeoutMs ?? 5_000, appId: APP_ID, appSecret: APP_SECRET });
}

export async function startHarness(options: { webhookTimeoutMs?: number; retryDelaysMs?: number[]; giveUpAfterMs?: number } = {}): Promise<Harness> {
  const receiver = await startReceiver();
  let baseUrl = '';
  const emulator = createEmulator({
    logger: createLogger({ level: 'error', write: () => undefined }),
    publicBaseUrl: () => baseUrl,
    seed: { appId: APP_ID, appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN, webhookUrl: receiver.url, demo: true },
    webhookOptions: {
      timeoutMs: options.webhookTimeoutMs ?? 1_000,
      retryDelaysMs: options.retryDelaysMs ?? [20, 40, 80],
      giveUpAfterMs: options.giveUpAfterMs ?? 60 * 60 * 1000,
    },
    mediaFetchTimeoutMs: 2_000,
  });
  const server = createServer(emulator.app);
  baseUrl = await listen(server);
  const client = makeClient(baseUrl);

  const control: Harness['control'] = async (method, path, body) => {
    const response = await fetch(`${baseUrl}/_emulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  const harness: Harness = {
    baseUrl,
    emulator,
    receiver,
    client,
    control,
    async customer(action, from = { username: DEMO.customers[0].username }) {
      const { status, body } = await control('POST', `/ig-accounts/${DEMO.igAccount.id}/inbound`, { from, ...action });
      if (status !== 201) throw new Error(`customer action refused: ${JSON.stringify(body)}`);
      return body as { igsid: string; mid?: string; timestamp: number };
    },
    async linkDemoAccount({ declinedScopes = [] } = {}) {
      const dialog = await control('POST', '/dialog/complete', {
        client_id: APP_ID,
        redirect_uri: REDIRECT_URI,
        state: 'state-1',
        scope: SCOPES.join(','),
        email: DEMO.user.email,
        password: DEMO.user.password,
        declinedScopes,
      });
      if (dialog.status !== 200) throw new Error(`dialog refused: ${JSON.stringify(dialog.body)}`);
      const short = await client.exchangeCode({ code: String(dialog.body.code), redirectUri: REDIRECT_URI });
      const long = await client.exchangeForLongLivedToken(short.accessToken);
      const pages = await client.listPages(long.accessToken);
      const page = pages.find((candidate) => candidate.id === DEMO.page.id);
      if (!page?.accessToken) throw new Error('demo page missing from /me/accounts');
      if (!declinedScopes.includes('pages_manage_metadata')) {
        await client.subscribeApp(page.id, page.accessToken, ['messages', 'message_reactions', 'messaging_seen', 'messaging_postbacks', 'messaging_referrals']);
      }
      return { userToken: long.accessToken, pageToken: page.accessToken, pageId: page.id, igAccountId: DEMO.igAccount.id };
    },
    async close() {
      await emulator.close();
      await closeServer(server);
      await receiver.close();
    },
  };
  return harness;
}

/** The error a promise rejects with, checked to be of `type` (a resolution fails the test). */
export async function rejection<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}
