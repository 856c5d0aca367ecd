/**
 * The fault suite's short form (faults/suite.ts, `npm run faults -- --quick`) in CI: its own database, Temporal
 * server, emulator, API and worker as processes (the built dist/), each killed with SIGKILL and started again during
 * the load, then the emulator misbehaving. Zero violations, and proof that each fault really happened under load.
 */
import { formatReport, violationTotal } from '../../faults/report';
import { runFaultSuite, type SuiteResult } from '../../faults/suite';

jest.setTimeout(600_000);

describe('the fault suite, short form', () => {
  let result: SuiteResult;

  beforeAll(async () => {
    result = await runFaultSuite({ quick: true, log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(`${formatReport(result)}\n`);
  });

  it('finds no violation: nothing acknowledged lost, nothing duplicated, every reply settled, order kept', () => {
    expect([...result.unexpectedExits, ...result.violations]).toEqual([]);
    expect(violationTotal(result)).toBe(0);
    expect(result.phases.map((phase) => [phase.name, phase.settled])).toEqual(result.phases.map((phase) => [phase.name, true]));
  });

  it('killed each part under load: a new process each time, and the load went on around it', () => {
    const kills = result.phases.filter((phase) => phase.disruption.killed !== undefined);
    expect(kills.map((phase) => phase.disruption.killed!.part)).toEqual(['worker', 'api', 'temporal', 'database']);
    for (const phase of kills) {
      const { pidBefore, pidAfter } = phase.disruption.killed!;
      expect(pidAfter).not.toBe(pidBefore);
      expect(phase.counts.acknowledged).toBeGreaterThan(10);
      expect(phase.counts.repliesAccepted).toBeGreaterThan(0);
      expect(phase.counts.deliveredOnce).toBeGreaterThan(0);
    }
    // With the API or its database gone, deliveries were refused and came again.
    for (const name of ['kill api', 'kill database']) expect(result.phases.find((phase) => phase.name === name)!.deliveries.refusedAttempts).toBeGreaterThan(0);
  });

  it('made the emulator misbehave: sends retried, webhooks duplicated and out of order', () => {
    const emulatorPhase = result.phases.find((phase) => phase.name === 'emulator faults')!;
    expect(emulatorPhase.counts.sendRetries).toBeGreaterThan(0);
    expect(emulatorPhase.deliveries.copies).toBeGreaterThan(0);
    expect(emulatorPhase.deliveries.reordered).toBeGreaterThan(0);
    expect(emulatorPhase.counts.deliveredOnce).toBeGreaterThan(0);
  });
});
