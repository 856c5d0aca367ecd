/**
 * What bench/databases.ts asks of each candidate database: correctness under concurrency (increments and upserts of
 * one document from many connections), speed and CPU cost on the engine's own access pattern, and whether what it
 * acknowledged survives SIGKILL.
 */
import { MongoClient, type Collection, type Db } from 'mongodb';
import { delay } from '../scripts/lib/processes';
import { distribution, pool, type Distribution } from './lib';
import { processTreeUsage } from './process-usage';
import type { RunningDatabase } from './database-candidates';

export interface ConcurrencyResult {
  incrementsExpected: number;
  incrementsFound: number;
  upsertsExpected: number;
  upsertDocuments: number;
  upsertTotal: number;
  upsertErrors: string[];
}

/** `clients` connections each `$inc` one document `perClient` times; then as many upsert one key at once. */
export async function probeConcurrency(uri: string, clients = 50, perClient = 100): Promise<ConcurrencyResult> {
  const client = await MongoClient.connect(uri, { maxPoolSize: clients, retryWrites: false });
  try {
    const db = client.db();
    const counters = db.collection<{ _id: string; n: number }>('counters');
    await counters.insertOne({ _id: 'shared', n: 0 });
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = 0; i < perClient; i++) await counters.updateOne({ _id: 'shared' }, { $inc: { n: 1 } });
      }),
    );
    const incrementsFound = (await counters.findOne({ _id: 'shared' }))?.n ?? 0;

    const keyed = db.collection<{ key: string; n: number }>('keyed');
    await keyed.createIndex({ key: 1 }, { unique: true });
    const upsertErrors: string[] = [];
    await Promise.all(
      Array.from({ length: clients }, () =>
        keyed.updateOne({ key: 'one' }, { $inc: { n: 1 } }, { upsert: true }).catch((error: Error) => void upsertErrors.push(error.message.slice(0, 80))),
      ),
    );
    const documents = await keyed.find({ key: 'one' }).toArray();
    return {
      incrementsExpected: clients * perClient,
      incrementsFound,
      upsertsExpected: clients,
      upsertDocuments: documents.length,
      upsertTotal: documents.reduce((sum, document) => sum + document.n, 0),
      upsertErrors,
    };
  } finally {
    await client.close();
  }
}

export interface WorkloadResult {
  deliveries: number;
  elapsedMs: number;
  latency: Distribution;
  /** CPU seconds the database's processes used during the workload. */
  databaseCpuSeconds: number;
}

/**
 * The engine's hot path per inbound message, as database calls: the ingress stores the event; the record activity
 * reads it, upserts the customer, inserts the message (unique Meta id), moves the conversation on and marks the
 * event recorded; every tenth message an inbox read lists the conversation's latest messages.
 */
export async function probeWorkload(database: RunningDatabase, deliveries = 2000, inFlight = 16, conversations = 100): Promise<WorkloadResult> {
  const client = await MongoClient.connect(database.uri, { retryWrites: false });
  try {
    const db = client.db();
    await prepareCollections(db);
    const cpuBefore = cpuSeconds(database);
    const latencies: number[] = [];
    const started = performance.now();
    await pool(deliveries, inFlight, async (index) => {
      const begin = performance.now();
      await deliverOneMessage(db, index, `conversation-${index % conversations}`);
      latencies.push(performance.now() - begin);
    });
    const elapsedMs = performance.now() - started;
    return { deliveries, elapsedMs, latency: distribution(latencies), databaseCpuSeconds: cpuSeconds(database) - cpuBefore };
  } finally {
    await client.close();
  }
}

async function prepareCollections(db: Db): Promise<void> {
  await db.collection('messages').createIndex({ mid: 1 }, { unique: true });
  await db.collection('messages').createIndex({ conversationId: 1, sentAt: -1 });
}

async function deliverOneMessage(db: Db, index: number, conversationId: string): Promise<void> {
  const events: Collection<{ _id: string; [key: string]: unknown }> = db.collection('webhookevents');
  const eventId = `event-${index}`;
  const customerId = `customer-${conversationId}`;
  const now = new Date();
  await events.insertOne({ _id: eventId, status: 'pending', receivedAt: now, payload: { sender: { id: customerId }, message: { mid: `mid-${index}`, text: 'x'.repeat(200) } } });
  await events.findOne({ _id: eventId });
  await db.collection<{ _id: string }>('customers').updateOne({ _id: customerId }, { $set: { lastSeenAt: now }, $setOnInsert: { firstSeenAt: now } }, { upsert: true });
  await db.collection('messages').insertOne({ mid: `mid-${index}`, conversationId, direction: 'inbound', text: 'x'.repeat(200), sentAt: now });
  await db.collection<{ _id: string }>('conversations').updateOne({ _id: conversationId }, { $set: { lastCustomerMessageAt: now }, $inc: { messageCount: 1 } }, { upsert: true });
  await events.updateOne({ _id: eventId }, { $set: { status: 'recorded', recordedAt: new Date() } });
  if (index % 10 === 0) await db.collection('messages').find({ conversationId }).sort({ sentAt: -1 }).limit(20).toArray();
}

export interface KillResult {
  acknowledged: number;
  lost: number;
}

/**
 * Writers insert as fast as they can; after `killAfterMs` every process of the database gets SIGKILL. The database is
 * started again over the same folder, and every insert it had acknowledged is looked for.
 */
export async function probeKill(start: () => Promise<RunningDatabase>, killAfterMs = 3000, writers = 16): Promise<KillResult> {
  const first = await start();
  const client = await MongoClient.connect(first.uri, { maxPoolSize: writers, retryWrites: false, serverSelectionTimeoutMS: 2000 });
  const acknowledged: string[] = [];
  let killed = false;
  const writing = Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let i = 0; !killed; i++) {
        const id = `${writer}-${i}`;
        try {
          await client.db().collection<{ _id: string; body: string }>('acknowledged').insertOne({ _id: id, body: 'x'.repeat(300) });
          acknowledged.push(id);
        } catch {
          return;
        }
      }
    }),
  );
  await delay(killAfterMs);
  killed = true;
  for (const process of first.processes) if (process.child.pid !== undefined) killGroup(process.child.pid);
  await Promise.all(first.processes.map((process) => process.exited));
  await writing;
  await client.close(true).catch(() => undefined);
  // A killed PostgreSQL's connection processes outlive its postmaster for a moment; a new one refuses to start then.
  await new Promise((resolve) => setTimeout(resolve, 2000));

  const second = await start();
  try {
    const reader = await MongoClient.connect(second.uri, { retryWrites: false });
    try {
      const found = new Set((await reader.db().collection<{ _id: string }>('acknowledged').find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
      return { acknowledged: acknowledged.length, lost: acknowledged.filter((id) => !found.has(id)).length };
    } finally {
      await reader.close();
    }
  } finally {
    await second.stop();
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}

function cpuSeconds(database: RunningDatabase): number {
  return processTreeUsage(database.processes.map((p) => p.child.pid)).cpuSeconds;
}
