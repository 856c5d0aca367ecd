/**
 * `npm run demo:link`: with the local stack running (`npm start`), links the Meta emulator's demo Instagram account
 * (@demo.shop) to a demo channel through the real linking flow, as an owner would in a browser: the engine's API
 * gives a Facebook Login URL, the emulator's login dialog is filled in (the demo Facebook user), the browser comes
 * back to the engine's callback, and the owner selects the account. Creates the channel's owner with an API key.
 * Run it again to re-authenticate the link (same Facebook account) and get a new key.
 */
import path from 'node:path';
import { DEMO } from '../emulator/seed';
import { createChannelDirectory } from '../src/channels/directory';
import { loadConfig, loadStackConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { createModels, ensureIndexes } from '../src/db/models';
import { withLocalSecrets } from './lib/local-secrets';
import { loginThroughDialog } from './lib/login-dialog';
import { repoRoot } from './lib/processes';

const DEMO_CHANNEL_ID = 'demo-channel';

async function ownerKey(mongodbUri: string): Promise<string> {
  const database = await connectDatabase({ uri: mongodbUri, serverSelectionTimeoutMs: 3000 });
  try {
    const models = createModels(database);
    await ensureIndexes(models);
    // The channel is kept across runs; each run adds an owner with a fresh key.
    const { apiKey } = await createChannelDirectory({ models, now: Date.now }).createChannelWithOwner({ channelId: DEMO_CHANNEL_ID, name: 'Demo shop', ownerName: 'Demo owner' });
    return apiKey;
  } finally {
    await database.close();
  }
}

async function callApi(url: string, apiKey: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((error: unknown) => {
    throw new Error(`the engine's API does not answer at ${url} (${(error as Error).message}): is 'npm start' running?`);
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

async function main(): Promise<void> {
  const config = loadConfig(withLocalSecrets(process.env, loadStackConfig(path.join(repoRoot, '.data')).dataDir));
  const api = config.api.publicBaseUrl;
  const apiKey = await ownerKey(config.mongodb.uri);

  const started = await callApi(`${api}/v1/channels/${DEMO_CHANNEL_ID}/instagram/link`, apiKey);
  const callback = await loginThroughDialog(String(started.loginUrl), { email: DEMO.user.email, password: DEMO.user.password });
  if (callback.status !== 200) throw new Error(`the engine refused the login: ${JSON.stringify(callback.body)}`);
  const linked = await callApi(`${api}/v1/channels/${DEMO_CHANNEL_ID}/instagram/link/${String((callback.body as { loginId?: unknown }).loginId)}`, apiKey, { igAccountIds: [DEMO.igAccount.id] });

  const emulator = config.meta.graphApiUrl;
  const lines = [
    `linked @${DEMO.igAccount.username} (${DEMO.igAccount.id}) to channel "${DEMO_CHANNEL_ID}" through Facebook Login as ${DEMO.user.name}: ${JSON.stringify(linked.linked)}`,
    `owner API key (shown once): ${apiKey}`,
    '',
    'send a DM as a customer:',
    `  curl -s ${emulator}/_emulator/ig-accounts/${DEMO.igAccount.id}/inbound -H 'content-type: application/json' \\`,
    `    -d '{"from":{"username":"mina.customer"},"kind":"text","text":"Hi! Is the blue one in stock?"}'`,
    'read the inbox:',
    `  curl -s ${api}/v1/channels/${DEMO_CHANNEL_ID}/conversations -H 'authorization: Bearer ${apiKey}'`,
    'the link, its status and its settings:',
    `  curl -s ${api}/v1/channels/${DEMO_CHANNEL_ID}/instagram/accounts -H 'authorization: Bearer ${apiKey}'`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo:link failed: ${(error as Error).message}\n`);
  process.exit(1);
});
