/**
 * The secrets of a local install: made once, kept in the data folder (git-ignored; the files are the owner's
 * only), and handed to the engine through its environment by the local commands (`npm start`, `demo:link`,
 * `secrets:reencrypt`), unless the environment sets them. The code carries no such secret itself, so none of them
 * is public. Production brings its own: with NODE_ENV=production nothing is made here and the engine refuses to
 * start without them. (The Meta app secret and verify token stay the emulator's seeded ones locally: the emulator
 * must agree with the engine on them.)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const localSecretFiles = {
  operatorToken: 'operator-token',
  /** The same form as TOKEN_ENCRYPTION_KEYS (`id:base64key,...`, first = current), so a key rotates by editing it. */
  tokenEncryptionKeys: 'token-encryption-keys',
} as const;

export function localSecretPath(dataDir: string, name: keyof typeof localSecretFiles): string {
  return path.join(dataDir, localSecretFiles[name]);
}

/** A copy of `env` with the local secrets added where it sets none (none at all in production). */
export function withLocalSecrets(env: NodeJS.ProcessEnv, dataDir: string): NodeJS.ProcessEnv {
  const withSecrets = { ...env };
  if (env.NODE_ENV === 'production') return withSecrets;
  if (!withSecrets.OPERATOR_TOKEN) {
    withSecrets.OPERATOR_TOKEN = readOrCreate(localSecretPath(dataDir, 'operatorToken'), () => randomBytes(24).toString('base64url'));
  }
  if (!withSecrets.TOKEN_ENCRYPTION_KEYS && !withSecrets.TOKEN_ENCRYPTION_KEY) {
    withSecrets.TOKEN_ENCRYPTION_KEYS = readOrCreate(localSecretPath(dataDir, 'tokenEncryptionKeys'), () => `local-1:${randomBytes(32).toString('base64')}`);
  }
  return withSecrets;
}

function readOrCreate(file: string, make: () => string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  if (!existsSync(file)) {
    // Written aside, then linked into place: the link fails if the file appeared meanwhile, so two commands
    // started at once on a fresh install agree on one value, and neither ever reads a half-written file.
    const draft = `${file}.${process.pid}.draft`;
    writeFileSync(draft, `${make()}\n`, { mode: 0o600 });
    try {
      linkSync(draft, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(draft);
    }
  }
  const value = readFileSync(file, 'utf8').trim();
  if (value === '') throw new Error(`${file} is empty: write the value into it, or delete it to make a new one`);
  return value;
}
