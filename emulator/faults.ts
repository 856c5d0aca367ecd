/**
 * Send API fault switches: make the next calls (a count) or a share of calls (a rate) fail the way Meta's do,
 * so retries, back-off and unknown outcomes can be tested for real.
 */
import { z } from 'zod';

export const faultModes = ['transient_1', 'transient_2', 'server_error', 'timeout', 'unknown_outcome', 'refusal', 'slow'] as const;
export type FaultMode = (typeof faultModes)[number];

/** Meta's permanent Send API refusals a `refusal` fault answers with (META-API 2.6). */
export const refusalKinds = ['not_receiving', 'not_available', 'temporarily_restricted', 'business_blocked', 'no_matching_user', 'window_closed'] as const;
export type RefusalKind = (typeof refusalKinds)[number];

export const faultRuleSchema = z
  .object({
    mode: z.enum(faultModes),
    /** Fail this many calls, then stop. */
    count: z.number().int().min(1).optional(),
    /** Or fail this share of calls (0..1) until cleared. */
    rate: z.number().min(0).max(1).optional(),
    /** Only calls for this Instagram account. */
    igAccountId: z.string().optional(),
    /** server_error: the HTTP status (5xx). */
    status: z.number().int().min(500).max(599).default(503),
    /** timeout: how long the emulator holds the call before dropping the connection (ms); slow: how long it holds a call it then serves normally. */
    hangMs: z.number().int().min(0).max(600_000).default(30_000),
    /** refusal: which of Meta's permanent refusals to answer with. */
    refusal: z.enum(refusalKinds).optional(),
  })
  .refine((rule) => (rule.count === undefined) !== (rule.rate === undefined), { message: 'give exactly one of count or rate' })
  .refine((rule) => (rule.mode === 'refusal') === (rule.refusal !== undefined), { message: 'mode refusal needs `refusal` (and only it takes one)', path: ['refusal'] });
export type FaultRule = z.infer<typeof faultRuleSchema>;

export interface FaultSwitches {
  set(rule: FaultRule): void;
  clear(): void;
  current(): (FaultRule & { remaining?: number }) | null;
  /** The fault to apply to this call, if any (consumes one from a count). */
  next(igAccountId: string): FaultRule | null;
}

export function createFaultSwitches(random: () => number = Math.random): FaultSwitches {
  let rule: (FaultRule & { remaining?: number }) | null = null;
  return {
    set(next) {
      rule = { ...next, ...(next.count === undefined ? {} : { remaining: next.count }) };
    },
    clear() {
      rule = null;
    },
    current: () => (rule === null ? null : { ...rule }),
    next(igAccountId) {
      if (rule === null) return null;
      if (rule.igAccountId !== undefined && rule.igAccountId !== igAccountId) return null;
      if (rule.remaining !== undefined) {
        const applied = rule;
        rule.remaining -= 1;
        if (rule.remaining <= 0) rule = null;
        return applied;
      }
      return random() < (rule.rate ?? 0) ? rule : null;
    },
  };
}
