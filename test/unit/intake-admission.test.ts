import { createIntakeAdmission } from '../../src/inbound/intake-admission';

describe('intake admission', () => {
  it('admits deliveries until their entries would pass the bound, then refuses without counting the refused', () => {
    const admission = createIntakeAdmission({ maxEntriesInFlight: 10 });
    const first = admission.tryAdmit(6);
    const second = admission.tryAdmit(4);
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(admission.tryAdmit(1)).toBeUndefined();
    expect(admission.inFlight()).toEqual({ deliveries: 2, entries: 10 });
    first!();
    expect(admission.tryAdmit(5)).toBeDefined();
    expect(admission.inFlight()).toEqual({ deliveries: 2, entries: 9 });
  });

  it('always admits a delivery when nothing else is being stored, even one larger than the bound', () => {
    const admission = createIntakeAdmission({ maxEntriesInFlight: 10 });
    const large = admission.tryAdmit(1_000);
    expect(large).toBeDefined();
    expect(admission.tryAdmit(1)).toBeUndefined();
    large!();
    expect(admission.inFlight()).toEqual({ deliveries: 0, entries: 0 });
    expect(admission.tryAdmit(1)).toBeDefined();
  });

  it('counts a release once, however often it is called', () => {
    const admission = createIntakeAdmission({ maxEntriesInFlight: 10 });
    const release = admission.tryAdmit(3)!;
    admission.tryAdmit(2);
    release();
    release();
    expect(admission.inFlight()).toEqual({ deliveries: 1, entries: 2 });
  });
});
