/**
 * A customer's message to an open conversation is recorded by the ingress itself: readable, in the same
 * conversation, with its window moved, and no signal to the conversation's workflow. The first message of a
 * conversation, and the first after a close, still go to the workflow, which opens the conversation. Real stack:
 * the Meta emulator delivers, the engine stores, the worker runs the workflows.
 */
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { DEMO, startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';
import { signalledEventIds } from '../support/signals';

jest.setTimeout(120_000);

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

describe('messages to open conversations, recorded by the ingress', () => {
  let world: InboundWorld;

  beforeAll(async () => {
    world = await startInboundWorld();
  });

  afterAll(async () => {
    await world?.close();
  });

  const username = DEMO.customers[1].username;
  const signalledOf = async (igsid: string) => signalledEventIds(await world.engine.temporal.workflow.getHandle(makeConversationWorkflowId(DEMO.igAccount.id, igsid)).fetchHistory());
  const eventOf = (mid: string) => world.engine.models.webhookEvents.findOne({ _id: `message:${mid}` }).lean();

  it('records the later messages of an open conversation without its workflow, in order, with the window moved', async () => {
    const first = await world.customer({ kind: 'text', text: 'first, opens the conversation' }, username);
    const [opened] = await world.messagesOf(first.igsid, 1);
    const conversationId = (await world.conversationOf(first.igsid)).conversationId as string;

    const later: Array<{ mid?: string; timestamp: number }> = [];
    for (const text of ['second', 'third', 'fourth']) later.push(await world.customer({ kind: 'text', text }, username));
    const messages = await world.messagesOf(first.igsid, 4);
    expect(messages.map((message: Json) => message.text)).toEqual([opened!.text, 'second', 'third', 'fourth']);

    for (const sent of later) expect(await eventOf(sent.mid!)).toMatchObject({ status: 'recorded', conversationId });
    // Only the first message went to the workflow.
    expect(await signalledOf(first.igsid)).toEqual([`message:${first.mid}`]);
    const conversation = await world.engine.models.conversations.findOne({ _id: conversationId }).lean();
    expect(conversation?.windowClosesAt?.getTime()).toBe(later.at(-1)!.timestamp + WEEK_MS);
    expect(conversation?.lastCustomerMessageAt?.getTime()).toBe(later.at(-1)!.timestamp);
  });

  it('hands the first message after a close to the workflow, which opens the next conversation with it', async () => {
    const first = await world.customer({ kind: 'text', text: 'before the close' }, username);
    await world.eventually(async () => ((await eventOf(first.mid!))?.status === 'recorded' ? true : undefined), 20_000, 'the message recorded');
    const before = (await world.conversationOf(first.igsid)).conversationId as string;
    const closed = await fetch(`${world.engine.baseUrl}/v1/conversations/${before}/close`, { method: 'POST', headers: { authorization: `Bearer ${world.apiKey}` } });
    expect(closed.status).toBe(200);
    expect(await world.engine.models.openConversations.countDocuments({ conversationId: before })).toBe(0);

    const after = await world.customer({ kind: 'text', text: 'after the close' }, username);
    const recorded = await world.eventually(async () => {
      const event = await eventOf(after.mid!);
      return event?.status === 'recorded' ? event : undefined;
    }, 20_000, 'the message after the close recorded');
    expect(recorded.conversationId).not.toBe(before);
    expect(await signalledOf(first.igsid)).toContain(`message:${after.mid}`);
    expect(await world.engine.models.openConversations.findOne({ _id: makeConversationWorkflowId(DEMO.igAccount.id, first.igsid) }).lean()).toMatchObject({ conversationId: recorded.conversationId });
  });
});
