/** The emulator's controllable clock and its Send API and Profile API fault switches. */
import { createClock } from '../../emulator/clock';
import { createFaultSwitches, faultRuleSchema, profileFaultRuleSchema, type ProfileFaultRule } from '../../emulator/faults';

describe('createClock', () => {
  it('follows real time plus an offset that advance, set and reset move', () => {
    let real = 1_000;
    const clock = createClock(() => real);
    expect(clock.now()).toBe(1_000);
    clock.advance(500);
    real = 1_100;
    expect(clock.now()).toBe(1_600);
    expect(clock.offsetMs()).toBe(500);
    clock.set(10_000);
    expect(clock.now()).toBe(10_000);
    clock.reset();
    expect(clock.now()).toBe(1_100);
  });
});

describe('fault switches', () => {
  const rule = (input: Record<string, unknown>) => faultRuleSchema.parse(input);

  it('fails a given number of calls, then none', () => {
    const faults = createFaultSwitches();
    faults.set(rule({ mode: 'transient_1', count: 2 }));
    expect(faults.next('a')?.mode).toBe('transient_1');
    expect(faults.current()?.remaining).toBe(1);
    expect(faults.next('a')?.mode).toBe('transient_1');
    expect(faults.next('a')).toBeNull();
    expect(faults.current()).toBeNull();
  });

  it('fails a share of calls by rate', () => {
    const draws = [0.1, 0.9, 0.2, 0.6];
    const faults = createFaultSwitches(() => draws.shift() ?? 1);
    faults.set(rule({ mode: 'transient_2', rate: 0.5 }));
    expect([faults.next('a'), faults.next('a'), faults.next('a'), faults.next('a')].map((fault) => fault?.mode ?? null)).toEqual([
      'transient_2',
      null,
      'transient_2',
      null,
    ]);
  });

  it('applies only to the chosen account, without consuming the count elsewhere', () => {
    const faults = createFaultSwitches();
    faults.set(rule({ mode: 'timeout', count: 1, igAccountId: 'x' }));
    expect(faults.next('y')).toBeNull();
    expect(faults.next('x')?.mode).toBe('timeout');
  });

  it('needs exactly one of count or rate', () => {
    expect(faultRuleSchema.safeParse({ mode: 'timeout' }).success).toBe(false);
    expect(faultRuleSchema.safeParse({ mode: 'timeout', count: 1, rate: 0.5 }).success).toBe(false);
    expect(faultRuleSchema.parse({ mode: 'server_error', count: 1 }).status).toBe(503);
  });

  it('narrows a Profile API fault to one customer of one account', () => {
    const faults = createFaultSwitches<ProfileFaultRule>();
    faults.set(profileFaultRuleSchema.parse({ mode: 'slow', count: 1, igAccountId: 'x', igsid: 'c1', hangMs: 12_000 }));
    expect(faults.next('x', 'c2')).toBeNull();
    expect(faults.next('y', 'c1')).toBeNull();
    expect(faults.next('x', 'c1')).toMatchObject({ mode: 'slow', hangMs: 12_000 });
    expect(faults.current()).toBeNull();
  });

  it('a Profile API refusal names which one', () => {
    expect(profileFaultRuleSchema.safeParse({ mode: 'refusal', count: 1 }).success).toBe(false);
    expect(profileFaultRuleSchema.safeParse({ mode: 'transient', count: 1, refusal: 'not_found' }).success).toBe(false);
    expect(profileFaultRuleSchema.parse({ mode: 'refusal', rate: 1, refusal: 'consent_required' }).refusal).toBe('consent_required');
  });
});
