/**
 * Runs a fast-check property and, when it fails, throws a short error: the seed and path to replay it, the failure,
 * and the counterexample cut to a readable length (a generated body can be megabytes).
 */
import fc from 'fast-check';

const SHOWN_CHARS = 1_500;

export async function assertProperty<T>(property: fc.IAsyncProperty<[T]>, parameters: fc.Parameters<[T]>): Promise<void> {
  const details = await fc.check(property, parameters);
  if (!details.failed) return;
  const example = JSON.stringify(details.counterexample?.[0], (_key, value: unknown) => (typeof value === 'string' && value.length > 300 ? `${value.slice(0, 300)}…(${value.length} chars)` : value));
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`property failed (seed ${details.seed}, path "${details.counterexamplePath}", after ${details.numRuns} runs): ${error.slice(0, SHOWN_CHARS)}\ncounterexample: ${(example ?? 'none').slice(0, SHOWN_CHARS)}`);
}
