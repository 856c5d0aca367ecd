/**
 * Tokens at rest: AES-256-GCM with a random 96-bit IV per value. The stored form carries a key id so a key can be
 * rotated later without guessing which key sealed a value.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface SealedSecret {
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

export interface TokenCipher {
  seal(plaintext: string): SealedSecret;
  open(sealed: SealedSecret): string;
}

export function createTokenCipher(key: Buffer, keyId = 'k1'): TokenCipher {
  if (key.length !== 32) throw new Error('the token encryption key must be 32 bytes');
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return { keyId, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    },
    open(sealed) {
      if (sealed.keyId !== keyId) throw new Error(`sealed with key ${sealed.keyId}, which this process does not hold`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
    },
  };
}
