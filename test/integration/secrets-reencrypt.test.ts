/**
 * `npm run secrets:reencrypt` against the real database: after a key rotation every stored Page token ends up
 * under the current key and still opens for its own account; what does not open is reported with its reason; a
 * second run changes nothing; and a token the engine writes while the command runs is never lost.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { repoRoot } from '../../scripts/lib/processes';
import { newLinkedAccount } from '../../src/db/models/linked-account';
import { resealStoredSecrets, storedSealedFields, type SealedField } from '../../src/security/reseal';
import { createTokenCipher, type SealedSecret, type TokenKey } from '../../src/security/token-cipher';
import { startEngine, type RunningEngine } from '../support/engine';

jest.setTimeout(60_000);

const oldKey: TokenKey = { id: 'k0', key: randomBytes(32) };
const currentKey: TokenKey = { id: 'k1', key: randomBytes(32) };
const retiredKey: TokenKey = { id: 'retired', key: randomBytes(32) };
const beforeRotation = createTokenCipher({ current: oldKey });
const afterRotation = createTokenCipher({ current: currentKey, previous: [oldKey] });
/** Once the old key is dropped: what every re-sealed token must open with. */
const currentOnly = createTokenCipher({ current: currentKey });

const tokenOf = (igAccountId: string): string => `EAA-page-token-of-${igAccountId}`;

describe('secrets:reencrypt', () => {
  let engine: RunningEngine;

  beforeAll(async () => {
    engine = await startEngine({ worker: false });
  });

  afterAll(async () => {
    await engine?.stop();
  });

  async function link(igAccountId: string, pageToken: SealedSecret): Promise<void> {
    await engine.models.linkedAccounts.create(newLinkedAccount({ igAccountId, channelId: 'channel-secrets', pageId: `page-${igAccountId}`, username: `shop.${igAccountId}`, pageToken }));
  }

  async function storedToken(igAccountId: string): Promise<SealedSecret> {
    const account = await engine.models.linkedAccounts.findOne({ _id: igAccountId }).lean();
    if (!account?.pageToken) throw new Error(`account ${igAccountId} or its token is missing`);
    return account.pageToken;
  }

  const sealedFields = (): SealedField[] => storedSealedFields(engine.models);

  describe('after a rotation', () => {
    const underOldKey = ['1001', '1002', '1003'];
    const underCurrentKey = '1004';
    const copiedFromAnotherAccount = '1005';
    const underRetiredKey = '1006';
    /** Its Facebook user had their data deleted (A12): nothing to re-seal, nothing failed. */
    const tokenDeleted = '1099';

    beforeAll(async () => {
      for (const id of underOldKey) await link(id, beforeRotation.seal(tokenOf(id), { boundTo: id }));
      await link(underCurrentKey, afterRotation.seal(tokenOf(underCurrentKey), { boundTo: underCurrentKey }));
      // Account 1001's sealed token, copied into another account's document.
      await link(copiedFromAnotherAccount, await storedToken('1001'));
      await link(underRetiredKey, createTokenCipher({ current: retiredKey }).seal(tokenOf(underRetiredKey), { boundTo: underRetiredKey }));
      await link(tokenDeleted, beforeRotation.seal(tokenOf(tokenDeleted), { boundTo: tokenDeleted }));
      await engine.models.linkedAccounts.updateOne({ _id: tokenDeleted }, { $set: { status: 'unlinked', pageToken: null } });
    });

    afterAll(async () => {
      await engine.models.linkedAccounts.deleteMany({ _id: { $in: [...underOldKey, underCurrentKey, copiedFromAnotherAccount, underRetiredKey, tokenDeleted] } });
    });

    it('re-seals every token under the current key, keeps those already current, and reports what does not open (a deleted token is no token)', async () => {
      const [report] = await resealStoredSecrets({ fields: sealedFields(), cipher: afterRotation, pageSize: 2 });
      expect(report).toEqual({
        field: 'linkedAccounts.pageToken',
        resealed: 3,
        alreadyCurrent: 1,
        removedMeanwhile: 0,
        failed: [
          { documentId: copiedFromAnotherAccount, reason: expect.stringContaining('sealed for another owner') },
          { documentId: underRetiredKey, reason: 'sealed with key "retired", which is not in the keyring' },
        ],
      });
      for (const id of [...underOldKey, underCurrentKey]) {
        const sealed = await storedToken(id);
        expect(sealed.keyId).toBe('k1');
        expect(currentOnly.open(sealed, { boundTo: id })).toBe(tokenOf(id));
      }
      // What failed is left as it was.
      expect((await storedToken(underRetiredKey)).keyId).toBe('retired');
    });

    it('changes nothing when run again', async () => {
      const before = await Promise.all(underOldKey.map(storedToken));
      const [report] = await resealStoredSecrets({ fields: sealedFields(), cipher: afterRotation });
      expect(report).toMatchObject({ resealed: 0, alreadyCurrent: 4, removedMeanwhile: 0 });
      expect(report!.failed.map((failure) => failure.documentId)).toEqual([copiedFromAnotherAccount, underRetiredKey]);
      expect(await Promise.all(underOldKey.map(storedToken))).toEqual(before);
    });

    it('as a command, prints the counts and each failure, and exits 1 while a value fails', async () => {
      const keyring = [currentKey, oldKey].map(({ id, key }) => `${id}:${key.toString('base64')}`).join(',');
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', MONGODB_URI: engine.config.mongodb.uri, TOKEN_ENCRYPTION_KEYS: keyring };
      delete env.TOKEN_ENCRYPTION_KEY;

      const failing = await runCommand(env);
      expect(failing.exitCode).toBe(1);
      expect(failing.stdout).toContain('[secrets:reencrypt] current key "k1"; the keyring holds "k1", "k0"');
      expect(failing.stdout).toContain('[secrets:reencrypt] linkedAccounts.pageToken: 0 re-sealed, 4 already current, 2 failed');
      expect(failing.stdout).toContain(`failed ${underRetiredKey}: sealed with key "retired", which is not in the keyring`);

      await engine.models.linkedAccounts.deleteMany({ _id: { $in: [copiedFromAnotherAccount, underRetiredKey] } });
      await link('1007', beforeRotation.seal(tokenOf('1007'), { boundTo: '1007' }));
      const clean = await runCommand(env);
      expect(clean.stdout).toContain('[secrets:reencrypt] linkedAccounts.pageToken: 1 re-sealed, 4 already current, 0 failed');
      expect(clean.exitCode).toBe(0);
      expect(currentOnly.open(await storedToken('1007'), { boundTo: '1007' })).toBe(tokenOf('1007'));
      await engine.models.linkedAccounts.deleteOne({ _id: '1007' });
    });
  });

  it('never overwrites a token the engine writes while the command re-seals it', async () => {
    const id = '2001';
    await link(id, beforeRotation.seal('EAA-token-before-relinking', { boundTo: id }));
    const [pageTokens] = sealedFields();
    let attempts = 0;
    // Between the command's read and its write, the account is linked again (by a process still sealing with the
    // old key): the command's write must miss, and the command must re-seal the new token instead.
    const racingField: SealedField = {
      ...pageTokens!,
      async replaceIfUnchanged(stored, next) {
        attempts += 1;
        if (attempts === 1) {
          await engine.models.linkedAccounts.updateOne({ _id: id }, { $set: { pageToken: beforeRotation.seal('EAA-token-after-relinking', { boundTo: id }) } });
        }
        return pageTokens!.replaceIfUnchanged(stored, next);
      },
    };
    const [report] = await resealStoredSecrets({ fields: [racingField], cipher: afterRotation });
    expect(report).toMatchObject({ resealed: 1, alreadyCurrent: 0, failed: [] });
    expect(attempts).toBe(2);
    const sealed = await storedToken(id);
    expect(sealed.keyId).toBe('k1');
    expect(currentOnly.open(sealed, { boundTo: id })).toBe('EAA-token-after-relinking');
    await engine.models.linkedAccounts.deleteOne({ _id: id });
  });
});

async function runCommand(env: NodeJS.ProcessEnv): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/secrets-reencrypt.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { exitCode, stdout, stderr };
}
