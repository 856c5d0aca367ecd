/**
 * `Idempotency-Key`: the first request with a key runs; a repeat within 24 hours gets the first answer back and
 * changes nothing. Claims are inserts keyed by channel and key, so two racing requests never both run; a claim
 * whose request died is taken over after a while (what it did is keyed by the same key, so nothing doubles).
 */
import { createHash } from 'node:crypto';
import { sleep } from '../async';
import { insertIfAbsent } from '../db/insert-if-absent';
import type { Models } from '../db/models';
import type { IdempotencyRecord } from '../db/models/idempotency-record';
import { HttpError } from '../api/errors';

export const IDEMPOTENCY_KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** A first request still running after this long is taken to have died; a repeat then runs in its place. */
const ABANDONED_CLAIM_MS = 30_000;
/** How long a repeat waits for the first request's answer before it says "still in progress". */
const WAIT_FOR_FIRST_MS = 10_000;

export type IdempotencyClaim = { kind: 'first' } | { kind: 'replay'; status: number; body: unknown };

export interface IdempotencyScope {
  channelId: string;
  key: string;
}

export function hashRequest(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Stable ids of what a keyed request creates: a repeat of the request names the same things. `generation` counts
 * the earlier runs of the request whose messages were given up (a 503): a repeat then makes new ones.
 */
export function idFromIdempotencyKey(scope: IdempotencyScope, index: number, generation = 0): string {
  const name = `${scope.channelId}\n${scope.key}\n${index}${generation === 0 ? '' : `\n${generation}`}`;
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}

export function createIdempotencyStore(deps: { models: Pick<Models, 'idempotencyRecords'>; now: () => number }) {
  const { models } = deps;
  const recordId = (scope: IdempotencyScope): string => `${scope.channelId}/${scope.key}`;

  return {
    async claim(scope: IdempotencyScope, requestHash: string): Promise<IdempotencyClaim> {
      const _id = recordId(scope);
      const deadline = deps.now() + WAIT_FOR_FIRST_MS;
      for (;;) {
        const claim: IdempotencyRecord = { _id, requestHash, state: 'pending', responseStatus: null, responseBody: null, createdAt: new Date(deps.now()) };
        if (await insertIfAbsent(models.idempotencyRecords, { ...claim })) return { kind: 'first' };
        const record = await models.idempotencyRecords.findOne({ _id }).lean<IdempotencyRecord>();
        if (!record) continue;
        const age = deps.now() - record.createdAt.getTime();
        if (age > IDEMPOTENCY_KEY_LIFETIME_MS) {
          // An expired key is free again (there is no TTL index: expiry is decided here).
          await models.idempotencyRecords.deleteOne({ _id, createdAt: record.createdAt });
          continue;
        }
        if (record.requestHash !== requestHash) {
          throw new HttpError(422, 'IdempotencyKeyReused', `Idempotency-Key "${scope.key}" was already used within 24 hours for a different request; use a new key`);
        }
        if (record.state === 'done' && record.responseStatus !== null) return { kind: 'replay', status: record.responseStatus, body: record.responseBody };
        if (age > ABANDONED_CLAIM_MS) return { kind: 'first' };
        if (deps.now() > deadline) {
          throw new HttpError(409, 'IdempotencyKeyInProgress', `a request with Idempotency-Key "${scope.key}" is still being processed; repeat it later to get its answer`);
        }
        await sleep(100);
      }
    },

    async complete(scope: IdempotencyScope, status: number, body: unknown): Promise<void> {
      await models.idempotencyRecords.updateOne({ _id: recordId(scope) }, { $set: { state: 'done', responseStatus: status, responseBody: body } });
    },

    /** The first request failed before it did anything: the key is free for a new try. */
    async release(scope: IdempotencyScope): Promise<void> {
      await models.idempotencyRecords.deleteOne({ _id: recordId(scope), state: 'pending' });
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
