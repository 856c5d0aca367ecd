import { createCipheriv, randomBytes } from 'node:crypto';
import { createTokenCipher, SealedSecretError, type SealedSecret } from '../../src/security/token-cipher';

const ACCOUNT = { boundTo: '17841400000000001' };
const OTHER_ACCOUNT = { boundTo: '17841400000000002' };

describe('token cipher (AES-256-GCM)', () => {
  const cipher = createTokenCipher({ current: { id: 'k1', key: randomBytes(32) } });

  it('opens what it sealed, and never stores the plaintext', () => {
    const token = `EAA${'z'.repeat(60)}`;
    const sealed = cipher.seal(token, ACCOUNT);
    expect(JSON.stringify(sealed)).not.toContain(token);
    expect(sealed.keyId).toBe('k1');
    expect(cipher.open(sealed, ACCOUNT)).toBe(token);
  });

  it('uses a fresh IV each time', () => {
    expect(cipher.seal('same', ACCOUNT).iv).not.toBe(cipher.seal('same', ACCOUNT).iv);
  });

  it('refuses a tampered value', () => {
    const sealed = cipher.seal('secret-token', ACCOUNT);
    const data = Buffer.from(sealed.data, 'base64');
    data[0] = data[0]! ^ 1;
    expect(() => cipher.open({ ...sealed, data: data.toString('base64') }, ACCOUNT)).toThrow(SealedSecretError);
  });

  it('refuses a value sealed with another key under the same id', () => {
    const other = createTokenCipher({ current: { id: 'k1', key: randomBytes(32) } });
    expect(() => other.open(cipher.seal('secret-token', ACCOUNT), ACCOUNT)).toThrow(/does not open with key "k1"/);
  });

  it('refuses a key that is not 32 bytes, a bad key id, and an id given twice', () => {
    expect(() => createTokenCipher({ current: { id: 'k1', key: randomBytes(16) } })).toThrow(/32 bytes/);
    expect(() => createTokenCipher({ current: { id: 'k:1', key: randomBytes(32) } })).toThrow(/key id "k:1"/);
    expect(() => createTokenCipher({ current: { id: 'k1', key: randomBytes(32) }, previous: [{ id: 'k1', key: randomBytes(32) }] })).toThrow(/appears twice/);
  });
});

describe('a sealed token is bound to its account', () => {
  const cipher = createTokenCipher({ current: { id: 'k1', key: randomBytes(32) } });

  it('does not open when copied to another account', () => {
    const sealed = cipher.seal('page-token-of-account-1', ACCOUNT);
    expect(() => cipher.open(sealed, OTHER_ACCOUNT)).toThrow(/sealed for another owner/);
    expect(cipher.open(sealed, ACCOUNT)).toBe('page-token-of-account-1');
  });

  it('is never sealed or opened without an owner', () => {
    expect(() => cipher.seal('token', { boundTo: '' })).toThrow(/bound to an owner/);
    expect(() => cipher.open(cipher.seal('token', ACCOUNT), { boundTo: '' })).toThrow(/bound to an owner/);
  });

  it('does not open as a value sealed without binding (the former format)', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const unbound = createCipheriv('aes-256-gcm', key, iv);
    const data = Buffer.concat([unbound.update('legacy-token', 'utf8'), unbound.final()]);
    const legacy: SealedSecret = { keyId: 'k1', iv: iv.toString('base64'), tag: unbound.getAuthTag().toString('base64'), data: data.toString('base64') };
    expect(() => createTokenCipher({ current: { id: 'k1', key } }).open(legacy, ACCOUNT)).toThrow(SealedSecretError);
  });
});

describe('the authentication tag is 16 bytes, never fewer', () => {
  const cipher = createTokenCipher({ current: { id: 'k1', key: randomBytes(32) } });
  const sealed = cipher.seal('secret-token', ACCOUNT);

  it.each([12, 8, 4])('refuses the tag cut to %i bytes', (length) => {
    const cut = Buffer.from(sealed.tag, 'base64').subarray(0, length).toString('base64');
    expect(() => cipher.open({ ...sealed, tag: cut }, ACCOUNT)).toThrow(`its authentication tag is ${length} bytes; only 16-byte tags are accepted`);
  });

  it('refuses an IV of another length', () => {
    expect(() => cipher.open({ ...sealed, iv: randomBytes(16).toString('base64') }, ACCOUNT)).toThrow(/IV is 16 bytes/);
  });
});

describe('key rotation', () => {
  const oldKey = { id: '2024-01', key: randomBytes(32) };
  const newKey = { id: '2025-06', key: randomBytes(32) };
  const before = createTokenCipher({ current: oldKey });
  const tokens = Array.from({ length: 5 }, (_, index) => ({ owner: { boundTo: `account-${index}` }, token: `EAA-token-${index}` }));
  const sealedBefore = tokens.map(({ owner, token }) => before.seal(token, owner));

  it('still opens every token sealed before, and seals new ones with the new key id', () => {
    const after = createTokenCipher({ current: newKey, previous: [oldKey] });
    expect(after.currentKeyId).toBe('2025-06');
    expect(sealedBefore.map((sealed, index) => after.open(sealed, tokens[index]!.owner))).toEqual(tokens.map(({ token }) => token));
    const resealed = after.seal('EAA-new-token', ACCOUNT);
    expect(resealed.keyId).toBe('2025-06');
    expect(after.open(resealed, ACCOUNT)).toBe('EAA-new-token');
    // A process still on the old keyring cannot open it: deploy the new key everywhere before it seals.
    expect(() => before.open(resealed, ACCOUNT)).toThrow('sealed with key "2025-06", which is not in the keyring');
  });

  it('refuses a key id the keyring does not hold, naming it', () => {
    const retired = createTokenCipher({ current: newKey });
    expect(() => retired.open(sealedBefore[0]!, tokens[0]!.owner)).toThrow('sealed with key "2024-01", which is not in the keyring');
  });

  it('refuses a value relabelled with another key id of the keyring', () => {
    const both = createTokenCipher({ current: newKey, previous: [{ id: 'copy', key: oldKey.key }, oldKey] });
    expect(() => both.open({ ...sealedBefore[0]!, keyId: 'copy' }, tokens[0]!.owner)).toThrow(SealedSecretError);
  });
});
