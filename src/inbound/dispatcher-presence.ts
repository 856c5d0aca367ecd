/**
 * Which API processes are alive, so that the events a stopped one had claimed are taken over at once.
 *
 * The ingress claims the events it stores (they are dispatched right after the answer), and the sweeper leaves a
 * claim alone until it is two minutes old, since its process may still be signalling it. When that process was
 * killed, its claims would wait those two minutes. Each API process therefore writes when it started and renews
 * that every few seconds. A claim is made by a running process, so it is younger than that process's start: a claim
 * older than the start of every process still alive belongs to none of them, and is taken over at the next round.
 */
import { randomUUID } from 'node:crypto';
import type { Models } from '../db/models';
import type { DispatcherPresence } from '../db/models/dispatcher-presence';
import type { Logger } from '../logger';

export interface DispatcherPresenceTiming {
  /** How often a process says it is alive. */
  renewEveryMs: number;
  /** A process not heard from for this long counts as stopped. */
  liveForMs: number;
  /** Clocks of two processes may differ by this much: a claim must be older than a start by more than this. */
  clockMarginMs: number;
}

export const DEFAULT_PRESENCE_TIMING: DispatcherPresenceTiming = { renewEveryMs: 5_000, liveForMs: 20_000, clockMarginMs: 2_000 };

/** Presences of processes gone for this long are deleted by the next one to renew its own. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

export interface DispatcherPresenceHandle {
  /** Claims made before this time belong to no live process; undefined while no process is known to be alive. */
  claimsOrphanedBefore(): Promise<Date | undefined>;
  /** Stops renewing and removes this process's presence (a clean stop leaves nothing to time out). */
  stop(): Promise<void>;
}

interface PresenceDeps {
  models: Pick<Models, 'dispatcherPresences'>;
  logger: Logger;
  timing?: DispatcherPresenceTiming;
  now?: () => number;
}

/** Says, from now on and every `renewEveryMs`, that this process is alive. A failed renewal is logged and tried again. */
export function startDispatcherPresence(deps: PresenceDeps): DispatcherPresenceHandle {
  const timing = deps.timing ?? DEFAULT_PRESENCE_TIMING;
  const now = deps.now ?? Date.now;
  const id = randomUUID();
  const startedAt = new Date(now());
  let stopped = false;
  let renewal: Promise<void> | undefined;

  async function renew(): Promise<void> {
    const at = new Date(now());
    await deps.models.dispatcherPresences.updateOne({ _id: id }, { $set: { renewedAt: at }, $setOnInsert: { startedAt } }, { upsert: true });
    await deps.models.dispatcherPresences.deleteMany({ renewedAt: { $lt: new Date(at.getTime() - FORGET_AFTER_MS) } });
  }

  const tick = (): void => {
    renewal = renew()
      .catch((error: unknown) => deps.logger.warn('dispatcher presence not renewed; tried again', { error: (error as Error).message }))
      .finally(() => {
        renewal = undefined;
      });
  };
  tick();
  const timer = setInterval(tick, timing.renewEveryMs);
  timer.unref();

  return {
    async claimsOrphanedBefore() {
      const liveSince = new Date(now() - timing.liveForMs);
      const oldestLive = await deps.models.dispatcherPresences
        .findOne({ renewedAt: { $gte: liveSince } }, { startedAt: 1 })
        .sort({ startedAt: 1 })
        .lean<Pick<DispatcherPresence, 'startedAt'>>();
      return oldestLive === null ? undefined : new Date(oldestLive.startedAt.getTime() - timing.clockMarginMs);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await renewal;
      await deps.models.dispatcherPresences.deleteOne({ _id: id }).catch(() => undefined);
    },
  };
}
