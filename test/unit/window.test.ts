import { HUMAN_AGENT_WINDOW_MS, STANDARD_WINDOW_MS, nextWindowClosesAt, sendPolicyAt } from '../../src/domain/window';

const HOUR = 60 * 60 * 1000;

describe('nextWindowClosesAt', () => {
  it('opens a window 7 days after the first customer message', () => {
    expect(nextWindowClosesAt(undefined, 1000)).toBe(1000 + HUMAN_AGENT_WINDOW_MS);
  });

  it('extends with a later message', () => {
    expect(nextWindowClosesAt(1000 + HUMAN_AGENT_WINDOW_MS, 5000)).toBe(5000 + HUMAN_AGENT_WINDOW_MS);
  });

  it('never shortens with a late, older message', () => {
    expect(nextWindowClosesAt(5000 + HUMAN_AGENT_WINDOW_MS, 1000)).toBe(5000 + HUMAN_AGENT_WINDOW_MS);
  });
});

describe('sendPolicyAt', () => {
  const last = 1_000_000;
  it.each([
    [0, 'standard'],
    [STANDARD_WINDOW_MS - 1, 'standard'],
    [STANDARD_WINDOW_MS, 'human-agent'],
    [3 * 24 * HOUR, 'human-agent'],
    [HUMAN_AGENT_WINDOW_MS - 1, 'human-agent'],
    [HUMAN_AGENT_WINDOW_MS, 'closed'],
  ])('%d ms after the customer message: %s', (elapsed, kind) => {
    expect(sendPolicyAt(last, last + elapsed).kind).toBe(kind);
  });

  it('is closed before the customer ever wrote', () => {
    expect(sendPolicyAt(undefined, last).kind).toBe('closed');
  });
});
