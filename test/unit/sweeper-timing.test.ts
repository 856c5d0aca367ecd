import { emptyDispatchReport, type DispatchReport, type InboundDispatcher } from '../../src/inbound/dispatcher';
import { startSweeper } from '../../src/inbound/sweeper';
import { createLogger } from '../../src/logger';

/** A dispatcher whose sweeps answer what the test queues, noting when each round ran (fake time). */
function sweepingDispatcher() {
  const roundsAt: number[] = [];
  const answers: Array<DispatchReport | Error> = [];
  let undispatched: () => void = () => undefined;
  const dispatcher: InboundDispatcher = {
    dispatch: () => Promise.resolve(emptyDispatchReport()),
    sweep: () => {
      roundsAt.push(Date.now());
      const answer = answers.shift() ?? emptyDispatchReport();
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    onUndispatched: (listener) => {
      undispatched = listener;
    },
    // Nothing is dispatched by this one, so nothing is under way.
    settle: () => Promise.resolve(),
  };
  return { dispatcher, roundsAt, answers, leaveEventsBehind: () => undispatched() };
}

describe('the sweeper', () => {
  const logger = createLogger({ write: () => undefined });

  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('sweeps at the short interval while rounds find work, backs off while they find none, and is woken by a failed dispatch', async () => {
    const { dispatcher, roundsAt, answers, leaveEventsBehind } = sweepingDispatcher();
    answers.push({ ...emptyDispatchReport(), dispatched: 3 }, new Error('database unavailable'));
    const sweeper = startSweeper(dispatcher, logger, { intervalMs: 1_000, idleIntervalMs: 8_000 });

    await jest.advanceTimersByTimeAsync(25_000);
    // Work, a failed round (it may have work), then nothing: 2 s, 4 s, 8 s, and no longer than 8 s.
    expect(roundsAt).toEqual([1_000, 2_000, 3_000, 5_000, 9_000, 17_000, 25_000]);

    leaveEventsBehind();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(roundsAt.at(-1)).toBe(26_000);
    await sweeper.stop();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(roundsAt).toHaveLength(8);
  });
});
