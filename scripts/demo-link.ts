/**
 * `npm run demo:link`: with the local stack running (`npm start`), links the Meta emulator's demo Instagram
 * account (@demo.shop) to a demo channel the way the linking flow does it (login dialog → code → long-lived token
 * → Page token → webhook subscription), and creates the channel's owner with an API key for the inbox API.
 * Idempotent: run it again to link again and get a new key. The real linking flow (Facebook Login from the inbox)
 * replaces it for users; this is the shortcut for trying the product on the emulator.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { DEMO } from '../emulator/seed';
import { createChannelDirectory } from '../src/channels/directory';
import { loadConfig, loadStackConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { createModels, ensureIndexes } from '../src/db/models';
import { newLinkedAccount } from '../src/db/models/linked-account';
import { createGraphClient } from '../src/graph/client';
import { claimRepresentativeIfNone } from '../src/linking/linked-accounts';
import { createTokenCipher } from '../src/security/token-cipher';
import { withLocalSecrets } from './lib/local-secrets';
import { repoRoot } from './lib/processes';

const DEMO_CHANNEL_ID = 'demo-channel';
const REDIRECT_URI = 'http://127.0.0.1/oauth/callback';
const SCOPES = ['instagram_basic', 'instagram_manage_messages', 'pages_manage_metadata', 'pages_read_engagement', 'pages_show_list', 'business_management'];

async function main(): Promise<void> {
  // The token keyring of the local install, which `npm start` handed to the engine: the page token is sealed with it.
  const config = loadConfig(withLocalSecrets(process.env, loadStackConfig(path.join(repoRoot, '.data')).dataDir));
  const emulator = config.meta.graphApiUrl;
  const dialog = await fetch(`${emulator}/_emulator/dialog/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: config.meta.appId,
      redirect_uri: REDIRECT_URI,
      state: randomUUID(),
      scope: SCOPES.join(','),
      email: DEMO.user.email,
      password: DEMO.user.password,
    }),
  }).catch((error: unknown) => {
    throw new Error(`the Meta emulator does not answer at ${emulator} (${(error as Error).message}): is 'npm start' running?`);
  });
  if (dialog.status !== 200) throw new Error(`the emulator's login dialog refused: ${await dialog.text()}`);
  const { code } = (await dialog.json()) as { code: string };

  const graph = createGraphClient({ baseUrl: emulator, version: config.meta.graphApiVersion, timeoutMs: config.meta.graphApiTimeoutMs, appId: config.meta.appId, appSecret: config.meta.appSecret });
  const short = await graph.exchangeCode({ code, redirectUri: REDIRECT_URI });
  const long = await graph.exchangeForLongLivedToken(short.accessToken);
  const page = (await graph.listPages(long.accessToken)).find((candidate) => candidate.id === DEMO.page.id);
  if (!page?.accessToken) throw new Error(`the demo Page is not among the Pages of ${DEMO.user.email}`);
  await graph.subscribeApp(page.id, page.accessToken, ['messages', 'message_reactions', 'messaging_seen', 'messaging_postbacks', 'messaging_referral']);

  const database = await connectDatabase({ uri: config.mongodb.uri, serverSelectionTimeoutMs: 3000 });
  try {
    const models = createModels(database);
    await ensureIndexes(models);
    const now = new Date();
    const { _id, ...account } = newLinkedAccount({
      igAccountId: DEMO.igAccount.id,
      channelId: DEMO_CHANNEL_ID,
      pageId: page.id,
      username: DEMO.igAccount.username,
      pageToken: createTokenCipher(config.tokens.keyring).seal(page.accessToken, { boundTo: DEMO.igAccount.id }),
      at: now,
    });
    await models.linkedAccounts.updateOne({ _id }, { $set: account }, { upsert: true });
    // The channel is kept across runs; each run adds an owner with a fresh key.
    const { apiKey } = await createChannelDirectory({ models, now: Date.now }).createChannelWithOwner({ channelId: DEMO_CHANNEL_ID, name: 'Demo shop', ownerName: 'Demo owner' });
    await claimRepresentativeIfNone(models, DEMO_CHANNEL_ID, DEMO.igAccount.id);

    const api = config.api.publicBaseUrl;
    const lines = [
      `linked @${DEMO.igAccount.username} (${DEMO.igAccount.id}) to channel "${DEMO_CHANNEL_ID}"`,
      `owner API key (shown once): ${apiKey}`,
      '',
      'send a DM as a customer:',
      `  curl -s ${emulator}/_emulator/ig-accounts/${DEMO.igAccount.id}/inbound -H 'content-type: application/json' \\`,
      `    -d '{"from":{"username":"mina.customer"},"kind":"text","text":"Hi! Is the blue one in stock?"}'`,
      'read the inbox:',
      `  curl -s ${api}/v1/channels/${DEMO_CHANNEL_ID}/conversations -H 'authorization: Bearer ${apiKey}'`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo:link failed: ${(error as Error).message}\n`);
  process.exit(1);
});
