/**
 * The webhook intake refuses a delivery at once, without a write, while as many entries as its bound are being
 * stored, and takes deliveries again once they are: the database is never handed more than the bound.
 */
import express from 'express';
import request from 'supertest';
import { signatureSha256 } from '../../emulator/meta-json';
import { createErrorHandler } from '../../src/api/errors';
import { createWebhookRouter } from '../../src/api/routes/webhooks';
import type { Models } from '../../src/db/models';
import { createLogger } from '../../src/logger';
import type { DispatchReport } from '../../src/inbound/dispatcher';
import { createWebhookIntake } from '../../src/inbound/webhook-intake';

function delivery(entries: number, serial: number): Buffer {
  const entry = (index: number) => ({
    id: '17841400000000101',
    time: 1_795_305_599_000,
    messaging: [{ sender: { id: '1234567890123456' }, recipient: { id: '17841400000000101' }, timestamp: 1_795_305_599_000 + index, message: { mid: `m_${serial}_${index}`, text: 'hello' } }],
  });
  return Buffer.from(JSON.stringify({ object: 'instagram', entry: Array.from({ length: entries }, (_, index) => entry(index)) }));
}

/** A collection whose inserts wait until the test lets them finish, counting what reached it. */
function heldCollection() {
  const waiting: Array<() => void> = [];
  const inserted: number[] = [];
  const model = {
    db: { readyState: 1 },
    collection: {
      insertMany: (documents: unknown[]) =>
        new Promise<void>((resolve) => {
          inserted.push(documents.length);
          waiting.push(resolve);
        }),
    },
  } as unknown as Models['webhookEvents'];
  return { model, inserted, finishAll: () => waiting.splice(0).forEach((finish) => finish()) };
}

describe('webhook intake under a burst', () => {
  it('refuses deliveries past the entries in flight without writing them, then takes them again', async () => {
    const collection = heldCollection();
    const intake = createWebhookIntake({
      models: { webhookEvents: collection.model },
      dispatcher: { dispatch: async (): Promise<DispatchReport> => ({ dispatched: 0, failed: 0, unlinked: 0, held: 0, ownEchoes: 0, recorded: 0 }) },
      logger: { error: () => undefined, warn: () => undefined },
      metrics: { webhookEventsStored: () => undefined },
      maxEntriesInFlight: 5,
    });
    const first = intake.receive(delivery(3, 1));
    const second = intake.receive(delivery(2, 2));
    const refused = await intake.receive(delivery(1, 3));
    expect(refused).toEqual({ outcome: 'saturated', entriesInFlight: 5 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(collection.inserted).toEqual([3, 2]);

    collection.finishAll();
    expect((await first).outcome).toBe('stored');
    expect((await second).outcome).toBe('stored');
    const again = intake.receive(delivery(1, 3));
    await new Promise((resolve) => setImmediate(resolve));
    collection.finishAll();
    expect((await again).outcome).toBe('stored');
    expect(collection.inserted).toEqual([3, 2, 1]);
  });
});

describe('webhook route when the intake is saturated', () => {
  it('answers 503 IngressSaturated with Retry-After, naming the entries in flight', async () => {
    const secret = 'route-test-secret';
    const app = express();
    app.use(
      createWebhookRouter({
        intake: { receive: async () => ({ outcome: 'saturated', entriesInFlight: 2000 }) },
        appSecret: secret,
        verifyToken: 'token',
        maxBodyBytes: 1024 * 1024,
        metrics: { webhookAcknowledged: () => undefined },
      }),
    );
    app.use(createErrorHandler(createLogger({ level: 'error', write: () => undefined })));
    const body = delivery(1, 9).toString('utf8');
    const answer = await request(app).post('/webhooks/instagram').set('content-type', 'application/json').set('x-hub-signature-256', signatureSha256(secret, body)).send(body);
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('2');
    expect(answer.body.error).toMatchObject({ type: 'IngressSaturated', message: expect.stringContaining('2000 entries') });
  });
});
