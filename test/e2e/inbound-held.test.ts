/**
 * A link that expired, end to end (A7): while the account must be re-authenticated, the emulator's customers write
 * and Meta's signed webhooks arrive (late and out of order), the engine keeps them and shows nothing; once the
 * account is active again and its held events are released, the inbox shows them in the order the customer wrote.
 */
import { releaseHeldEvents } from '../../src/inbound/held-events';
import { DEMO, startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';

jest.setTimeout(120_000);

describe('webhooks while the link must be re-authenticated', () => {
  let world: InboundWorld;

  beforeAll(async () => {
    world = await startInboundWorld();
  });

  afterAll(async () => {
    await world?.close();
  });

  const setStatus = (status: 'active' | 'reauth_required') => world.engine.models.linkedAccounts.updateOne({ _id: world.igAccountId }, { $set: { status } });

  it('are kept, not shown, through sweeper rounds; after re-authentication they show in the order written', async () => {
    await setStatus('reauth_required');
    // Newest first, one event per delivery.
    await world.control('PUT', '/webhooks/switches', { hold: true, reorder: true, batchSize: 1 });
    const texts = ['are you open?', 'hello??', 'I will come by at 5'];
    const sent = [];
    for (const text of texts) sent.push(await world.customer({ kind: 'text', text }));
    await world.control('PUT', '/webhooks/switches', { hold: false });
    await world.control('POST', '/webhooks/flush');
    expect((await world.control('POST', '/webhooks/wait-idle', { timeoutMs: 30_000 })).body.idle).toBe(true);

    const held = await world.eventually(async () => {
      const events: Json[] = await world.engine.models.webhookEvents.find({ igAccountId: DEMO.igAccount.id, kind: 'message' }).lean();
      return events.length === texts.length && events.every((event) => event.status === 'held') ? events : undefined;
    }, 20_000, 'the events held');
    expect(held.map((event) => event.mid).sort()).toEqual(sent.map((message) => message.mid).sort());
    // A few sweeper rounds (one a second here) later, still nothing shown.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await world.inbox(`/v1/customers/${DEMO.igAccount.id}/${sent[0]!.igsid}`)).status).toBe(404);
    expect((await world.inbox(`/v1/channels/${world.channelId}/conversations`)).body.conversations).toEqual([]);

    await setStatus('active');
    const report = await releaseHeldEvents({ models: world.engine.models, dispatcher: world.engine.dispatcher }, DEMO.igAccount.id);
    expect(report).toMatchObject({ released: 3, dispatched: 3, failed: 0 });
    const shown = await world.messagesOf(sent[0]!.igsid, texts.length);
    expect(shown.map((message) => message.text)).toEqual(texts);
    expect(shown.map((message) => message.mid)).toEqual(sent.map((message) => message.mid));

    // Active again: the next message goes straight through, after the released ones.
    await world.control('PUT', '/webhooks/switches', { reorder: false });
    const next = await world.customer({ kind: 'text', text: 'thanks!' });
    expect((await world.messagesOf(next.igsid, texts.length + 1)).map((message) => message.text)).toEqual([...texts, 'thanks!']);
  });
});
