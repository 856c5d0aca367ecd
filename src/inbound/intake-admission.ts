/**
 * Sheds load at the webhook ingress instead of spreading it: the entries being stored at once are bounded, and a
 * delivery that would pass the bound is refused at once (503 with Retry-After: Meta delivers it again), without a
 * write. Piling inserts onto a database that is already slow only makes every delivery late, Meta's included, and
 * starves the inbox's reads of the same database. A delivery always gets through when nothing else is being
 * stored, however many entries it has (up to Meta's 1,000, refused before this).
 */
export interface IntakeAdmission {
  /** A release to call once the delivery is stored (or failed), or undefined: refuse it now. */
  tryAdmit(entries: number): (() => void) | undefined;
  inFlight(): { deliveries: number; entries: number };
}

export function createIntakeAdmission(options: { maxEntriesInFlight: number }): IntakeAdmission {
  let deliveries = 0;
  let entries = 0;
  return {
    tryAdmit(count) {
      if (deliveries > 0 && entries + count > options.maxEntriesInFlight) return undefined;
      deliveries += 1;
      entries += count;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        deliveries -= 1;
        entries -= count;
      };
    },
    inFlight: () => ({ deliveries, entries }),
  };
}
