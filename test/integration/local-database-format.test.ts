/**
 * The local database's storage format (scripts/mongo-server): documents, _ids and index keys are written in a compact
 * form of their own. Every BSON type must come back exactly as stored after a restart (values are then read from
 * the file, not from memory), unique indexes must keep finding and refusing keys, and a data file written by the
 * server before this format must be converted at startup without losing anything. Each case runs its own server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Double, Long, MongoClient, type Db, type Filter } from 'mongodb';
import { findFreePort, localMongoUri, startMongoServer, type ManagedProcess } from '../../scripts/lib/processes';
import { canonical, everyType, messages, writeSampleData } from '../fixtures/local-database/documents';

jest.setTimeout(120_000);

const readRaw = { promoteValues: false, promoteLongs: false, promoteBuffers: false } as const;

interface Started {
  server: ManagedProcess;
  client: MongoClient;
  db: Db;
}

let workDir: string;
const running: Started[] = [];

beforeEach(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'igdm-format-'));
});

afterEach(async () => {
  for (const started of running.splice(0)) await stop(started);
  rmSync(workDir, { recursive: true, force: true });
});

async function start(): Promise<Started> {
  const port = await findFreePort();
  const server = await startMongoServer({ port, dataDir: workDir, output: { file: path.join(workDir, 'mongo-server.log') } });
  const client = await MongoClient.connect(localMongoUri(port, 'engine'));
  const started = { server, client, db: client.db() };
  running.push(started);
  return started;
}

async function stop(started: Started): Promise<void> {
  running.splice(running.indexOf(started), 1);
  await started.client.close();
  await started.server.stop();
}

async function restart(started: Started): Promise<Started> {
  await stop(started);
  return start();
}

async function expectSampleData(db: Db): Promise<void> {
  expect(canonical(await db.collection('typed').findOne({}, readRaw))).toBe(canonical(everyType));
  const collection = db.collection('messages');
  for (const message of messages) {
    expect(canonical(await collection.findOne({ _id: message._id }, readRaw))).toBe(canonical(message));
    // A query on a unique index's fields is answered through that index.
    expect(canonical(await collection.findOne({ mid: message.mid }, readRaw))).toBe(canonical(message));
    expect(canonical(await collection.findOne({ conversationId: message.conversationId, sentAt: message.sentAt }, readRaw))).toBe(canonical(message));
  }
  expect(await collection.countDocuments()).toBe(messages.length);
  await expect(collection.insertOne({ mid: 'mid-1' })).rejects.toMatchObject({ code: 11000 });
  await expect(collection.insertOne({ _id: 7 as never, mid: 'mid-new' })).rejects.toMatchObject({ code: 11000 });
  expect((await db.collection('counters').findOne({ _id: 'shared' as never }))?.n).toBe(5);
  const indexNames = (await collection.listIndexes().toArray()).map((index) => index.name).sort();
  expect(indexNames).toEqual(['_id_', 'conversationId_1_sentAt_-1', 'conversationId_1_sentAt_1', 'mid_1']);
}

/** Writes after the restart land in the same file and survive the next one. */
async function expectWritable(started: Started): Promise<Started> {
  const collection = started.db.collection('messages');
  await collection.insertOne({ _id: 'message-6' as never, mid: 'mid-6', conversationId: 'conversation-3', sentAt: new Date('2026-01-01T00:00:06Z') });
  await collection.updateOne({ mid: 'mid-2' }, { $set: { text: 'two, edited' } });
  await collection.deleteOne({ mid: 'mid-3' });
  const again = await restart(started);
  const reopened = again.db.collection('messages');
  expect((await reopened.findOne({ mid: 'mid-6' }))?._id).toBe('message-6');
  expect((await reopened.findOne({ _id: 7 as never }))?.text).toBe('two, edited');
  expect(await reopened.findOne({ mid: 'mid-3' })).toBeNull();
  await expect(reopened.insertOne({ mid: 'mid-6' })).rejects.toMatchObject({ code: 11000 });
  return again;
}

test('every BSON type, _id type and unique index key comes back from the file as stored', async () => {
  const first = await start();
  await writeSampleData(first.db);
  const second = await restart(first);
  await expectSampleData(second.db);
  await expectWritable(second);
});

test('a data file written before the compact format is converted at startup, nothing lost', async () => {
  writeFileSync(path.join(workDir, 'engine.mv.db'), gunzipSync(readFileSync(path.join(__dirname, '../fixtures/local-database/old-format.mv.db.gz'))));
  const converted = await start();
  await expectSampleData(converted.db);
  expect(readFileSync(path.join(workDir, 'mongo-server.log'), 'utf8')).toContain('in the compact format');
  // Converted once: the next start reads the file as it is.
  const reopened = await expectWritable(converted);
  expect(canonical(await reopened.db.collection('typed').findOne({}, readRaw))).toBe(canonical(everyType));
  expect(readFileSync(path.join(workDir, 'mongo-server.log'), 'utf8').match(/in the compact format/g)).toHaveLength(1);
});

/** Each query's _ids, from a collection with a non-unique index on `tag` and from one without: they must agree. */
async function answers(db: Db, queries: Array<Filter<{ _id: number }>>): Promise<{ indexed: number[][]; plain: number[][] }> {
  const ids = (name: string) => Promise.all(queries.map(async (query) => (await db.collection<{ _id: number }>(name).find(query).toArray()).map((d) => d._id)));
  return { indexed: await ids('indexed'), plain: await ids('plain') };
}

test('a non-unique index answers equality queries as a scan would, through inserts, updates, deletes and a restart', async () => {
  const first = await start();
  await first.db.collection('indexed').createIndex({ tag: 1, n: -1 });
  const documents = [{ _id: 1, tag: 'a' }, { _id: 2, tag: ['a', 'b'] }, { _id: 3, tag: 'b' }, { _id: 4, tag: 5 }, { _id: 5, tag: new Double(5) }, { _id: 6 }, { _id: 7, tag: Long.fromNumber(5) }, { _id: 8, tag: null }];
  for (const name of ['indexed', 'plain']) await first.db.collection<{ _id: number }>(name).insertMany(documents.map((d) => ({ ...d })));
  const queries: Array<Filter<{ _id: number }>> = [{ tag: 'a' }, { tag: 'b' }, { tag: 5 }, { tag: 'a', _id: { $gt: 1 } }, { tag: null }, { tag: 'none' }];

  let found = await answers(first.db, queries);
  expect(found.indexed).toEqual([[1, 2], [2, 3], [4, 5, 7], [2], [6, 8], []]);
  expect(found.indexed).toEqual(found.plain);

  for (const name of ['indexed', 'plain']) {
    const collection = first.db.collection<{ _id: number; tag?: unknown }>(name);
    await collection.updateOne({ _id: 1 }, { $set: { tag: 'b' } });
    await collection.deleteOne({ _id: 2 });
    expect((await collection.updateMany({ tag: 'b' }, { $set: { seen: true } })).modifiedCount).toBe(2);
    await collection.insertOne({ _id: 9, tag: 'a' });
  }
  found = await answers(first.db, queries);
  expect(found.indexed).toEqual([[9], [1, 3], [4, 5, 7], [9], [6, 8], []]);
  expect(found.indexed).toEqual(found.plain);

  // Not in the file: rebuilt from the collection when the server opens it.
  const second = await restart(first);
  expect(await answers(second.db, queries)).toEqual(found);
});
