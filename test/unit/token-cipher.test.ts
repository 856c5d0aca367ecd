import { randomBytes } from 'node:crypto';
import { createTokenCipher } from '../../src/security/token-cipher';

describe('token cipher (AES-256-GCM)', () => {
  const key = randomBytes(32);
  const cipher = createTokenCipher(key);

  it('opens what it sealed, and never stores the plaintext', () => {
    const token = `EAA${'z'.repeat(60)}`;
    const sealed = cipher.seal(token);
    expect(JSON.stringify(sealed)).not.toContain(token);
    expect(cipher.open(sealed)).toBe(token);
  });

  it('uses a fresh IV each time', () => {
    expect(cipher.seal('same').iv).not.toBe(cipher.seal('same').iv);
  });

  it('refuses a tampered value', () => {
    const sealed = cipher.seal('secret-token');
    const data = Buffer.from(sealed.data, 'base64');
    data[0] = data[0]! ^ 1;
    expect(() => cipher.open({ ...sealed, data: data.toString('base64') })).toThrow();
  });

  it('refuses a value sealed with another key', () => {
    const other = createTokenCipher(randomBytes(32));
    expect(() => other.open(cipher.seal('secret-token'))).toThrow();
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => createTokenCipher(randomBytes(16))).toThrow(/32 bytes/);
  });
});
