/**
 * Re-sealing stored secrets under the keyring's current key, after a key rotation (`npm run secrets:reencrypt`).
 *
 * Safe to run while the engine runs, and to run again: no transaction, but every write is conditional on the old
 * sealed value, so a value the engine wrote meanwhile is never overwritten with a stale one (the document is read
 * again and re-sealed from what it holds now). A value already under the current key is only checked to open.
 */
import type { Model } from 'mongoose';
import type { Models } from '../db/models';
import type { SealedSecret, TokenCipher } from './token-cipher';

/** A sealed value as stored, with the document that holds it and the owner it is bound to. */
export interface StoredSecret {
  documentId: unknown;
  /** The id the value is bound to, read from the same document; null when the document has none. */
  owner: string | null;
  sealed: SealedSecret;
}

/** One place where the engine stores sealed values. */
export interface SealedField {
  /** As reports name it: `<collection>.<path>`. */
  name: string;
  /** Up to `limit` documents holding the field, in `_id` order, after `afterId` (from the start when undefined). */
  page(afterId: unknown, limit: number): Promise<StoredSecret[]>;
  /** What the document holds now; null once the document or its value is gone. */
  reload(documentId: unknown): Promise<StoredSecret | null>;
  /** Writes `next` only if the document still holds `stored` (same value, same owner); answers whether it did. */
  replaceIfUnchanged(stored: StoredSecret, next: SealedSecret): Promise<boolean>;
}

/**
 * A sealed value at `path` in the documents of `model`, bound to the id at `ownerPath` of the same document.
 * Works on the driver's collection: the values are read and compared exactly as stored.
 */
export function sealedField<T>(spec: { model: Model<T>; path: string; ownerPath: string }): SealedField {
  const { model, path, ownerPath } = spec;
  const collection = model.collection;
  const projection = { _id: 1, [path]: 1, [ownerPath]: 1 };
  const toStored = (document: Record<string, unknown>): StoredSecret => ({
    documentId: document._id,
    owner: valueAt(document, ownerPath) as string | null,
    sealed: valueAt(document, path) as SealedSecret,
  });
  return {
    name: `${collection.collectionName}.${path}`,
    async page(afterId, limit) {
      const filter: Record<string, unknown> = { [path]: { $ne: null }, ...(afterId === undefined ? {} : { _id: { $gt: afterId } }) };
      const documents = await collection.find(filter, { projection }).sort({ _id: 1 }).limit(limit).toArray();
      return documents.map(toStored);
    },
    async reload(documentId) {
      const filter: Record<string, unknown> = { _id: documentId, [path]: { $ne: null } };
      const document = await collection.findOne(filter, { projection });
      return document ? toStored(document) : null;
    },
    async replaceIfUnchanged(stored, next) {
      const unchanged: Record<string, unknown> = {
        _id: stored.documentId,
        [ownerPath]: stored.owner,
        [`${path}.keyId`]: stored.sealed.keyId,
        [`${path}.iv`]: stored.sealed.iv,
        [`${path}.tag`]: stored.sealed.tag,
        [`${path}.data`]: stored.sealed.data,
      };
      const result = await collection.updateOne(unchanged, { $set: { [path]: next } });
      return result.matchedCount === 1;
    },
  };
}

function valueAt(document: Record<string, unknown>, dottedPath: string): unknown {
  return dottedPath.split('.').reduce<unknown>((value, key) => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), document) ?? null;
}

/** Every sealed value the engine stores. A new sealed field joins this list, with the id it is bound to. */
export function storedSealedFields(models: Pick<Models, 'linkedAccounts' | 'facebookConnections' | 'facebookLogins'>): SealedField[] {
  return [
    sealedField({ model: models.linkedAccounts, path: 'pageToken', ownerPath: 'igAccountId' }),
    sealedField({ model: models.facebookConnections, path: 'userToken', ownerPath: 'facebookUserId' }),
    // A login's user token is bound to the login until the link moves it (a token may sit here for minutes).
    sealedField({ model: models.facebookLogins, path: 'userToken', ownerPath: '_id' }),
  ];
}

export interface FieldResealReport {
  field: string;
  resealed: number;
  alreadyCurrent: number;
  /** Documents deleted (or their value removed) between the read and the write: nothing left to re-seal. */
  removedMeanwhile: number;
  failed: Array<{ documentId: string; reason: string }>;
}

export interface ResealOptions {
  fields: readonly SealedField[];
  cipher: TokenCipher;
  pageSize?: number;
  /** How many times one document is read again after the engine changed it under the command. */
  maxAttemptsPerDocument?: number;
}

type Outcome = { kind: 'resealed' | 'alreadyCurrent' | 'removedMeanwhile' } | { kind: 'failed'; reason: string };

export async function resealStoredSecrets(options: ResealOptions): Promise<FieldResealReport[]> {
  const { cipher } = options;
  const pageSize = options.pageSize ?? 100;
  const maxAttempts = options.maxAttemptsPerDocument ?? 5;

  async function resealOne(field: SealedField, first: StoredSecret): Promise<Outcome> {
    let stored: StoredSecret | null = first;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      if (!stored) return { kind: 'removedMeanwhile' };
      if (!isSealedSecret(stored.sealed)) return { kind: 'failed', reason: 'not a sealed value (keyId, iv, tag and data are not all strings)' };
      if (typeof stored.owner !== 'string' || stored.owner === '') return { kind: 'failed', reason: 'the document names no owner to bind the value to' };
      let plaintext: string;
      try {
        // Values already under the current key are opened too: the command also checks that every value opens.
        plaintext = cipher.open(stored.sealed, { boundTo: stored.owner });
      } catch (error) {
        return { kind: 'failed', reason: (error as Error).message };
      }
      if (stored.sealed.keyId === cipher.currentKeyId) return { kind: 'alreadyCurrent' };
      if (await field.replaceIfUnchanged(stored, cipher.seal(plaintext, { boundTo: stored.owner }))) return { kind: 'resealed' };
      // The engine wrote this document since it was read: start again from what it holds now.
      stored = await field.reload(stored.documentId);
    }
    return { kind: 'failed', reason: `the document changed on each of ${maxAttempts} attempts; run the command again` };
  }

  const reports: FieldResealReport[] = [];
  for (const field of options.fields) {
    const report: FieldResealReport = { field: field.name, resealed: 0, alreadyCurrent: 0, removedMeanwhile: 0, failed: [] };
    let afterId: unknown = undefined;
    for (;;) {
      const page = await field.page(afterId, pageSize);
      for (const stored of page) {
        const outcome = await resealOne(field, stored);
        if (outcome.kind === 'failed') report.failed.push({ documentId: String(stored.documentId), reason: outcome.reason });
        else report[outcome.kind] += 1;
      }
      if (page.length < pageSize) break;
      afterId = page[page.length - 1]!.documentId;
    }
    reports.push(report);
  }
  return reports;
}

function isSealedSecret(value: unknown): value is SealedSecret {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Record<string, unknown>;
  return ['keyId', 'iv', 'tag', 'data'].every((key) => typeof candidate[key] === 'string');
}
