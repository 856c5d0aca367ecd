/**
 * A stored event's payload read back for its recorder. Events are stored with their JSON text as Meta sent it;
 * events stored before that hold it parsed (an object, keys starting with "$" or holding "." in full-width forms),
 * and running deployments still have them, so both are read.
 */
import { depthOf } from './json-outline';
import { MAX_EVENT_CHARS, MAX_EVENT_DEPTH } from './split';

/** The event as an object, or null when its text is beyond the bounds, not JSON, or not an object. */
export function readStoredPayload(payload: unknown): Record<string, unknown> | null {
  if (typeof payload !== 'string') return isPlainObject(payload) ? payload : null;
  if (payload.length > MAX_EVENT_CHARS) return null;
  try {
    if (depthOf(payload) > MAX_EVENT_DEPTH) return null;
    const value: unknown = JSON.parse(payload);
    return isPlainObject(value) ? value : null;
  } catch {
    return null;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
