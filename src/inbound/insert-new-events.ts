import type { Models } from '../db/models';
import { DUPLICATE_KEY } from '../db/insert-if-absent';
import type { StoredEvent } from './delivery-events';

type WriteFailure = { index: number; code: number };

/**
 * Inserts every event, skipping those already stored (a second delivery, or the same event twice in one batch).
 * Returns the ones that are new. Any other write error fails the whole call, so that Meta delivers again.
 */
export async function insertNewEvents(model: Models['webhookEvents'], events: StoredEvent[]): Promise<StoredEvent[]> {
  const unique = [...new Map(events.map((event) => [event.eventKey, event])).values()];
  if (unique.length === 0) return [];
  try {
    // The raw collection: mongoose's insertMany would cast and validate each of up to 1,000 documents first.
    await model.collection.insertMany(unique as unknown as Array<Record<string, unknown>>, { ordered: false });
    return unique;
  } catch (error) {
    const failures = writeFailuresOf(error);
    if (failures.length === 0 || failures.some((failure) => failure.code !== DUPLICATE_KEY)) throw error;
    const duplicates = new Set(failures.map((failure) => failure.index));
    return unique.filter((_, index) => !duplicates.has(index));
  }
}

/** The driver's bulk write error holds one failure or several (`OneOrMore<WriteError>`). */
function writeFailuresOf(error: unknown): WriteFailure[] {
  const writeErrors = (error as { writeErrors?: WriteFailure[] | WriteFailure }).writeErrors;
  if (writeErrors === undefined) return [];
  return Array.isArray(writeErrors) ? writeErrors : [writeErrors];
}
