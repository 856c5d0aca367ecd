/**
 * `npm run secrets:reencrypt`: after a key rotation (a new key first in TOKEN_ENCRYPTION_KEYS, the old ones after
 * it), re-seals every stored token under the current key, and checks that every other one opens. Idempotent, and
 * safe while the engine runs (see src/security/reseal.ts). Prints the counts per sealed field and each failure with
 * its reason; exits 1 when anything failed, so the old key is not dropped while a value still needs it.
 * Reads the engine's settings (locally, the install's keyring in .data/ as `npm start` does).
 */
import path from 'node:path';
import { loadConfig, loadStackConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { createModels } from '../src/db/models';
import { resealStoredSecrets, storedSealedFields } from '../src/security/reseal';
import { createTokenCipher } from '../src/security/token-cipher';
import { withLocalSecrets } from './lib/local-secrets';
import { repoRoot } from './lib/processes';

const DATABASE_WAIT_MS = 30_000;

async function main(): Promise<number> {
  const config = loadConfig(withLocalSecrets(process.env, loadStackConfig(path.join(repoRoot, '.data')).dataDir));
  const cipher = createTokenCipher(config.tokens.keyring);
  const database = await connectDatabase({ uri: config.mongodb.uri, serverSelectionTimeoutMs: 3000 }, undefined, AbortSignal.timeout(DATABASE_WAIT_MS)).catch((error: unknown) => {
    throw new Error(`the database does not answer (${(error as Error).message})`);
  });
  try {
    const keyIds = [config.tokens.keyring.current.id, ...config.tokens.keyring.previous.map((key) => key.id)];
    say(`current key "${cipher.currentKeyId}"; the keyring holds ${keyIds.map((id) => `"${id}"`).join(', ')}`);
    const reports = await resealStoredSecrets({ fields: storedSealedFields(createModels(database)), cipher });
    let failures = 0;
    for (const report of reports) {
      const removed = report.removedMeanwhile > 0 ? `, ${report.removedMeanwhile} removed meanwhile` : '';
      say(`${report.field}: ${report.resealed} re-sealed, ${report.alreadyCurrent} already current, ${report.failed.length} failed${removed}`);
      for (const failure of report.failed) say(`  failed ${failure.documentId}: ${failure.reason}`);
      failures += report.failed.length;
    }
    if (failures > 0) say(`${failures} value(s) could not be re-sealed: keep the keys they need until they are fixed or relinked`);
    return failures > 0 ? 1 : 0;
  } finally {
    await database.close();
  }
}

function say(line: string): void {
  process.stdout.write(`[secrets:reencrypt] ${line}\n`);
}

main().then(
  (exitCode) => process.exit(exitCode),
  (error: unknown) => {
    process.stderr.write(`[secrets:reencrypt] failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
