/**
 * Delivers webhooks the way Meta does (META-API 1.2, 1.7): the exact envelope, serialized Meta's way and signed
 * over the bytes sent, at least once. A non-2xx answer or no answer within the timeout is retried with back-off;
 * when failures have lasted the give-up period, the app is unsubscribed from the Page and an alert is recorded.
 * Switches make deliveries duplicate, reorder, batch (up to 1,000 entries), wait for a flush, or be delayed.
 */
import type { EmulatorClock } from './clock';
import type { Logger } from './logger';
import { serializeLikeMeta, signatureSha1, signatureSha256 } from './meta-json';
import type { EmulatorState } from './state';
import type { EmulatedApp } from './state-records';
import { parseWebhookPayload, type MessagingEvent } from './webhook-schema';

export interface DeliverySwitches {
  /** Extra identical copies of every delivery (Meta's at-least-once). */
  duplicates: number;
  /** Send the events of one flush newest first. */
  reorder: boolean;
  /** Entries per POST, 1 to 1000. */
  batchSize: number;
  /** How long events wait for company before a flush (ms); 0 flushes at the end of the current tick. */
  batchWindowMs: number;
  /** Keep everything until `flush()` is called. */
  hold: boolean;
  /** Wait this long before the first attempt of each delivery (ms). */
  delayMs: number;
}

export const defaultSwitches: DeliverySwitches = { duplicates: 0, reorder: false, batchSize: 1, batchWindowMs: 0, hold: false, delayMs: 0 };

export interface WebhookSenderOptions {
  /** Meta expects an answer "within 5 or less seconds" (META-API 1.7). */
  timeoutMs: number;
  /** Pause before retry n (the last value repeats). Meta retries at once, then less and less often. */
  retryDelaysMs: number[];
  /** Failures lasting this long (emulator clock) unsubscribe the app: 1 hour for messaging webhooks. */
  giveUpAfterMs: number;
  /** Also send the legacy `X-Hub-Signature: sha1=...`. */
  legacySha1: boolean;
}

export const defaultSenderOptions: WebhookSenderOptions = {
  timeoutMs: 5_000,
  retryDelaysMs: [1_000, 5_000, 15_000, 60_000, 300_000],
  giveUpAfterMs: 60 * 60 * 1000,
  legacySha1: true,
};

export interface DeliveryAttempt {
  at: number;
  status?: number;
  error?: string;
  durationMs: number;
}

export interface Delivery {
  id: number;
  appId: string;
  url: string;
  body: string;
  signature256: string;
  entryCount: number;
  igAccountIds: string[];
  copyOf: number | null;
  state: 'scheduled' | 'in_flight' | 'retrying' | 'delivered' | 'gave_up' | 'dropped';
  attempts: DeliveryAttempt[];
  firstAttemptAt: number | null;
}

export interface WebhookAlert {
  at: number;
  appId: string;
  kind: 'webhooks_disabled';
  igAccountIds: string[];
  message: string;
}

export interface QueuedEvent {
  igAccountId: string;
  field: string;
  event: MessagingEvent;
}

export interface WebhookSender {
  /** Queues an event for every app whose callback should receive it. Returns how many apps that is. */
  publish(event: QueuedEvent): number;
  flush(): void;
  switches(): DeliverySwitches;
  setSwitches(changes: Partial<DeliverySwitches>): DeliverySwitches;
  options(): WebhookSenderOptions;
  setOptions(changes: Partial<WebhookSenderOptions>): WebhookSenderOptions;
  deliveries(): Delivery[];
  alerts(): WebhookAlert[];
  clearLog(): void;
  /** True once nothing is queued, in flight or waiting for a retry (held events count as queued). */
  isIdle(): boolean;
  waitForIdle(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface WebhookSenderDeps {
  clock: EmulatorClock;
  state: EmulatorState;
  logger: Logger;
  fetchImpl?: typeof fetch;
  options?: Partial<WebhookSenderOptions>;
}

/** The apps that receive `field` events for this Instagram account: subscribed on its Page, with a callback. */
export function subscribedApps(state: EmulatorState, igAccountId: string, field: string): EmulatedApp[] {
  const account = state.igAccounts.get(igAccountId);
  const page = account?.pageId ? state.pages.get(account.pageId) : undefined;
  if (!page) return [];
  // Echoes arrive through "messages"; message_echoes is accepted as well (META-API 1.4).
  const acceptedFields = field === 'message_echoes' ? ['messages', 'message_echoes'] : [field];
  return [...page.subscribedApps.keys()]
    .map((appId) => state.apps.get(appId))
    .filter((app): app is EmulatedApp => app !== undefined && app.callbackUrl !== null && app.fields.some((f) => acceptedFields.includes(f)));
}

export function createWebhookSender(deps: WebhookSenderDeps): WebhookSender {
  const fetchImpl = deps.fetchImpl ?? fetch;
  let options: WebhookSenderOptions = { ...defaultSenderOptions, ...deps.options };
  let switches: DeliverySwitches = { ...defaultSwitches };
  const pending = new Map<string, QueuedEvent[]>();
  const log: Delivery[] = [];
  const alertLog: WebhookAlert[] = [];
  // Each pending timer with what it runs, so close() can run them at once (they see `closed` and stop) instead
  // of leaving awaited sleeps unresolved.
  const timers = new Map<NodeJS.Timeout, () => void>();
  const inFlight = new Set<Promise<void>>();
  const closing = new AbortController();
  // First attempts go out one after another per app, in flush order, so reordering is observable.
  const firstAttemptChains = new Map<string, Promise<void>>();
  let flushScheduled = false;
  let nextId = 1;
  let closed = false;

  function later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.set(timer, run);
  }

  function track(work: Promise<void>): void {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  function scheduleFlush(): void {
    if (switches.hold || flushScheduled || closed) return;
    flushScheduled = true;
    const run = (): void => {
      flushScheduled = false;
      if (!closed) flush();
    };
    if (switches.batchWindowMs > 0) later(switches.batchWindowMs, run);
    else later(0, run);
  }

  function flush(): void {
    for (const [appId, events] of pending) {
      pending.delete(appId);
      const app = deps.state.apps.get(appId);
      if (!app || events.length === 0) continue;
      const ordered = switches.reorder ? [...events].reverse() : events;
      for (let start = 0; start < ordered.length; start += switches.batchSize) {
        const chunk = ordered.slice(start, start + switches.batchSize);
        const original = createDelivery(app, chunk, null);
        for (let copy = 0; copy < switches.duplicates; copy += 1) createDelivery(app, chunk, original.id, original.body);
      }
    }
  }

  function createDelivery(app: EmulatedApp, chunk: QueuedEvent[], copyOf: number | null, body?: string): Delivery {
    const serialized =
      body ??
      serializeLikeMeta({
        object: 'instagram',
        entry: chunk.map((queued) => ({ id: queued.igAccountId, time: deps.clock.now(), messaging: [queued.event] })),
      });
    // A payload our own parser refuses is an emulator bug; fail loudly rather than send it.
    parseWebhookPayload(serialized);
    const delivery: Delivery = {
      id: nextId++,
      appId: app.id,
      url: app.callbackUrl ?? '',
      body: serialized,
      signature256: signatureSha256(app.secret, serialized),
      entryCount: chunk.length,
      igAccountIds: [...new Set(chunk.map((queued) => queued.igAccountId))],
      copyOf,
      state: 'scheduled',
      attempts: [],
      firstAttemptAt: null,
    };
    log.push(delivery);
    const previous = firstAttemptChains.get(app.id) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (switches.delayMs > 0) await new Promise<void>((resolve) => later(switches.delayMs, resolve));
      await attempt(delivery);
    });
    firstAttemptChains.set(app.id, next);
    track(next);
    return delivery;
  }

  async function attempt(delivery: Delivery): Promise<void> {
    if (closed) return;
    const app = deps.state.apps.get(delivery.appId);
    if (!app || app.callbackUrl === null) {
      delivery.state = 'dropped';
      return;
    }
    delivery.state = 'in_flight';
    const started = deps.clock.now();
    delivery.firstAttemptAt ??= started;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'facebookexternalua',
      'x-hub-signature-256': delivery.signature256,
    };
    if (options.legacySha1) headers['x-hub-signature'] = signatureSha1(app.secret, delivery.body);
    const record: DeliveryAttempt = { at: started, durationMs: 0 };
    try {
      const response = await fetchImpl(delivery.url, {
        method: 'POST',
        headers,
        body: delivery.body,
        signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), closing.signal]),
      });
      record.status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      const name = (error as { name?: string } | null)?.name;
      record.error = name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : `network error: ${(error as Error).message}`;
    }
    record.durationMs = deps.clock.now() - started;
    delivery.attempts.push(record);
    if (record.status !== undefined && record.status >= 200 && record.status < 300) {
      delivery.state = 'delivered';
      return;
    }
    if (closed) return;
    if (deps.clock.now() - (delivery.firstAttemptAt ?? started) >= options.giveUpAfterMs) {
      giveUp(app, delivery);
      return;
    }
    delivery.state = 'retrying';
    const delays = options.retryDelaysMs.length > 0 ? options.retryDelaysMs : [1_000];
    const delay = delays[Math.min(delivery.attempts.length - 1, delays.length - 1)] ?? 1_000;
    later(delay, () => track(attempt(delivery)));
  }

  function giveUp(app: EmulatedApp, delivery: Delivery): void {
    delivery.state = 'gave_up';
    for (const igAccountId of delivery.igAccountIds) {
      const pageId = deps.state.igAccounts.get(igAccountId)?.pageId;
      if (pageId) deps.state.pages.get(pageId)?.subscribedApps.delete(app.id);
    }
    const alert: WebhookAlert = {
      at: deps.clock.now(),
      appId: app.id,
      kind: 'webhooks_disabled',
      igAccountIds: delivery.igAccountIds,
      message: `Webhooks Disabled: deliveries to ${delivery.url} failed for ${Math.round(options.giveUpAfterMs / 1000)} s; the app was unsubscribed and must subscribe again`,
    };
    alertLog.push(alert);
    deps.logger.warn('webhook delivery gave up; app unsubscribed', { appId: app.id, deliveryId: delivery.id, igAccountIds: delivery.igAccountIds });
  }

  function isIdle(): boolean {
    const queued = [...pending.values()].some((events) => events.length > 0);
    return !queued && inFlight.size === 0 && timers.size === 0;
  }

  return {
    publish(event) {
      if (closed) return 0;
      const apps = subscribedApps(deps.state, event.igAccountId, event.field);
      for (const app of apps) {
        const queue = pending.get(app.id) ?? [];
        queue.push(event);
        pending.set(app.id, queue);
        if (queue.length >= switches.batchSize && switches.batchWindowMs > 0 && !switches.hold) flush();
      }
      if (apps.length > 0) scheduleFlush();
      return apps.length;
    },
    flush,
    switches: () => ({ ...switches }),
    setSwitches(changes) {
      switches = { ...switches, ...changes };
      if (!switches.hold) scheduleFlush();
      return { ...switches };
    },
    options: () => ({ ...options, retryDelaysMs: [...options.retryDelaysMs] }),
    setOptions(changes) {
      options = { ...options, ...changes };
      return { ...options, retryDelaysMs: [...options.retryDelaysMs] };
    },
    deliveries: () => log.map((delivery) => ({ ...delivery, attempts: [...delivery.attempts] })),
    alerts: () => [...alertLog],
    clearLog() {
      log.length = 0;
      alertLog.length = 0;
    },
    isIdle,
    async waitForIdle(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!isIdle()) {
        if (Date.now() >= deadline) return false;
        await new Promise<void>((resolve) => setTimeout(resolve, 10));
      }
      return true;
    },
    async close() {
      closed = true;
      const pendingRuns = [...timers];
      timers.clear();
      for (const [timer, run] of pendingRuns) {
        clearTimeout(timer);
        run();
      }
      closing.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}
