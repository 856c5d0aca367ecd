/**
 * A customer's message to an open conversation is recorded by the ingress itself: readable, in the same
 * conversation, with its window moved, and no signal to the conversation's workflow. The first message of a
 * conversation, and the first after a close, still go to the workflow, which opens the conversation. Real stack:
 * the Meta emulator delivers, the engine stores, the worker runs the workflows.
 */
import { createInboundActivities } from '../../src/activities/inbound';
import { makeCustomerKey } from '../../src/db/models/customer';
import { createIngressRecording } from '../../src/inbound/ingress-recording';
import { createLogger } from '../../src/logger';
import { createApiMetrics, createWorkerMetrics } from '../../src/metrics/engine-metrics';
import { createTokenCipher } from '../../src/security/token-cipher';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { getConversationStatusQuery } from '../../src/workflows/conversation';
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
    // The workflow opened the new conversation with it (it may have come while the closed run was ending, which hands
    // it to the next run as pending rather than as a signal).
    const status = await world.engine.temporal.workflow.getHandle(makeConversationWorkflowId(DEMO.igAccount.id, first.igsid)).query(getConversationStatusQuery);
    expect(status).toMatchObject({ conversationId: recorded.conversationId, state: 'open', eventsRecorded: 1 });
    expect(await world.engine.models.openConversations.findOne({ _id: makeConversationWorkflowId(DEMO.igAccount.id, first.igsid) }).lean()).toMatchObject({ conversationId: recorded.conversationId });
  });

  describe('a message and the window closing decide on one document: whichever comes first wins, never both', () => {
    /**
     * A new customer whose first message opened a conversation (through its workflow), and later messages of theirs
     * stored and not dispatched yet, each a minute after the one before.
     */
    async function openedWithLaterMessages(name: string, count = 1) {
      const created = await world.control('POST', '/ig-users', { username: name, name });
      expect(created.status).toBe(201);
      const sent = await world.customer({ kind: 'text', text: 'opens' }, name);
      await world.messagesOf(sent.igsid, 1);
      const conversationId = (await world.conversationOf(sent.igsid)).conversationId as string;
      const models = world.engine.models;
      // The workflow fetched the profile beside the first message: the later ones do not find it due.
      const customerKey = makeCustomerKey(DEMO.igAccount.id, sent.igsid);
      await world.eventually(async () => ((await models.customers.findOne({ _id: customerKey }).lean())?.profileFetchedAt ? true : undefined), 20_000, 'the profile fetched');
      const original = (await models.webhookEvents.findOne({ _id: `message:${sent.mid}` }).lean())!;
      const laters = [];
      for (let index = 1; index <= count; index += 1) {
        const mid = `${sent.mid!}-later-${index}`;
        const occurredAt = new Date(original.occurredAt.getTime() + index * 60_000);
        const payload = JSON.parse(JSON.stringify(original.payload).replaceAll(sent.mid!, mid)) as unknown;
        await models.webhookEvents.collection.insertOne({ ...original, _id: `message:${mid}` as never, eventKey: `message:${mid}`, mid, occurredAt, payload, status: 'pending', conversationId: null, recordedAt: null });
        laters.push({ mid, event: { eventKey: `message:${mid}`, igAccountId: DEMO.igAccount.id, customerIgsid: sent.igsid, occurredAt, kind: 'message' } });
      }
      const projector = createIngressRecording({ config: world.engine.config, models, logger: createLogger({ write: () => undefined }), metrics: createApiMetrics() })!;
      const { closeConversation } = createInboundActivities({
        models,
        graph: world.graph,
        cipher: createTokenCipher(world.engine.config.tokens.keyring),
        logger: createLogger({ write: () => undefined }),
        metrics: createWorkerMetrics(),
        appId: world.engine.config.meta.appId,
        profileStaleAfterMs: 60 * 60 * 1000,
      });
      const closing = { conversationId, igAccountId: DEMO.igAccount.id, igsid: sent.igsid, closedAt: sent.timestamp + WEEK_MS };
      return {
        conversationId,
        projector,
        laters,
        closeWhenTimerFires: () => closeConversation({ ...closing, onlyIfWindowPassed: true }),
        closeByManager: () => closeConversation({ ...closing, closedAt: Date.now() }),
      };
    }

    it('the message first: the close due at the old end finds the window moved, and the conversation stays open', async () => {
      const { conversationId, projector, laters, closeWhenTimerFires } = await openedWithLaterMessages('race.message.first');
      const [later] = laters;
      expect(await projector.project(later!.event)).toBe('recorded');
      const movedTo = later!.event.occurredAt.getTime();
      expect(await closeWhenTimerFires()).toEqual({ closed: false, windowClosesAt: movedTo + WEEK_MS, lastCustomerMessageAt: movedTo });
      expect(await world.engine.models.conversations.findOne({ _id: conversationId }).lean()).toMatchObject({ state: 'open' });
      expect(await world.engine.models.messages.findOne({ _id: later!.mid }).lean()).toMatchObject({ conversationId });
    });

    it('the close first: the message is not recorded into the closed conversation, and is left for the workflow', async () => {
      const { conversationId, projector, laters, closeWhenTimerFires } = await openedWithLaterMessages('race.close.first');
      const [later] = laters;
      expect(await closeWhenTimerFires()).toEqual({ closed: true });
      expect(await projector.project(later!.event)).toBe('not-projected');
      expect(await world.engine.models.messages.findOne({ _id: later!.mid }).lean()).toBeNull();
      expect(await world.engine.models.webhookEvents.findOne({ _id: later!.event.eventKey }).lean()).toMatchObject({ status: 'pending' });
      expect(await world.engine.models.openConversations.countDocuments({ conversationId })).toBe(0);
    });

    it('a projector that remembers the conversation as open still leaves the message to the workflow once it closed', async () => {
      const { conversationId, projector, laters, closeByManager } = await openedWithLaterMessages('remembered.then.closed', 2);
      const [first, second] = laters;
      expect(await projector.project(first!.event)).toBe('recorded');
      expect(await closeByManager()).toEqual({ closed: true });
      expect(await projector.project(second!.event)).toBe('not-projected');
      expect(await world.engine.models.messages.findOne({ _id: second!.mid }).lean()).toBeNull();
      const conversation = await world.engine.models.conversations.findOne({ _id: conversationId }).lean();
      expect(conversation).toMatchObject({ state: 'closed', lastCustomerMessageAt: first!.event.occurredAt });
    });

    it('a message the ingress cannot record (its stored payload damaged) is left to the workflow, which retries and parks it', async () => {
      const { projector, laters } = await openedWithLaterMessages('damaged.payload');
      const [later] = laters;
      await world.engine.models.webhookEvents.collection.updateOne({ _id: later!.event.eventKey } as never, { $set: { payload: null } });
      expect(await projector.project(later!.event)).toBe('not-projected');
      expect(await world.engine.models.messages.findOne({ _id: later!.mid }).lean()).toBeNull();
      expect(await world.engine.models.webhookEvents.findOne({ _id: later!.event.eventKey }).lean()).toMatchObject({ status: 'pending' });
    });
  });
});
