/**
 * Idempotent creation that works the same on MongoDB and on FerretDB 1.x: insert the whole document and treat a
 * duplicate key as "already there". (FerretDB drops null and empty-array values inside `$setOnInsert`, so the
 * usual upsert would create documents without their defaults.)
 */
import type { Model } from 'mongoose';

export const DUPLICATE_KEY = 11000;

export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: number } | null)?.code === DUPLICATE_KEY;
}

/** Inserts `document` unless one with the same unique key exists; answers whether it inserted. */
export async function insertIfAbsent<T>(model: Model<T>, document: Record<string, unknown>): Promise<boolean> {
  // Keys left undefined would be stored as null, which a sparse unique index does not skip.
  const clean = Object.fromEntries(Object.entries(document).filter(([, value]) => value !== undefined));
  try {
    await model.collection.insertOne(clean);
    return true;
  } catch (error) {
    if (isDuplicateKey(error)) return false;
    throw error;
  }
}
