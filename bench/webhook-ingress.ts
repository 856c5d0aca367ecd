/**
 * Webhook ingress benchmark: how fast the engine acknowledges Meta's webhooks, and how long a message takes from
 * the webhook POST to being readable in the inbox.
 *
 * Everything is real and local: a Temporal dev server and the local database (from .tools/bin, on free ports,
 * throw-away state, unless TEMPORAL_ADDRESS / MONGODB_URI name them), the API app and the worker in this process, and the Meta emulator in this process with its demo
 * Instagram account linked to a channel (test/support/inbound-world.ts). Customers are created through the
 * emulator's control API and each sends one first message through the emulator (the warm-up: it gives the
 * Profile API consent, fetches each profile and starts each conversation workflow). The measured load is then
 * built here: Instagram webhook bodies signed with the app secret, POSTed over loopback with bounded
 * concurrency, to the conversations already open (a conversation workflow is signalled, not started).
 *
 * Scenarios: single-event deliveries, then deliveries of many-entry batches. For each: acknowledgement latency
 * per request (POST → 200), throughput, and for every message the time from the POST that carried it until it is
 * in the `messages` collection: the `recordedAt` the recording activity stamps on the webhook event right after
 * inserting the message (see waitUntilRecorded). At the end every conversation is read back through the inbox
 * API and checked: every message once, in the customer's order, none missing.
 *
 *   npm run bench:webhooks                      (defaults: 20 customers, 200 single events, 2 batches of 100)
 *   npm run bench:webhooks -- --customers 200 --singles 2000 --batches 20 --visible-timeout-ms 600000
 *
 * The defaults finish in about a minute on two cores; the second line is the size the inbound issue talks about,
 * which takes minutes on two cores.
 * Each flag also reads from the environment (BENCH_CUSTOMERS, BENCH_SINGLES, ...). Exits 0 when every message
 * of an acknowledged delivery arrived once and in order, 1 otherwise.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { delay } from '../scripts/lib/processes';
import { signBody } from '../src/security/webhook-signature';
import { startInboundWorld, type InboundWorld } from '../test/support/inbound-world';
import { describeMachine, distribution, type LocalServices, ms, pool, rate, readBenchFlags, startLocalServices, table } from './lib';

// ---- settings -----------------------------------------------------------------------------------------------

interface Settings {
  customers: number;
  singles: number;
  batches: number;
  batchSize: number;
  concurrency: number;
  pollMs: number;
  visibleTimeoutMs: number;
  profileStaleSeconds: number;
  keepLogs: boolean;
}

const flags = {
  customers: { env: 'BENCH_CUSTOMERS', default: 20, min: 1, max: 5_000, help: 'distinct customers (IGSIDs), one conversation each' },
  singles: { env: 'BENCH_SINGLES', default: 200, min: 0, max: 100_000, help: 'scenario 1: deliveries of one event each' },
  batches: { env: 'BENCH_BATCHES', default: 2, min: 0, max: 10_000, help: 'scenario 2: number of batch deliveries' },
  'batch-size': { env: 'BENCH_BATCH_SIZE', default: 100, min: 1, max: 1_000, help: 'scenario 2: entries per batch delivery' },
  concurrency: { env: 'BENCH_CONCURRENCY', default: 16, min: 1, max: 256, help: 'POSTs in flight at once' },
  'poll-ms': { env: 'BENCH_POLL_MS', default: 1_000, min: 50, max: 10_000, help: 'after the load, how often to check whether every event is recorded' },
  'visible-timeout-ms': { env: 'BENCH_VISIBLE_TIMEOUT_MS', default: 60_000, min: 1_000, max: 1_800_000, help: 'how long a scenario waits for its messages' },
  'profile-stale-seconds': { env: 'BENCH_PROFILE_STALE_SECONDS', default: 3_600, min: 0, max: 86_400 * 30, help: 'PROFILE_STALE_AFTER_SECONDS of the engine (0: profile fetched on every message)' },
} as const;

type FlagName = keyof typeof flags;

function usage(): string {
  const lines = Object.entries(flags).map(([name, flag]) => `  --${name.padEnd(22)} ${flag.help} (env ${flag.env}, default ${flag.default})`);
  return ['usage: npm run bench:webhooks -- [flags]', ...lines, `  --${'keep-logs'.padEnd(22)} keep the Temporal and database logs (env BENCH_KEEP_LOGS=1)`].join('\n');
}

function readSettings(argv: string[]): Settings {
  const flagValues = readBenchFlags(argv, flags, ['keep-logs'] as const, usage);
  const number = (name: FlagName): number => flagValues.number(name);
  return {
    customers: number('customers'),
    singles: number('singles'),
    batches: number('batches'),
    batchSize: number('batch-size'),
    concurrency: number('concurrency'),
    pollMs: number('poll-ms'),
    visibleTimeoutMs: number('visible-timeout-ms'),
    profileStaleSeconds: number('profile-stale-seconds'),
    keepLogs: flagValues.given('keep-logs') || process.env.BENCH_KEEP_LOGS === '1',
  };
}

// ---- figures ------------------------------------------------------------------------------------------------

// ---- load ---------------------------------------------------------------------------------------------------

interface Delivery {
  body: Buffer;
  signature: string;
  mids: string[];
}

interface ScenarioResult {
  name: string;
  deliveries: number;
  events: number;
  failedRequests: number;
  statuses: Map<number, number>;
  ackLatencies: number[];
  visibleLatencies: number[];
  /** Events of deliveries answered 200 whose message is not in the collection: lost, if the run waited long enough. */
  notVisible: number;
  /** Messages present whose event was not stamped `recorded`, by the event's status (no visible time for them). */
  unstamped: Map<string, number>;
  /** Mids of deliveries answered 200: what the engine owes. Refused deliveries are Meta's to deliver again. */
  ackedMids: string[];
  /** First POST sent → last 200 received. */
  ackElapsedMs: number;
  /** First POST sent → last message visible. */
  drainElapsedMs: number;
  pollRounds: number[];
}

interface Customer {
  username: string;
  igsid: string;
}

function messagingItem(igAccountId: string, customer: Customer, mid: string, timestamp: number, text: string): Record<string, unknown> {
  return { sender: { id: customer.igsid }, recipient: { id: igAccountId }, timestamp, message: { mid, text } };
}

function signed(appSecret: string, payload: unknown, mids: string[]): Delivery {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  return { body, signature: signBody(appSecret, body), mids };
}

/**
 * `count` messages spread round-robin over the customers; each customer's timestamps increase, so the order a
 * conversation shows is the order they were generated in. `perDelivery` entries go into one webhook body.
 */
function buildDeliveries(options: { runId: string; prefix: string; igAccountId: string; appSecret: string; customers: Customer[]; deliveries: number; perDelivery: number; startAt: number }): Delivery[] {
  const { customers, igAccountId } = options;
  const out: Delivery[] = [];
  let n = 0;
  for (let d = 0; d < options.deliveries; d += 1) {
    const entries: Array<Record<string, unknown>> = [];
    const mids: string[] = [];
    for (let e = 0; e < options.perDelivery; e += 1, n += 1) {
      const customer = customers[n % customers.length]!;
      const timestamp = options.startAt + n;
      const mid = `bench.${options.runId}.${options.prefix}.${n}`;
      mids.push(mid);
      const text = `Hello @demo.shop, is order #${100000 + n} on its way? (${options.prefix} message ${n} from ${customer.username})`;
      entries.push({ id: igAccountId, time: timestamp, messaging: [messagingItem(igAccountId, customer, mid, timestamp, text)] });
    }
    out.push(signed(options.appSecret, { object: 'instagram', entry: entries }, mids));
  }
  return out;
}

/**
 * When each message became visible. The recording activity inserts the message, updates the conversation and then
 * stamps its webhook event `recorded` with `recordedAt`, so `recordedAt` is a tight upper bound of the moment the
 * message was readable. Reading it after the fact costs nothing while the load runs; a query of the local database by
 * a field other than `_id` scans the whole collection, so polling for each message would itself slow the engine down.
 * Until then, one count per `pollMs` tells when the scenario is done.
 */
async function waitUntilRecorded(
  world: InboundWorld,
  mids: string[],
  pollMs: number,
  deadline: number,
): Promise<{ recordedAt: Map<string, number>; rounds: number[]; unstamped: Map<string, number>; absent: number }> {
  const keys = mids.map((mid) => `message:${mid}`);
  const rounds: number[] = [];
  for (;;) {
    const started = performance.now();
    const recorded = await world.engine.models.webhookEvents.countDocuments({ eventKey: { $in: keys }, status: 'recorded' });
    rounds.push(performance.now() - started);
    if (recorded >= keys.length || performance.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const recordedAt = new Map<string, number>();
  const docs = await world.engine.models.webhookEvents.find({ eventKey: { $in: keys }, status: 'recorded' }, { eventKey: 1, recordedAt: 1, _id: 0 }).lean<Array<{ eventKey: string; recordedAt: Date | null }>>();
  for (const doc of docs) if (doc.recordedAt) recordedAt.set(doc.eventKey.slice('message:'.length), doc.recordedAt.getTime());
  // Present in the messages collection too, not only stamped: one read at the end.
  const present = await world.engine.models.messages.find({ mid: { $in: mids } }, { mid: 1, _id: 0 }).lean<Array<{ mid: string }>>();
  const presentMids = new Set(present.map((doc) => doc.mid));
  for (const mid of [...recordedAt.keys()]) if (!presentMids.has(mid)) recordedAt.delete(mid);
  // A message that is there although its event was never stamped: visible, at a time this cannot tell.
  const unstampedMids = mids.filter((mid) => presentMids.has(mid) && !recordedAt.has(mid));
  const unstamped = new Map<string, number>();
  if (unstampedMids.length > 0) {
    const events = await world.engine.models.webhookEvents.find({ eventKey: { $in: unstampedMids.map((mid) => `message:${mid}`) } }, { status: 1, _id: 0 }).lean<Array<{ status: string }>>();
    for (const event of events) unstamped.set(event.status, (unstamped.get(event.status) ?? 0) + 1);
  }
  return { recordedAt, rounds, unstamped, absent: mids.filter((mid) => !presentMids.has(mid)).length };
}

async function runScenario(world: InboundWorld, settings: Settings, name: string, deliveries: Delivery[]): Promise<ScenarioResult> {
  const url = `${world.engine.baseUrl}/webhooks/instagram`;
  const sentAt = new Map<string, number>();
  const ackLatencies: number[] = [];
  const ackedMids: string[] = [];
  const statuses = new Map<number, number>();
  let failedRequests = 0;
  let lastAckAt = 0;
  const firstSentAt = Date.now();
  await pool(deliveries.length, settings.concurrency, async (index) => {
    const delivery = deliveries[index]!;
    const started = performance.now();
    const startedAt = Date.now();
    for (const mid of delivery.mids) sentAt.set(mid, startedAt);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': delivery.signature },
        body: delivery.body,
      });
      await response.text();
      const elapsed = performance.now() - started;
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 200) {
        ackLatencies.push(elapsed);
        ackedMids.push(...delivery.mids);
      } else failedRequests += 1;
      lastAckAt = Math.max(lastAckAt, Date.now());
    } catch {
      failedRequests += 1;
      statuses.set(0, (statuses.get(0) ?? 0) + 1);
    }
  });
  const mids = deliveries.flatMap((delivery) => delivery.mids);
  const { recordedAt, rounds, unstamped, absent } = await waitUntilRecorded(world, ackedMids, settings.pollMs, performance.now() + settings.visibleTimeoutMs);
  const visibleLatencies: number[] = [];
  let lastVisibleAt = 0;
  for (const [mid, at] of recordedAt) {
    visibleLatencies.push(at - sentAt.get(mid)!);
    lastVisibleAt = Math.max(lastVisibleAt, at);
  }
  return {
    name,
    deliveries: deliveries.length,
    events: mids.length,
    failedRequests,
    statuses,
    ackLatencies,
    visibleLatencies,
    notVisible: absent,
    unstamped,
    ackedMids,
    ackElapsedMs: lastAckAt - firstSentAt,
    drainElapsedMs: lastVisibleAt - firstSentAt,
    pollRounds: rounds,
  };
}

// ---- set-up -------------------------------------------------------------------------------------------------

/** Creates the customers on the emulator; each sends a first message through it, which the engine records. */
async function warmUp(world: InboundWorld, settings: Settings, runId: string): Promise<{ customers: Customer[]; elapsedMs: number }> {
  const started = performance.now();
  const customers: Customer[] = [];
  await pool(settings.customers, settings.concurrency, async (index) => {
    const username = `bench.${runId}.customer${index}`;
    const created = await world.control('POST', '/ig-users', { username, name: `Bench Customer ${index}` });
    if (created.status !== 201) throw new Error(`emulator refused customer ${username}: ${JSON.stringify(created.body)}`);
    const sent = await world.customer({ kind: 'text', text: `Hi, this is customer ${index}` }, username);
    customers[index] = { username, igsid: sent.igsid };
  });
  const igsids = customers.map((customer) => customer.igsid);
  const deadline = performance.now() + settings.visibleTimeoutMs;
  for (;;) {
    const stored = await world.engine.models.messages.countDocuments({ igsid: { $in: igsids } });
    if (stored >= customers.length) break;
    if (performance.now() > deadline) throw new Error(`warm-up: only ${stored} of ${customers.length} first messages arrived`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { customers, elapsedMs: performance.now() - started };
}

/** Reads every conversation back through the inbox API: each expected mid exactly once, in the customer's order. */
async function verifyThroughInbox(world: InboundWorld, customers: Customer[], expected: Map<string, string[]>): Promise<{ conversations: number; messages: number; missing: number; duplicates: number; outOfOrder: number }> {
  const result = { conversations: 0, messages: 0, missing: 0, duplicates: 0, outOfOrder: 0 };
  await pool(customers.length, 8, async (index) => {
    const customer = customers[index]!;
    const profile = await world.inbox(`/v1/customers/${world.igAccountId}/${customer.igsid}`);
    const conversationId = profile.body?.conversations?.[0]?.conversationId as string | undefined;
    const wanted = expected.get(customer.igsid) ?? [];
    if (!conversationId) {
      result.missing += wanted.length;
      return;
    }
    result.conversations += 1;
    const { body } = await world.inbox(`/v1/conversations/${conversationId}/messages?limit=1000`);
    const mids = ((body?.messages ?? []) as Array<{ mid: string | null }>).map((message) => message.mid).filter((mid): mid is string => mid !== null && mid.startsWith('bench.'));
    result.messages += mids.length;
    const counts = new Map<string, number>();
    for (const mid of mids) counts.set(mid, (counts.get(mid) ?? 0) + 1);
    for (const [, count] of counts) if (count > 1) result.duplicates += count - 1;
    for (const mid of wanted) if (!counts.has(mid)) result.missing += 1;
    const order = [...new Set(mids)];
    const inWantedOrder = wanted.filter((mid) => counts.has(mid));
    if (order.join('\n') !== inWantedOrder.join('\n')) result.outOfOrder += 1;
  });
  return result;
}

/** The engine's warnings and errors, grouped by message, with the first occurrence's details. */
function printEngineWarnings(logs: string[]): void {
  const groups = new Map<string, { count: number; first: string }>();
  for (const line of logs) {
    let record: { level?: string; msg?: string };
    try {
      record = JSON.parse(line) as { level?: string; msg?: string };
    } catch {
      continue;
    }
    if (record.level !== 'warn' && record.level !== 'error') continue;
    const key = `${record.level}: ${record.msg ?? '?'}`;
    const group = groups.get(key);
    if (group) group.count += 1;
    else groups.set(key, { count: 1, first: line });
  }
  if (groups.size === 0) {
    console.log('engine warnings/errors logged: none');
    return;
  }
  console.log('engine warnings/errors logged:');
  for (const [key, group] of groups) console.log(`  ${group.count} x ${key}\n    first: ${group.first.slice(0, 400)}`);
}

// ---- main ---------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const settings = readSettings(process.argv.slice(2));
  const runId = randomUUID().slice(0, 8);
  console.log('Webhook ingress benchmark');
  console.log(`machine:  ${describeMachine()}`);
  console.log(
    `settings: customers=${settings.customers} singles=${settings.singles} batches=${settings.batches}x${settings.batchSize} concurrency=${settings.concurrency} ` +
      `poll=${settings.pollMs}ms visible-timeout=${settings.visibleTimeoutMs}ms profile-stale=${settings.profileStaleSeconds}s`,
  );

  const totalStarted = performance.now();
  const loadBefore = os.loadavg()[0]!.toFixed(2);
  let services: LocalServices | undefined;
  let world: InboundWorld | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      // The worker's shutdown waits for running activities; an overloaded database can hold them for long, so
      // the services are stopped after a while regardless, which fails those activities and ends the wait.
      const engineStopped = world?.close().then(
        () => true,
        (error: unknown) => {
          console.error(`engine stop: ${(error as Error).message}`);
          return true;
        },
      );
      const stoppedInTime = await Promise.race([engineStopped ?? Promise.resolve(true), delay(20_000).then(() => false)]);
      if (!stoppedInTime) console.error('engine still stopping after 20 s; stopping Temporal and the database under it');
      await services?.stop({ keepLogs: settings.keepLogs });
      if (!stoppedInTime) await Promise.race([engineStopped, delay(10_000)]);
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    let step = performance.now();
    services = await startLocalServices('igdm_bench');
    console.log(`stack:    ${services.description}; API, worker, Meta emulator and load generator in this one node process; loopback only`);
    world = await startInboundWorld({ engineEnv: { PROFILE_STALE_AFTER_SECONDS: String(settings.profileStaleSeconds), WEBHOOK_SWEEP_INTERVAL_MS: '2000', LOG_LEVEL: 'warn' } });
    console.log(`set-up:   services and engine ready in ${ms(performance.now() - step)} ms`);

    step = performance.now();
    const { customers, elapsedMs: warmUpMs } = await warmUp(world, settings, runId);
    console.log(`warm-up:  ${customers.length} customers created through the emulator, each sent a first message through it; all recorded in ${ms(warmUpMs)} ms\n`);

    const appSecret = world.engine.config.meta.appSecret;
    const common = { runId, igAccountId: world.igAccountId, appSecret, customers };
    const scenarios: Array<{ name: string; deliveries: Delivery[] }> = [];
    let startAt = Date.now();
    if (settings.singles > 0) {
      scenarios.push({ name: `1: ${settings.singles} x 1 event`, deliveries: buildDeliveries({ ...common, prefix: 's1', deliveries: settings.singles, perDelivery: 1, startAt }) });
      startAt += settings.singles;
    }
    if (settings.batches > 0) {
      scenarios.push({ name: `2: ${settings.batches} x ${settings.batchSize} entries`, deliveries: buildDeliveries({ ...common, prefix: 's2', deliveries: settings.batches, perDelivery: settings.batchSize, startAt }) });
    }
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      console.log(`running scenario ${scenario.name} ...`);
      results.push(await runScenario(world, settings, scenario.name, scenario.deliveries));
    }

    // What the inbox must show: every event of an acknowledged delivery, in the order it was generated.
    const expected = new Map<string, string[]>();
    const acked = new Set(results.flatMap((r) => r.ackedMids));
    for (const scenario of scenarios) {
      for (const delivery of scenario.deliveries) {
        for (const mid of delivery.mids) {
          if (!acked.has(mid)) continue;
          const n = Number(mid.slice(mid.lastIndexOf('.') + 1));
          const igsid = customers[n % customers.length]!.igsid;
          const list = expected.get(igsid) ?? [];
          list.push(mid);
          expected.set(igsid, list);
        }
      }
    }

    step = performance.now();
    const check = await verifyThroughInbox(world, customers, expected);
    const checkMs = performance.now() - step;

    console.log('\nAcknowledgement (POST /webhooks/instagram → 200), ms');
    console.log(
      table(
        ['scenario', 'requests', 'events', 'non-200', 'req/s', 'events/s', 'p50', 'p95', 'p99', 'max'],
        results.map((r) => {
          const d = distribution(r.ackLatencies);
          return [r.name, String(r.deliveries), String(r.events), String(r.failedRequests), rate(r.deliveries, r.ackElapsedMs), rate(r.events, r.ackElapsedMs), ms(d.p50), ms(d.p95), ms(d.p99), ms(d.max)];
        }),
      ),
    );
    console.log('\nWebhook → message visible (POST sent → message inserted and its event stamped recorded), ms');
    console.log(
      table(
        ['scenario', 'acked', 'timed', 'missing', 'drained in', 'events/s', 'p50', 'p95', 'p99', 'max'],
        results.map((r) => {
          const d = distribution(r.visibleLatencies);
          return [r.name, String(r.ackedMids.length), String(d.count), String(r.notVisible), `${ms(r.drainElapsedMs)} ms`, rate(d.count, r.drainElapsedMs), ms(d.p50), ms(d.p95), ms(d.p99), ms(d.max)];
        }),
      ),
    );
    const rounds = distribution(results.flatMap((r) => r.pollRounds));
    console.log(`\ncompletion checks after the load: ${rounds.count} counts of recorded events, each ${ms(rounds.p50)} ms p50 (they do not touch the figures above)`);
    const unstampedNotes = results.flatMap((r) => [...r.unstamped].map(([status, count]) => `${r.name}: ${count} with event status '${status}'`));
    if (unstampedNotes.length > 0) {
      console.log(`messages visible but their webhook event never stamped 'recorded' (so not timed above): ${unstampedNotes.join('; ')}`);
    }
    const otherStatuses = results.flatMap((r) => [...r.statuses].filter(([status]) => status !== 200).map(([status, count]) => `${r.name}: ${count} x ${status === 0 ? 'network error' : status}`));
    if (otherStatuses.length > 0) console.log(`non-200 answers (their events are not counted as missing: Meta delivers again after a refusal): ${otherStatuses.join('; ')}`);
    console.log(
      `inbox API check: ${check.conversations} conversations read, ${check.messages} benchmark messages, ${check.missing} missing, ${check.duplicates} duplicated, ` +
        `${check.outOfOrder} conversations out of order (${ms(checkMs)} ms)`,
    );
    printEngineWarnings(world.engine.logs);
    console.log(`load average (1 min) before/after: ${loadBefore} / ${os.loadavg()[0]!.toFixed(2)}`);

    const ok = results.every((r) => r.notVisible === 0) && check.missing === 0 && check.duplicates === 0 && check.outOfOrder === 0;
    await cleanUp();
    console.log(`\ntotal run time ${((performance.now() - totalStarted) / 1000).toFixed(1)} s: ${ok ? 'every acknowledged message arrived once, in order' : 'FAILED: see the counts above'}`);
    return ok ? 0 : 1;
  } catch (error) {
    console.error(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
    await cleanUp();
    return 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
