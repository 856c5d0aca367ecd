/**
 * The faults the suite puts the engine through, one per phase, each while the load runs: a part of the stack
 * killed with SIGKILL and started again after an outage, or the emulator made to misbehave for a while (the Send
 * API's 5xx, timeouts, rate limits and unknown outcomes; webhooks delivered twice or out of order) and then healed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { control } from './emulator-records';
import type { FaultStack, PartName } from './stack';

export interface PhaseTiming {
  /** Load before the fault. */
  steadyMs: number;
  /** How long a killed part stays down. */
  outageMs: number;
  /** How long an emulator fault stays on. */
  faultMs: number;
  /** Load after the part is back or the fault is off. */
  tailMs: number;
}

export interface PhaseContext {
  stack: FaultStack;
  igAccountId: string;
  timing: PhaseTiming;
}

/** What was done to the stack: a kill (the pids before and after), or the switches turned on. */
export interface Disruption {
  description: string;
  killed?: { part: PartName; pidBefore: number; pidAfter: number; restartMs: number };
}

export interface FaultPhase {
  name: string;
  disrupt(context: PhaseContext): Promise<Disruption>;
}

function killAndRestart(part: PartName): FaultPhase {
  return {
    name: `kill ${part}`,
    async disrupt({ stack, timing }) {
      const pidBefore = await stack.kill(part);
      // The outage is the fault itself: the load meets a missing part for this long.
      await sleep(timing.outageMs);
      const restarting = Date.now();
      const pidAfter = await stack.start(part);
      const restartMs = Date.now() - restarting;
      return { description: `SIGKILL pid ${pidBefore}, down ${timing.outageMs / 1000} s, back as pid ${pidAfter} in ${(restartMs / 1000).toFixed(1)} s`, killed: { part, pidBefore, pidAfter, restartMs } };
    },
  };
}

/** An emulator switch on for the fault's time, then off again, whatever happened meanwhile. */
function emulatorFault(name: string, on: (context: PhaseContext) => Promise<string>, off: (context: PhaseContext) => Promise<unknown>): FaultPhase {
  return {
    name,
    async disrupt(context) {
      const description = await on(context);
      try {
        await sleep(context.timing.faultMs);
      } finally {
        await off(context);
      }
      return { description: `${description} for ${context.timing.faultMs / 1000} s` };
    },
  };
}

function sendApiFault(name: string, rule: Record<string, unknown>, description: string): FaultPhase {
  return emulatorFault(
    name,
    async ({ stack }) => {
      await control(stack.emulatorUrl, 'PUT', '/faults/send-api', rule);
      return description;
    },
    ({ stack }) => control(stack.emulatorUrl, 'DELETE', '/faults/send-api'),
  );
}

function webhookSwitches(name: string, on: Record<string, unknown>, off: Record<string, unknown>, description: string): FaultPhase {
  return emulatorFault(
    name,
    async ({ stack }) => {
      await control(stack.emulatorUrl, 'PUT', '/webhooks/switches', on);
      return description;
    },
    ({ stack }) => control(stack.emulatorUrl, 'PUT', '/webhooks/switches', off),
  );
}

const sendRateLimit: FaultPhase = emulatorFault(
  'send rate limit',
  async ({ stack, igAccountId }) => {
    await control(stack.emulatorUrl, 'PATCH', `/ig-accounts/${igAccountId}`, { sendRateLimitPerSecond: 1 });
    return 'Send API limited to 1 call/s for the account (Meta 613)';
  },
  ({ stack, igAccountId }) => control(stack.emulatorUrl, 'PATCH', `/ig-accounts/${igAccountId}`, { sendRateLimitPerSecond: 100 }),
);

const killPhases: FaultPhase[] = (['worker', 'api', 'temporal', 'database'] as const).map(killAndRestart);

const send5xx = sendApiFault('send 5xx', { mode: 'server_error', status: 503, rate: 0.5 }, 'Send API answers 503 to half the calls');
const sendTimeouts = sendApiFault('send timeouts', { mode: 'timeout', rate: 0.2, hangMs: 6_000 }, 'Send API holds a fifth of the calls 6 s and drops them');
const sendUnknown = sendApiFault('send unknown outcome', { mode: 'unknown_outcome', rate: 0.3 }, 'Send API sends a third of the calls but answers an error');
const webhookDuplicates = webhookSwitches('webhook duplicates', { duplicates: 2 }, { duplicates: 0 }, 'every webhook delivered three times');
const webhookReorder = webhookSwitches('webhook reorder', { reorder: true, batchSize: 20, batchWindowMs: 2_000 }, { reorder: false, batchSize: 1, batchWindowMs: 0 }, 'webhooks gathered 2 s, up to 20 a delivery, newest first');

/** The full suite: each fault alone. */
export const fullPhases: FaultPhase[] = [...killPhases, send5xx, sendTimeouts, sendRateLimit, sendUnknown, webhookDuplicates, webhookReorder];

/**
 * The short form's one emulator phase: the Send API answers 503 to half the calls and allows one call a second, and
 * every webhook comes twice, gathered in batches newest first. (Timeouts and unknown outcomes are the full suite's: each
 * holds its conversation's outbox a minute for the echo that settles it.)
 */
const emulatorMisbehaves = emulatorFault(
  'emulator faults',
  async (context) => {
    const on = [send5xx, sendRateLimit, webhookDuplicates, webhookReorder].map((phase) => phase.name).join(', ');
    await control(context.stack.emulatorUrl, 'PUT', '/faults/send-api', { mode: 'server_error', status: 503, rate: 0.5 });
    await control(context.stack.emulatorUrl, 'PATCH', `/ig-accounts/${context.igAccountId}`, { sendRateLimitPerSecond: 1 });
    await control(context.stack.emulatorUrl, 'PUT', '/webhooks/switches', { duplicates: 1, reorder: true, batchSize: 20, batchWindowMs: 2_000 });
    return `${on} at once`;
  },
  async (context) => {
    await control(context.stack.emulatorUrl, 'DELETE', '/faults/send-api');
    await control(context.stack.emulatorUrl, 'PATCH', `/ig-accounts/${context.igAccountId}`, { sendRateLimitPerSecond: 100 });
    await control(context.stack.emulatorUrl, 'PUT', '/webhooks/switches', { duplicates: 0, reorder: false, batchSize: 1, batchWindowMs: 0 });
  },
);

/** The short form: every kill, then the emulator's faults together. */
export const quickPhases: FaultPhase[] = [...killPhases, emulatorMisbehaves];
