/**
 * Serialization the way Meta writes webhook bodies (META-API 1.2): compact JSON, every non-ASCII UTF-16 unit as a
 * lowercase \uXXXX escape, and "/" as "\/". The signature covers exactly these bytes, so a receiver that
 * re-serializes before hashing fails, as it would against Meta.
 */
import { createHmac } from 'node:crypto';

export function serializeLikeMeta(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('value is not serializable to JSON');
  // Outside strings JSON has neither "/" nor non-ASCII characters, so replacing them everywhere only touches strings.
  return json
    .replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/');
}

export function signatureSha256(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The legacy header (X-Hub-Signature) that Meta used to send alongside; some receivers still read it. */
export function signatureSha1(secret: string, body: string | Uint8Array): string {
  return `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
}
