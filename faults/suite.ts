/**
 * The fault suite: starts the stack, links the demo account, and runs the phases one after another. In each, the
 * steady mixed load runs, the phase's fault hits the stack in the middle of it, the load stops, and once nothing is
 * on its way any more (or a bounded wait has passed) everything done so far is checked again from the database and
 * the emulator's records. The result holds each phase's counts, what each fault did, and every violation found.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection as MongooseConnection } from 'mongoose';
import { DEMO } from '../emulator/seed';
import { connectDatabase } from '../src/db/connection';
import { createModels, type Models } from '../src/db/models';
import { linkDemoAccount } from '../scripts/lib/demo-account';
import { check, emptyCounts, storedMessages, type CheckResult, type PhaseCounts } from './checks';
import { deliveryRecords, receivedSends, type DeliveryRecords } from './emulator-records';
import { createCustomers, startLoad, type LoadPace, type LoadRecords, type LoadWorld } from './load';
import { fullPhases, quickPhases, type Disruption, type FaultPhase, type PhaseTiming } from './phases';
import { startFaultStack, type FaultStack } from './stack';

export interface SuiteOptions {
  quick: boolean;
  /** Each phase's timing (the quick form's or the full suite's by default). */
  timing?: PhaseTiming;
  /** Only the phases whose names contain one of these (all by default). */
  only?: string[];
  /** Keep the logs and data files even when everything passed. */
  keepFiles?: boolean;
  log: (line: string) => void;
}

/** What the webhook sender did during a phase: deliveries made, copies, refused attempts, events out of order. */
export type DeliveryActivity = Pick<DeliveryRecords, 'deliveries' | 'copies' | 'refusedAttempts' | 'reordered'>;

export interface PhaseResult {
  name: string;
  disruption: Disruption;
  deliveries: DeliveryActivity;
  counts: PhaseCounts;
  /** Whether everything settled within the bounded wait after the load. */
  settled: boolean;
  drainMs: number;
  durationMs: number;
}

export interface SuiteResult {
  phases: PhaseResult[];
  /** Everything checked once more at the end, per phase. */
  final: CheckResult;
  violations: string[];
  unexpectedExits: string[];
  durationMs: number;
  dir: string;
}

const quickTiming: PhaseTiming = { steadyMs: 3_000, outageMs: 3_000, faultMs: 6_000, tailMs: 4_000 };
const fullTiming: PhaseTiming = { steadyMs: 20_000, outageMs: 10_000, faultMs: 40_000, tailMs: 30_000 };
const CUSTOMERS = 6;
const pace: LoadPace = { dmEveryMs: 1_500, replyEveryMs: 3_000, replyGiveUpMs: 90_000 };
/** Longer than the outbox's wait for the echo of an unknown outcome (60 s), plus its retries. */
const DRAIN_LIMIT_MS = 150_000;

interface SuiteWorld {
  stack: FaultStack;
  load: LoadWorld;
  models: Models;
  records: LoadRecords;
}

async function checkNow(world: SuiteWorld): Promise<CheckResult> {
  const [deliveries, received, stored] = await Promise.all([
    deliveryRecords(world.stack.emulatorUrl),
    receivedSends(world.stack.emulatorUrl, world.load.igAccountId),
    storedMessages(world.models, world.load.igAccountId),
  ]);
  return check({ records: world.records, deliveries, received, stored });
}

/** Checks again every second until nothing is on its way any more, or the limit passed: then that check counts. */
async function drain(world: SuiteWorld): Promise<CheckResult> {
  const deadline = Date.now() + DRAIN_LIMIT_MS;
  for (;;) {
    const overdue = Date.now() > deadline;
    let result: CheckResult | undefined;
    try {
      result = await checkNow(world);
    } catch (error) {
      // A part just restarted may fail a read or two; only the last check must succeed.
      if (overdue) throw error;
    }
    if (result && (result.settled || overdue)) return result;
    await sleep(1_000);
  }
}

function activitySince(before: DeliveryRecords, after: DeliveryRecords): DeliveryActivity {
  return {
    deliveries: after.deliveries - before.deliveries,
    copies: after.copies - before.copies,
    refusedAttempts: after.refusedAttempts - before.refusedAttempts,
    reordered: after.reordered - before.reordered,
  };
}

async function runPhase(world: SuiteWorld, phase: FaultPhase, timing: PhaseTiming, log: SuiteOptions['log']): Promise<{ result: PhaseResult; check: CheckResult }> {
  const started = Date.now();
  const before = await deliveryRecords(world.stack.emulatorUrl);
  const load = startLoad(world.load, phase.name, world.records, pace);
  let disruption: Disruption;
  try {
    await sleep(timing.steadyMs);
    disruption = await phase.disrupt({ stack: world.stack, igAccountId: world.load.igAccountId, timing });
    log(`  ${phase.name}: ${disruption.description}`);
    await sleep(timing.tailMs);
  } finally {
    await load.stop();
  }
  const draining = Date.now();
  const result = await drain(world);
  const after = await deliveryRecords(world.stack.emulatorUrl);
  return {
    result: {
      name: phase.name,
      disruption,
      deliveries: activitySince(before, after),
      counts: result.counts.get(phase.name) ?? emptyCounts(),
      settled: result.settled,
      drainMs: Date.now() - draining,
      durationMs: Date.now() - started,
    },
    check: result,
  };
}

async function prepareWorld(stack: FaultStack, database: MongooseConnection): Promise<SuiteWorld> {
  const runTag = randomUUID().slice(0, 6);
  const { apiKey } = await linkDemoAccount({ apiUrl: stack.apiUrl, mongodbUri: stack.config.mongodb.uri, channelId: `faults-${runTag}` });
  const customers = await createCustomers(stack.emulatorUrl, CUSTOMERS, runTag);
  return {
    stack,
    load: { apiUrl: stack.apiUrl, emulatorUrl: stack.emulatorUrl, apiKey, igAccountId: DEMO.igAccount.id, customers, runTag },
    models: createModels(database),
    records: { messages: [], replies: [] },
  };
}

export async function runFaultSuite(options: SuiteOptions): Promise<SuiteResult> {
  const started = Date.now();
  const timing = options.timing ?? (options.quick ? quickTiming : fullTiming);
  const phases = (options.quick ? quickPhases : fullPhases).filter((phase) => options.only === undefined || options.only.some((part) => phase.name.includes(part)));
  if (phases.length === 0) throw new Error(`no phase matches ${options.only?.join(', ')}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'igdm-faults-'));
  options.log(`fault suite (${options.quick ? 'short form' : 'full'}): ${phases.length} phases; logs and data in ${dir}`);
  const stack = await startFaultStack(dir);
  let database: MongooseConnection | undefined;
  let result: SuiteResult | undefined;
  try {
    database = await connectDatabase({ uri: stack.config.mongodb.uri });
    const world = await prepareWorld(stack, database);
    options.log(`stack up and the demo account linked in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const results: PhaseResult[] = [];
    const violations: string[] = [];
    for (const phase of phases) {
      const { result: phaseResult, check: phaseCheck } = await runPhase(world, phase, timing, options.log);
      results.push(phaseResult);
      violations.push(...phaseCheck.violations.map((line) => `after "${phase.name}": ${line}`));
      options.log(`  ${phase.name}: ${phaseResult.settled ? 'settled' : 'NOT settled'} ${(phaseResult.drainMs / 1000).toFixed(1)} s after the load; ${phaseCheck.violations.length} violations so far`);
    }
    const final = await drain(world);
    violations.push(...final.violations.map((line) => `at the end: ${line}`));
    result = { phases: results, final, violations, unexpectedExits: stack.unexpectedExits(), durationMs: Date.now() - started, dir };
    return result;
  } finally {
    await database?.close().catch(() => undefined);
    await stack.stop();
    const passed = result !== undefined && result.violations.length === 0 && result.unexpectedExits.length === 0;
    if (passed && !options.keepFiles) rmSync(dir, { recursive: true, force: true });
  }
}
