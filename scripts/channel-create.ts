/**
 * `npm run channel:create -- --name "Demo shop" --owner "Dana"`: sets up a channel and its first owner straight in
 * the database (MONGODB_URI, through the engine's configuration), the way `POST /v1/admin/channels` does, and
 * prints the channel id and the owner's API key. The key is shown this once: only its hash is stored.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createChannelDirectory } from '../src/channels/directory';
import { loadConfig, loadStackConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { createModels, ensureIndexes } from '../src/db/models';
import { withLocalSecrets } from './lib/local-secrets';
import { repoRoot } from './lib/processes';

const USAGE = 'usage: npm run channel:create -- --name "<channel name>" --owner "<owner name>"';

function readArguments(): { name: string; owner: string } {
  const { values } = parseArgs({ options: { name: { type: 'string' }, owner: { type: 'string' } }, strict: true });
  const name = values.name?.trim();
  const owner = values.owner?.trim();
  if (!name || !owner) throw new Error(`both --name and --owner are needed\n${USAGE}`);
  return { name, owner };
}

async function main(): Promise<void> {
  const input = readArguments();
  // Outside production the local secrets of `npm start` are used (made once per install in the data folder).
  const config = loadConfig(withLocalSecrets(process.env, loadStackConfig(path.join(repoRoot, '.data')).dataDir));
  const database = await connectDatabase({ uri: config.mongodb.uri, serverSelectionTimeoutMs: 3000 });
  try {
    const models = createModels(database);
    await ensureIndexes(models);
    const created = await createChannelDirectory({ models, now: Date.now }).createChannelWithOwner({ name: input.name, ownerName: input.owner });
    const lines = [
      `channel "${created.channel.name}": ${created.channel.channelId}`,
      `owner ${created.manager.name}: ${created.manager.managerId}`,
      `owner API key (shown once): ${created.apiKey}`,
      '',
      'who am I:',
      `  curl -s ${config.api.publicBaseUrl}/v1/me -H 'authorization: Bearer ${created.apiKey}'`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`channel:create failed: ${(error as Error).message}\n`);
  process.exit(1);
});
