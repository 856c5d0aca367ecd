/**
 * The sweeper: the rounds that hand over what the dispatch after the answer did not (events stored while Temporal was
 * unreachable, claims whose process stopped), backing off while there is nothing to do.
 */
import type { Logger } from '../logger';
import type { DispatcherPresenceHandle } from './dispatcher-presence';
import type { InboundDispatcher } from './dispatcher';

export interface SweeperTiming {
  /** Between rounds while there is work: a round dispatched or failed something, or a dispatch failed since. */
  intervalMs: number;
  /** The longest wait between rounds when there is nothing to do. */
  idleIntervalMs: number;
}

/**
 * Runs `sweep` until stopped: every `intervalMs` while rounds find work, backing off to `idleIntervalMs` while they
 * find none, and at once back to `intervalMs` when a dispatch leaves events behind. A round reads the pending
 * events, which a database without secondary indexes (the local one) answers by reading every stored event: sweeping
 * an idle inbox every two seconds cost that database more CPU than the events themselves. A failing round is logged
 * and tried again.
 */
export function startSweeper(dispatcher: InboundDispatcher, logger: Logger, timing: SweeperTiming, presence?: Pick<DispatcherPresenceHandle, 'claimsOrphanedBefore'>): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let waitMs = timing.intervalMs;
  let round: Promise<void> | undefined;
  const schedule = (): void => {
    if (!stopped) timer = setTimeout(tick, waitMs);
  };
  const tick = (): void => {
    timer = undefined;
    round = (async () => {
      let busy = true;
      try {
        const orphanedBefore = await presence?.claimsOrphanedBefore();
        const report = await dispatcher.sweep(orphanedBefore === undefined ? {} : { orphanedBefore });
        busy = report.dispatched + report.failed + report.unlinked + report.held + report.recorded > 0;
        if (busy) logger.info('sweeper round', { ...report });
      } catch (error) {
        logger.warn('sweeper round failed', { error: (error as Error).message });
      }
      waitMs = busy ? timing.intervalMs : Math.min(waitMs * 2, Math.max(timing.idleIntervalMs, timing.intervalMs));
      round = undefined;
      schedule();
    })();
  };
  dispatcher.onUndispatched(() => {
    waitMs = timing.intervalMs;
    // A round under way schedules the next one itself, at the short interval.
    if (timer === undefined) return;
    clearTimeout(timer);
    schedule();
  });
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
