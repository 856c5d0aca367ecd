/** Polls `probe` every `intervalMs` until it answers a value (not undefined); fails naming `what` after `timeoutMs`. */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls `probe` every 25 ms until it holds; fails naming `what` after `timeoutMs` (the workflow tests' wait). */
export async function waitUntil(probe: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
