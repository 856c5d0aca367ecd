/**
 * A poison event, end to end: a customer's button tap is stored, but its stored payload is damaged before any worker
 * reads it (as a faulty migration or a hand edit could leave it), so the record activity fails on every attempt.
 * The conversation workflow tries it the bounded number of times (its real retry policy: about two minutes of
 * back-off), parks it with the reason and the attempts, and records the customer's next messages in the same
 * conversation. The owner sees it through the API; once the payload is repaired, the owner replays it and it is
 * recorded in its place. The worker runs in this process, started and stopped by the test, so the damage is done
 * while no worker runs.
 */
import { startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';
import { startWorldWorker as startWorker, type RunningWorker } from '../support/world-worker';

jest.setTimeout(600_000);

/** Ten attempts with back-off 0.5 s doubling to 30 s take a little over two minutes; the rest is margin. */
const PARKED_WITHIN_MS = 5 * 60_000;

describe('an event the conversation cannot record', () => {
  let world: InboundWorld;
  let worker: RunningWorker | undefined;
  const workerLogs: string[] = [];

  beforeAll(async () => {
    // The workflow's recording is what is tested: the ingress does not record messages to open conversations here
    // (it would record the tap at once, before its payload is damaged), so every event goes to the workflow.
    world = await startInboundWorld({ worker: false, engineEnv: { WEBHOOK_RECORD_OPEN_CONVERSATIONS: 'false' } });
  });

  afterAll(async () => {
    await worker?.stop();
    await world?.close();
  });

  const storedEvent = (eventId: string): Promise<Json> => world.engine.models.webhookEvents.findOne({ _id: eventId }).lean();

  async function post(path: string): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${world.engine.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${world.apiKey}` } });
    return { status: response.status, body: (await response.json()) as Json };
  }

  const texts = (messages: Json[]): string[] => messages.map((message) => message.text);

  it('is parked while the next messages are recorded in the same conversation; repaired and replayed, it is recorded in its place', async () => {
    worker = await startWorker(world, workerLogs);
    const first = await world.customer({ kind: 'text', text: 'Hi! Where is my order?' });
    await world.messagesOf(first.igsid, 1);
    const { conversationId } = await world.conversationOf(first.igsid);

    // No worker runs while the tap is stored and dispatched, and its payload is damaged.
    await worker.stop();
    worker = undefined;
    const tap = await world.customer({ kind: 'postback', title: 'Track my order', payload: 'TRACK_ORDER' });
    const eventId = `postback:${tap.mid}`;
    const asSent = (await world.eventually(async () => (await storedEvent(eventId)) ?? undefined, 20_000, 'the tap stored')).payload;
    await world.engine.models.webhookEvents.collection.updateOne({ _id: eventId } as never, { $set: { payload: null } });
    const later = [await world.customer({ kind: 'text', text: 'It was due Monday' }), await world.customer({ kind: 'text', text: 'Order 1042' })];
    await world.eventually(async () => ((await Promise.all(later.map((sent) => storedEvent(`message:${sent.mid}`)))).every(Boolean) ? true : undefined), 20_000, 'the next messages stored');

    worker = await startWorker(world, workerLogs);
    const parked = await world.eventually(
      async () => ((await world.inbox(`/v1/parked-events?igAccountId=${world.igAccountId}`)).body.parkedEvents as Json[]).find((row) => row.eventId === eventId),
      PARKED_WITHIN_MS,
      'the tap parked',
      1_000,
    );
    // Tried once within its conversation's batch, then alone through the record activity's 10 attempts.
    expect(parked).toMatchObject({ igAccountId: world.igAccountId, customerIgsid: first.igsid, kind: 'postback', mid: tap.mid, attempts: 11, replays: 0 });
    expect(parked.reason).toContain(`the stored payload of ${eventId} is not a JSON object`);
    expect((await storedEvent(eventId)).status).toBe('parked');

    // The customer's next messages went on, in the same conversation; the tap is not shown.
    expect(texts(await world.messagesOf(first.igsid, 3))).toEqual(['Hi! Where is my order?', 'It was due Monday', 'Order 1042']);
    expect((await world.conversationOf(first.igsid)).conversationId).toBe(conversationId);

    // Repaired, then replayed by the owner: recorded in its place, in the same conversation.
    await world.engine.models.webhookEvents.collection.updateOne({ _id: eventId } as never, { $set: { payload: asSent } });
    const replayed = await post(`/v1/parked-events/${encodeURIComponent(eventId)}/replay`);
    expect(replayed).toEqual({ status: 200, body: { eventId, outcome: 'dispatched' } });
    const shown = await world.messagesOf(first.igsid, 4, 60_000);
    expect(texts(shown)).toEqual(['Hi! Where is my order?', 'Track my order', 'It was due Monday', 'Order 1042']);
    expect(shown[1]).toMatchObject({ kind: 'postback', mid: tap.mid });
    expect((await world.conversationOf(first.igsid)).conversationId).toBe(conversationId);
    expect(await storedEvent(eventId)).toMatchObject({ status: 'recorded', conversationId, replays: 1 });
    expect((await world.inbox(`/v1/parked-events?igAccountId=${world.igAccountId}`)).body.parkedEvents).toEqual([]);

    // Replayed again: nothing is dispatched, and the answer says why.
    const again = await post(`/v1/parked-events/${encodeURIComponent(eventId)}/replay`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ type: 'EventNotParked', details: { status: 'recorded' } });
    expect(texts(await world.messagesOf(first.igsid, 4))).toHaveLength(4);
  });
});
