/**
 * Tokens at rest: AES-256-GCM with a random 96-bit IV per value and a full 128-bit authentication tag.
 *
 * - Each sealed value names the key that sealed it, so keys rotate: the keyring's current key seals, its previous
 *   keys still open what they sealed until `npm run secrets:reencrypt` has moved every value to the current key.
 * - Each sealed value is bound to its owner (e.g. the linked Instagram account's id) as additional authenticated
 *   data: a value copied into another owner's document does not open there.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface SealedSecret {
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

export interface TokenKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

export interface TokenKeyring {
  /** Seals every new value, and opens. */
  current: TokenKey;
  /** Older keys: they only open values sealed before the rotation. */
  previous?: readonly TokenKey[];
}

/** Who a sealed value belongs to; opening it for anyone else fails. */
export interface SealBinding {
  boundTo: string;
}

export interface TokenCipher {
  readonly currentKeyId: string;
  seal(plaintext: string, binding: SealBinding): SealedSecret;
  open(sealed: SealedSecret, binding: SealBinding): string;
}

/** A sealed value that cannot be opened, with the reason in words (never the plaintext or the key). */
export class SealedSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedSecretError';
  }
}

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
// A shorter tag is easier to forge, and GCM would accept one cut short unless told the length it expects.
const TAG_BYTES = 16;
/** Key ids travel inside stored values and in `TOKEN_ENCRYPTION_KEYS` (`id:key,...`), so they avoid `:` and `,`. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

/**
 * The authenticated data: the scheme, the key id and the owner, encoded without ambiguity (a JSON array), so no
 * two different (key, owner) pairs give the same bytes.
 */
function associatedData(keyId: string, boundTo: string): Buffer {
  return Buffer.from(JSON.stringify(['sealed-token/v1', keyId, boundTo]), 'utf8');
}

function requireOwner(binding: SealBinding): string {
  if (typeof binding.boundTo !== 'string' || binding.boundTo.length === 0) throw new SealedSecretError('a sealed value must be bound to an owner id');
  return binding.boundTo;
}

export function createTokenCipher(keyring: TokenKeyring): TokenCipher {
  const keys = new Map<string, Buffer>();
  for (const { id, key } of [keyring.current, ...(keyring.previous ?? [])]) {
    if (!KEY_ID_PATTERN.test(id)) throw new Error(`token key id "${id}" must be 1 to 32 letters, digits, '_', '.' or '-'`);
    if (key.length !== KEY_BYTES) throw new Error(`token key "${id}" must be ${KEY_BYTES} bytes, not ${key.length}`);
    if (keys.has(id)) throw new Error(`token key id "${id}" appears twice in the keyring`);
    keys.set(id, key);
  }
  const current = keyring.current;

  return {
    currentKeyId: current.id,

    seal(plaintext, binding) {
      const boundTo = requireOwner(binding);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, current.key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(current.id, boundTo));
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return { keyId: current.id, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    },

    open(sealed, binding) {
      const boundTo = requireOwner(binding);
      const key = keys.get(sealed.keyId);
      if (!key) throw new SealedSecretError(`sealed with key "${sealed.keyId}", which is not in the keyring`);
      const iv = Buffer.from(sealed.iv, 'base64');
      if (iv.length !== IV_BYTES) throw new SealedSecretError(`its IV is ${iv.length} bytes; a sealed value carries ${IV_BYTES}`);
      const tag = Buffer.from(sealed.tag, 'base64');
      if (tag.length !== TAG_BYTES) throw new SealedSecretError(`its authentication tag is ${tag.length} bytes; only ${TAG_BYTES}-byte tags are accepted`);
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(sealed.keyId, boundTo));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
      } catch {
        throw new SealedSecretError(`it does not open with key "${sealed.keyId}" for owner ${boundTo}: altered, sealed for another owner, or sealed by a different key under that id`);
      }
    },
  };
}
