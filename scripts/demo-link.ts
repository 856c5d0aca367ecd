/**
 * `npm run demo:link`: with the local stack running (`npm start`), links the Meta emulator's demo Instagram account
 * (@demo.shop) to a demo channel through the real linking flow, as an owner would in a browser: the engine's API
 * gives a Facebook Login URL, the emulator's login dialog is filled in (the demo Facebook user), the browser comes
 * back to the engine's callback, and the owner selects the account. Creates the channel's owner with an API key.
 * Run it again to re-authenticate the link (same Facebook account) and get a new key.
 */
import path from 'node:path';
import { DEMO } from '../emulator/seed';
import { loadConfig, loadStackConfig } from '../src/config';
import { linkDemoAccount } from './lib/demo-account';
import { withLocalSecrets } from './lib/local-secrets';
import { repoRoot } from './lib/processes';

const DEMO_CHANNEL_ID = 'demo-channel';

async function main(): Promise<void> {
  const config = loadConfig(withLocalSecrets(process.env, loadStackConfig(path.join(repoRoot, '.data')).dataDir));
  const api = config.api.publicBaseUrl;
  const { apiKey, linked } = await linkDemoAccount({ apiUrl: api, mongodbUri: config.mongodb.uri, channelId: DEMO_CHANNEL_ID });

  const emulator = config.meta.graphApiUrl;
  const lines = [
    `linked @${DEMO.igAccount.username} (${DEMO.igAccount.id}) to channel "${DEMO_CHANNEL_ID}" through Facebook Login as ${DEMO.user.name}: ${JSON.stringify(linked)}`,
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
