/**
 * An edit and a reaction that Meta delivers before the message they are about, end to end: the emulator's customer
 * writes, edits twice and reacts; the webhooks come newest first, each in its own delivery, well apart, so the
 * conversation workflow records the reaction and both edits while the message is not stored yet. Once the message
 * arrives, the inbox API shows it with its newest text and the reaction (B11: out-of-order deliveries are shown as
 * the customer made them; nothing Meta delivered is lost).
 */
import { startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';

jest.setTimeout(120_000);

describe('an edit and a reaction that arrive before their message', () => {
  let world: InboundWorld;

  beforeAll(async () => {
    world = await startInboundWorld();
  });

  afterAll(async () => {
    await world?.close();
  });

  const storedEvent = (eventKey: string): Promise<Json> => world.engine.models.webhookEvents.findOne({ _id: eventKey }).lean();

  it('are held and applied once the message arrives, the newest edit winning', async () => {
    await world.control('PUT', '/webhooks/switches', { hold: true, reorder: true, batchSize: 1 });
    const message = await world.customer({ kind: 'text', text: 'Can I pick it up at 5?' });
    const mid = message.mid!;
    await world.customer({ kind: 'edit', mid, text: 'Can I pick it up at 6?' });
    await world.customer({ kind: 'edit', mid, text: 'Can I pick it up at 7?' });
    const reaction = await world.customer({ kind: 'reaction', mid, reaction: 'like' });
    // Newest first, 1.5 s apart: the reaction, the second edit, the first edit (late, older), then the message.
    await world.control('PUT', '/webhooks/switches', { hold: false, delayMs: 1_500 });
    await world.control('POST', '/webhooks/flush');
    expect((await world.control('POST', '/webhooks/wait-idle', { timeoutMs: 30_000 })).body.idle).toBe(true);

    const [shown] = await world.eventually(async () => {
      const messages = await world.messagesOf(message.igsid, 1);
      return messages[0]?.reaction && messages[0]?.text !== 'Can I pick it up at 5?' ? messages : undefined;
    }, 30_000, 'the message with its edit and reaction');
    expect(shown).toMatchObject({ mid, kind: 'text', text: 'Can I pick it up at 7?', edited: true, deleted: false, reaction: { by: 'customer', reaction: 'like', emoji: '\u{1F44D}' } });
    expect(shown.reaction.at).toBe(new Date(reaction.timestamp).toISOString());

    // They really came first: recorded (held) before the message was.
    const recordedAt = async (eventKey: string): Promise<number> => {
      const event = await world.eventually(async () => {
        const stored = await storedEvent(eventKey);
        return stored?.status === 'recorded' ? stored : undefined;
      }, 20_000, `${eventKey} recorded`);
      return new Date(event.recordedAt).getTime();
    };
    const messageRecordedAt = await recordedAt(`message:${mid}`);
    for (const key of [`edit:${mid}:2`, `edit:${mid}:1`, `reaction:${message.igsid}:${mid}:react:${reaction.timestamp}`]) {
      expect(await recordedAt(key)).toBeLessThan(messageRecordedAt);
    }
    const held: Json = await world.engine.models.earlyMessageChanges.findOne({ _id: mid }).lean();
    expect(held).toMatchObject({ edit: { text: 'Can I pick it up at 7?', editCount: 2, eventKey: `edit:${mid}:2` }, reaction: { reaction: { reaction: 'like' } } });
    expect(held.edit.settledAt).toBeInstanceOf(Date);
    expect(held.reaction.settledAt).toBeInstanceOf(Date);

    // In order from now on: a later unreact applies at once, and the message stays one message.
    await world.control('PUT', '/webhooks/switches', { reorder: false, delayMs: 0 });
    await world.customer({ kind: 'reaction', mid, action: 'unreact' });
    const unreacted = await world.eventually(async () => {
      const messages = await world.messagesOf(message.igsid, 1);
      return messages[0]?.reaction === null ? messages : undefined;
    }, 20_000, 'the unreact');
    expect(unreacted).toHaveLength(1);
    expect(unreacted[0]).toMatchObject({ mid, text: 'Can I pick it up at 7?', reaction: null });
  });
});
