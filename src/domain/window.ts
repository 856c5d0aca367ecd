/** Instagram's messaging windows, computed from Meta's event timestamps (never from arrival time). */
export const STANDARD_WINDOW_MS = 24 * 60 * 60 * 1000;
export const HUMAN_AGENT_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

/** When the conversation closes: 7 days after the customer's latest message. A late, older message never shortens it. */
export function nextWindowClosesAt(currentClosesAt: number | undefined, customerMessageAt: number): number {
  const candidate = customerMessageAt + HUMAN_AGENT_WINDOW_MS;
  return currentClosesAt === undefined ? candidate : Math.max(currentClosesAt, candidate);
}

export type SendPolicy = { kind: 'standard' } | { kind: 'human-agent' } | { kind: 'closed' };

/** How a message may be sent at `now`, given the customer's latest message time. */
export function sendPolicyAt(lastCustomerMessageAt: number | undefined, now: number): SendPolicy {
  if (lastCustomerMessageAt === undefined) return { kind: 'closed' };
  const elapsed = now - lastCustomerMessageAt;
  if (elapsed < STANDARD_WINDOW_MS) return { kind: 'standard' };
  if (elapsed < HUMAN_AGENT_WINDOW_MS) return { kind: 'human-agent' };
  return { kind: 'closed' };
}
