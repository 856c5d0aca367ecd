/**
 * Fault switches for the Send API and the Profile API: make the next calls (a count) or a share of calls (a rate)
 * fail the way Meta's do, so retries, back-off, timeouts and unknown outcomes can be tested for real.
 */
import { z } from 'zod';

/** What every rule has: how many calls it hits (a count or a rate), and which calls. */
const ruleBase = {
  /** Fail this many calls, then stop. */
  count: z.number().int().min(1).optional(),
  /** Or fail this share of calls (0..1) until cleared. */
  rate: z.number().min(0).max(1).optional(),
  /** Only calls for this Instagram account. */
  igAccountId: z.string().optional(),
  /** timeout: how long the emulator holds the call before dropping the connection (ms); slow: how long it holds a call it then serves normally. */
  hangMs: z.number().int().min(0).max(600_000).default(30_000),
};
const countOrRate = [(rule: { count?: number; rate?: number }) => (rule.count === undefined) !== (rule.rate === undefined), { message: 'give exactly one of count or rate' }] as const;

export const faultModes = ['transient_1', 'transient_2', 'server_error', 'timeout', 'unknown_outcome', 'refusal', 'slow'] as const;
export type FaultMode = (typeof faultModes)[number];

/** Meta's permanent Send API refusals a `refusal` fault answers with (META-API 2.6). */
export const refusalKinds = ['not_receiving', 'not_available', 'temporarily_restricted', 'business_blocked', 'no_matching_user', 'window_closed'] as const;
export type RefusalKind = (typeof refusalKinds)[number];

export const faultRuleSchema = z
  .object({
    mode: z.enum(faultModes),
    ...ruleBase,
    /** server_error: the HTTP status (5xx). */
    status: z.number().int().min(500).max(599).default(503),
    /** refusal: which of Meta's permanent refusals to answer with. */
    refusal: z.enum(refusalKinds).optional(),
  })
  .refine(...countOrRate)
  .refine((rule) => (rule.mode === 'refusal') === (rule.refusal !== undefined), { message: 'mode refusal needs `refusal` (and only it takes one)', path: ['refusal'] });
export type FaultRule = z.infer<typeof faultRuleSchema>;

/** Profile API faults (GET /{igsid}): a slow or hanging answer, Meta's transient error, or a permanent refusal. */
export const profileFaultModes = ['slow', 'timeout', 'transient', 'refusal'] as const;
export type ProfileFaultMode = (typeof profileFaultModes)[number];

/** The Profile API's permanent refusals: no consent yet (230), or an IGSID the token cannot load (100/33). */
export const profileRefusalKinds = ['consent_required', 'not_found'] as const;
export type ProfileRefusalKind = (typeof profileRefusalKinds)[number];

export const profileFaultRuleSchema = z
  .object({
    mode: z.enum(profileFaultModes),
    ...ruleBase,
    /** Only the profile of this customer (an IGSID of the account). */
    igsid: z.string().optional(),
    refusal: z.enum(profileRefusalKinds).optional(),
  })
  .refine(...countOrRate)
  .refine((rule) => (rule.mode === 'refusal') === (rule.refusal !== undefined), { message: 'mode refusal needs `refusal` (and only it takes one)', path: ['refusal'] });
export type ProfileFaultRule = z.infer<typeof profileFaultRuleSchema>;

/** The calls a rule can be narrowed to. */
interface Targeted {
  count?: number;
  rate?: number;
  igAccountId?: string;
  igsid?: string;
}

export interface FaultSwitches<R extends Targeted = FaultRule> {
  set(rule: R): void;
  clear(): void;
  current(): (R & { remaining?: number }) | null;
  /** The fault to apply to this call, if any (consumes one from a count). */
  next(igAccountId: string, igsid?: string): R | null;
}

export function createFaultSwitches<R extends Targeted = FaultRule>(random: () => number = Math.random): FaultSwitches<R> {
  let rule: (R & { remaining?: number }) | null = null;
  return {
    set(next) {
      rule = { ...next, ...(next.count === undefined ? {} : { remaining: next.count }) };
    },
    clear() {
      rule = null;
    },
    current: () => (rule === null ? null : { ...rule }),
    next(igAccountId, igsid) {
      if (rule === null) return null;
      if (rule.igAccountId !== undefined && rule.igAccountId !== igAccountId) return null;
      if (rule.igsid !== undefined && rule.igsid !== igsid) return null;
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
