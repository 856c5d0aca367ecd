export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * The emulator's notion of now: real time plus an offset the control API moves, so windows (24 h / 7 days),
 * token lifetimes (1 h / 60 days) and story lives (24 h) can be crossed in a test without waiting.
 */
export interface EmulatorClock {
  now(): number;
  offsetMs(): number;
  advance(ms: number): number;
  /** Moves the clock so that now() is `epochMs`; it may go back (a test rewinding), which Meta's never does. */
  set(epochMs: number): number;
  reset(): void;
}

export function createClock(realNow: () => number = Date.now): EmulatorClock {
  let offset = 0;
  return {
    now: () => realNow() + offset,
    offsetMs: () => offset,
    advance(ms) {
      offset += ms;
      return realNow() + offset;
    },
    set(epochMs) {
      offset = epochMs - realNow();
      return epochMs;
    },
    reset() {
      offset = 0;
    },
  };
}
