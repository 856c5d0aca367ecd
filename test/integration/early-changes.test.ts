/**
 * Edits and reactions that come before their message (src/inbound/early-changes.ts), against the real database:
 * held, then applied by whichever writer comes second, in every order; the newest change by Meta's time wins; and the
 * race of the two writers, both played step by step (the message stored between the change's look-up and its hold)
 * and run concurrently many times.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectDatabase } from '../../src/db/connection';
import { insertIfAbsent } from '../../src/db/insert-if-absent';
import { createModels, ensureIndexes, type Models } from '../../src/db/models';
import type { Message, MessageReaction } from '../../src/db/models/message';
import { createEarlyChanges, type EarlyChanges, type MessageEditChange, type MessageReactionChange } from '../../src/inbound/early-changes';
import { testConfig } from '../support/engine';

jest.setTimeout(120_000);

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const uid = (): string => randomUUID().slice(0, 8);

describe('edits and reactions that come before their message', () => {
  let database: Connection;
  let models: Models;
  let changes: EarlyChanges;

  beforeAll(async () => {
    database = await connectDatabase({ uri: testConfig().mongodb.uri });
    models = createModels(database);
    await ensureIndexes(models);
    changes = createEarlyChanges({ models });
  });

  afterAll(async () => {
    await database?.close();
  });

  function customerMessage(mid: string, text: string | null = 'original', extra: Partial<Message> = {}): Message {
    return {
      _id: mid,
      messageId: mid,
      mid,
      conversationId: 'conv-early',
      channelId: 'channel-early',
      igAccountId: 'ig-early',
      igsid: 'igsid-early',
      direction: 'inbound',
      senderType: 'customer',
      kind: 'text',
      text,
      attachments: [],
      story: null,
      replyToMid: null,
      sentAt: new Date(T0),
      receivedAt: new Date(T0),
      status: 'received',
      deletedAt: null,
      editCount: 0,
      editedAt: null,
      reaction: null,
      reactionAt: null,
      error: null,
      ...extra,
    };
  }

  /** What the inbound activity does when a message arrives: store it once, then apply what came before it. */
  async function storeMessage(message: Message, writer: EarlyChanges = changes): Promise<void> {
    await insertIfAbsent(models.messages, { ...message });
    await writer.applyHeldChanges(message.mid!);
  }

  const edit = (mid: string, text: string, editCount: number, atOffset: number): MessageEditChange => ({ mid, text, editCount, at: new Date(T0 + atOffset), eventKey: `edit:${mid}:${editCount}` });
  const love = (at: number): MessageReaction => ({ by: 'customer', reaction: 'love', emoji: '\u2764\ufe0f', at: new Date(at) });
  const react = (mid: string, atOffset: number): MessageReactionChange => ({ mid, reaction: love(T0 + atOffset), at: new Date(T0 + atOffset), eventKey: `reaction:c:${mid}:react:${T0 + atOffset}` });
  const unreact = (mid: string, atOffset: number): MessageReactionChange => ({ mid, reaction: null, at: new Date(T0 + atOffset), eventKey: `reaction:c:${mid}:unreact:${T0 + atOffset}` });
  const messageOf = (mid: string) => models.messages.findOne({ _id: mid }).lean<Message>();
  const heldFor = (mid: string) => models.earlyMessageChanges.findOne({ _id: mid }).lean();

  it('holds an edit and a reaction that come first, and applies both when the message is stored', async () => {
    const mid = `mid-${uid()}`;
    expect(await changes.recordEdit(edit(mid, 'corrected', 1, 2_000))).toBe('held');
    expect(await changes.recordReaction(react(mid, 3_000))).toBe('held');
    expect(await heldFor(mid)).toMatchObject({ edit: { text: 'corrected', editCount: 1, settledAt: null }, reaction: { reaction: { reaction: 'love' }, settledAt: null } });

    await storeMessage(customerMessage(mid));
    expect(await messageOf(mid)).toMatchObject({ text: 'corrected', editCount: 1, editedAt: new Date(T0 + 2_000), reaction: { reaction: 'love', emoji: '\u2764\ufe0f' }, reactionAt: new Date(T0 + 3_000) });
    // Kept as the record of what came early, marked settled.
    const held = await heldFor(mid);
    expect(held?.edit?.settledAt).toBeInstanceOf(Date);
    expect(held?.reaction?.settledAt).toBeInstanceOf(Date);

    // A second delivery of the message, or a retry of the attempt that stored it, changes nothing.
    await storeMessage(customerMessage(mid, 'original again'));
    expect(await messageOf(mid)).toMatchObject({ text: 'corrected', editCount: 1, reaction: { reaction: 'love' } });
  });

  it('keeps the newest edit and reaction by Meta\'s time, whatever order they come and are applied in', async () => {
    const mid = `mid-${uid()}`;
    // Before the message: the second edit, then the first (late); a react, then its unreact, then the react again (late).
    await changes.recordEdit(edit(mid, 'second edit', 2, 5_000));
    await changes.recordEdit(edit(mid, 'first edit', 1, 4_000));
    await changes.recordReaction(unreact(mid, 7_000));
    await changes.recordReaction(react(mid, 6_000));
    expect(await heldFor(mid)).toMatchObject({ edit: { text: 'second edit', editCount: 2 }, reaction: { reaction: null, at: new Date(T0 + 7_000) } });

    await storeMessage(customerMessage(mid));
    expect(await messageOf(mid)).toMatchObject({ text: 'second edit', editCount: 2, reaction: null, reactionAt: new Date(T0 + 7_000) });

    // After the message: older ones delivered again late change nothing; a newer one applies.
    await changes.recordEdit(edit(mid, 'first edit', 1, 4_000));
    await changes.recordReaction(react(mid, 6_000));
    expect(await messageOf(mid)).toMatchObject({ text: 'second edit', reaction: null });
    await changes.recordEdit(edit(mid, 'third edit', 3, 8_000));
    await changes.recordReaction(react(mid, 9_000));
    expect(await messageOf(mid)).toMatchObject({ text: 'third edit', editCount: 3, reaction: { reaction: 'love' }, reactionAt: new Date(T0 + 9_000) });
  });

  it('applies an edit and a reaction that come after their message at once, without holding them', async () => {
    const mid = `mid-${uid()}`;
    await storeMessage(customerMessage(mid));
    expect(await changes.recordEdit(edit(mid, 'fixed', 1, 1_000))).toBe('applied');
    expect(await changes.recordReaction(react(mid, 2_000))).toBe('applied');
    expect(await messageOf(mid)).toMatchObject({ text: 'fixed', editCount: 1, reaction: { reaction: 'love' } });
    expect(await heldFor(mid)).toBeNull();
  });

  it('never fills an unsent message again with an edit that came before it', async () => {
    const mid = `mid-${uid()}`;
    await changes.recordEdit(edit(mid, 'edited, then unsent', 1, 1_000));
    // The unsend's placeholder is stored first, then the message itself arrives (and finds the placeholder).
    await storeMessage(customerMessage(mid, null, { deletedAt: new Date(T0 + 2_000) }));
    await storeMessage(customerMessage(mid));
    expect(await messageOf(mid)).toMatchObject({ text: null, editCount: 0 });
    expect((await heldFor(mid))?.edit?.settledAt).toBeInstanceOf(Date);
  });

  it('reads an edit number over a message edited before the edit time was kept', async () => {
    const mid = `mid-${uid()}`;
    // As stored by an earlier version: edited twice, no editedAt field at all.
    const legacy: Record<string, unknown> = { ...customerMessage(mid, 'edited twice', { editCount: 2 }) };
    delete legacy.editedAt;
    delete legacy.reactionAt;
    await insertIfAbsent(models.messages, legacy);
    await changes.recordEdit(edit(mid, 'first edit, late', 1, 1_000));
    expect(await messageOf(mid)).toMatchObject({ text: 'edited twice', editCount: 2 });
    await changes.recordEdit(edit(mid, 'third edit', 3, 3_000));
    expect(await messageOf(mid)).toMatchObject({ text: 'third edit', editCount: 3, editedAt: new Date(T0 + 3_000) });
  });

  it("applies a reaction to the engine's reply once the reply's mid is known", async () => {
    const mid = `mid-reply-${uid()}`;
    const messageId = `reply-${uid()}`;
    // The reply is stored without a mid until Meta answers (or its echo settles it).
    await insertIfAbsent(models.messages, { ...customerMessage(messageId, 'our answer', { direction: 'outbound', senderType: 'manager', status: 'sending' }), _id: messageId, messageId, mid: undefined });
    expect(await changes.recordReaction(react(mid, 1_000))).toBe('held');
    await insertIfAbsent(models.outboundMids, { _id: mid, messageId });
    await changes.applyHeldChanges(mid);
    expect(await messageOf(messageId)).toMatchObject({ text: 'our answer', reaction: { reaction: 'love' } });
  });

  it('applies an edit whose message is stored between its look-up and its hold (its second look finds it)', async () => {
    const mid = `mid-${uid()}`;
    // The change's writer looks the message up and finds nothing; before it holds the edit, the message's writer
    // stores the message and reads what is held: nothing yet. Only the change's second look can find the message.
    let raced = false;
    const racingMessages = new Proxy(models.messages, {
      get(target, property, receiver) {
        if (property !== 'findOne' || raced) return Reflect.get(target, property, receiver) as unknown;
        const findOne = target.findOne.bind(target) as (...args: unknown[]) => { lean(): Promise<unknown> };
        return (...args: unknown[]) => ({
          lean: async () => {
            const found = await findOne(...args).lean();
            raced = true;
            await storeMessage(customerMessage(mid));
            expect(await heldFor(mid)).toBeNull();
            return found;
          },
        });
      },
    });
    const racingWriter = createEarlyChanges({ models: { ...models, messages: racingMessages } });
    expect(await racingWriter.recordEdit(edit(mid, 'raced', 1, 1_000))).toBe('applied');
    expect(raced).toBe(true);
    expect(await messageOf(mid)).toMatchObject({ text: 'raced', editCount: 1 });
    expect((await heldFor(mid))?.edit?.settledAt).toBeInstanceOf(Date);
  });

  it('applies the change in every race of the two writers, run concurrently', async () => {
    // Two writers as two workers would be: separate instances, racing on the same database.
    const messageWriter = createEarlyChanges({ models });
    const changeWriter = createEarlyChanges({ models });
    const rounds = Array.from({ length: 25 }, (_, round) => ({ round, mid: `mid-race-${round}-${uid()}` }));
    await Promise.all(
      rounds.map(async ({ round, mid }) => {
        const change = round % 2 === 0 ? changeWriter.recordEdit(edit(mid, `raced ${round}`, 1, 1_000)) : changeWriter.recordReaction(react(mid, 1_000));
        await Promise.all([change, storeMessage(customerMessage(mid), messageWriter)]);
      }),
    );
    for (const { round, mid } of rounds) {
      const message = await messageOf(mid);
      if (round % 2 === 0) expect(message).toMatchObject({ text: `raced ${round}`, editCount: 1 });
      else expect(message).toMatchObject({ text: 'original', reaction: { reaction: 'love' } });
    }
  });
});
