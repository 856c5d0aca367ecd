/**
 * Inbox reads while webhooks pour in: an inbox client keeps reading a conversation's newest messages (one request
 * at a time, a few a second) during each load, as a manager's screen would, so the run shows whether the inbox stays
 * answerable while the ingress and the workers are busy.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface InboxReads {
  latenciesMs: number[];
  /** Answers other than 200, and requests that failed, by status or error. */
  failures: Map<string, number>;
}

export interface InboxReadProbe {
  stop(): Promise<InboxReads>;
}

/** Reads `route` with `apiKey` every `intervalMs` (after each answer) until stopped; each read bounded by 10 s. */
export function startInboxReads(apiUrl: string, apiKey: string, route: string, intervalMs: number): InboxReadProbe {
  const reads: InboxReads = { latenciesMs: [], failures: new Map() };
  const count = (what: string): void => void reads.failures.set(what, (reads.failures.get(what) ?? 0) + 1);
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      try {
        const response = await fetch(`${apiUrl}${route}`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(10_000) });
        await response.arrayBuffer();
        if (response.status === 200) reads.latenciesMs.push(performance.now() - started);
        else count(String(response.status));
      } catch (error) {
        count((error as Error).name);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return reads;
    },
  };
}
