/**
 * The inbound activities on their own (DESIGN.md "activities" layer): run in MockActivityEnvironment against the
 * real database and the Meta emulator's Profile API, with events the emulator really delivered to the ingress.
 * No worker runs, so each event is applied, and each profile fetched, only when the test says so.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { RecordedInboundEvent, RecordInboundEventInput, RefreshCustomerProfileInput } from '../../src/activities/conversation-contract';
import { withFailureMapping } from '../../src/activities/failures';
import { createInboundActivities, type InboundActivities } from '../../src/activities/inbound';
import { createLogger } from '../../src/logger';
import { createWorkerMetrics } from '../../src/metrics/engine-metrics';
import { makeCustomerKey } from '../../src/db/models/customer';
import { createTokenCipher } from '../../src/security/token-cipher';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { DEMO, startInboundWorld, type InboundWorld } from '../support/inbound-world';
import { samplesOf, sampleValue } from '../support/metrics';

jest.setTimeout(120_000);

describe('inbound activities', () => {
  let world: InboundWorld;
  let activities: InboundActivities;
  const environment = new MockActivityEnvironment();
  // A registry of this file's own: no worker runs, so only the activities called here count into it.
  const metrics = createWorkerMetrics();

  beforeAll(async () => {
    // Nothing records but this test: the ingress's own recording of messages to open conversations is off.
    world = await startInboundWorld({ worker: false, engineEnv: { WEBHOOK_RECORD_OPEN_CONVERSATIONS: 'false' } });
    // Wrapped as the worker wraps them, so failures cross as the workflow sees them.
    activities = withFailureMapping(createInboundActivities({
      models: world.engine.models,
      graph: world.graph,
      cipher: createTokenCipher(world.engine.config.tokens.keyring),
      logger: createLogger({ write: () => undefined }),
      metrics,
      appId: world.engine.config.meta.appId,
      profileStaleAfterMs: 60 * 60 * 1000,
      // Short, so the slow Profile API below is given up on quickly.
      profileFetchTimeoutMs: 500,
    }));
  });

  afterEach(async () => {
    await world.control('DELETE', '/faults/profile-api');
  });

  afterAll(async () => {
    await world?.close();
  });

  /** A customer message delivered by the emulator and stored by the ingress; answers its event id. */
  async function delivered(text: string, username: string): Promise<{ eventId: string; igsid: string; mid: string }> {
    const sent = await world.customer({ kind: 'text', text }, username);
    const eventId = `message:${sent.mid}`;
    await world.eventually(async () => ((await world.engine.models.webhookEvents.findOne({ _id: eventId }).lean()) ? true : undefined), 10_000, 'the event stored');
    return { eventId, igsid: sent.igsid, mid: sent.mid! };
  }

  const record = (args: RecordInboundEventInput): Promise<RecordedInboundEvent> => environment.run(() => activities.recordInboundEvent(args));
  const refresh = (args: RefreshCustomerProfileInput): Promise<void> => environment.run(() => activities.refreshCustomerProfile(args));
  const customerOf = (igsid: string) => world.engine.models.customers.findOne({ _id: makeCustomerKey(DEMO.igAccount.id, igsid) }).lean();

  const input = (eventId: string, igsid: string, conversationId: string, firstOfConversation: boolean) => ({
    eventId,
    igAccountId: DEMO.igAccount.id,
    igsid,
    conversationId,
    workflowId: makeConversationWorkflowId(DEMO.igAccount.id, igsid),
    firstOfConversation,
  });

  it('applies an event once: a second run changes nothing and answers the same', async () => {
    const { eventId, igsid, mid } = await delivered('once only', DEMO.customers[0].username);
    const first = await record(input(eventId, igsid, 'conv-once', true));
    const second = await record(input(eventId, igsid, 'conv-once', true));
    expect(first).toMatchObject({ kind: 'message', movesWindow: true, outcome: 'recorded' });
    expect(second).toEqual({ ...first, outcome: 'recorded' });
    expect(await world.engine.models.messages.countDocuments({ _id: mid })).toBe(1);
    const conversation = await world.engine.models.conversations.findOne({ _id: 'conv-once' }).lean();
    expect(conversation?.windowClosesAt?.getTime()).toBe(first.occurredAt + 7 * 24 * 60 * 60 * 1000);
    expect((await world.engine.models.webhookEvents.findOne({ _id: eventId }).lean())?.status).toBe('recorded');
  });

  it('counts an event once when it is recorded and once when it is parked, however often it is asked; no ids or text in the labels', async () => {
    const counted = async () => {
      const samples = await samplesOf(metrics.registry);
      return {
        recorded: sampleValue(samples, 'igdm_inbound_events_recorded_total', { kind: 'message', outcome: 'recorded' }),
        parked: sampleValue(samples, 'igdm_inbound_events_parked_total', { kind: 'message' }),
      };
    };
    const before = await counted();
    const shown = await delivered('count me once', DEMO.customers[0].username);
    await record(input(shown.eventId, shown.igsid, 'conv-metrics', true));
    // A retry after a lost answer, or a sweeper's second dispatch.
    await record(input(shown.eventId, shown.igsid, 'conv-metrics', false));
    expect(await counted()).toEqual({ recorded: before.recorded + 1, parked: before.parked });

    const setAside = await delivered('park me', DEMO.customers[0].username);
    const park = () => environment.run(() => activities.parkInboundEvent({ eventId: setAside.eventId, reason: 'a test sets it aside' }));
    await park();
    await park();
    expect(await counted()).toEqual({ recorded: before.recorded + 1, parked: before.parked + 1 });
    expect((await world.engine.models.webhookEvents.findOne({ _id: setAside.eventId }).lean())?.status).toBe('parked');

    const exposition = await metrics.registry.metrics();
    for (const secret of ['count me once', 'park me', shown.igsid, shown.mid, DEMO.igAccount.id, DEMO.customers[0].username]) expect(exposition).not.toContain(secret);
  });

  it('stores a new customer without the profile and says it is due; the fetch adds it, again for each new conversation (B10)', async () => {
    const customer = DEMO.customers[1];
    const first = await delivered('hello', customer.username);
    const answer = await record(input(first.eventId, first.igsid, 'conv-b10-1', true));
    // The message is stored before anything is asked of the Profile API.
    expect(answer).toMatchObject({ outcome: 'recorded', profileDue: true });
    expect(await world.engine.models.messages.countDocuments({ _id: first.mid })).toBe(1);
    expect(await customerOf(first.igsid)).toMatchObject({ username: null, profileFetchedAt: null, profileError: null });
    await refresh({ igAccountId: DEMO.igAccount.id, igsid: first.igsid });
    expect((await customerOf(first.igsid))?.username).toBe(customer.username);

    await world.control('PATCH', `/ig-users/${customer.id}`, { username: 'anon.renamed' });
    const sameConversation = await delivered('still me', 'anon.renamed');
    // Within the same conversation and under the staleness limit: no fetch is due, the old name stays.
    expect((await record(input(sameConversation.eventId, first.igsid, 'conv-b10-1', false))).profileDue).toBe(false);
    expect((await customerOf(first.igsid))?.username).toBe(customer.username);

    const nextConversation = await delivered('new week, new chat', 'anon.renamed');
    expect((await record(input(nextConversation.eventId, first.igsid, 'conv-b10-2', true))).profileDue).toBe(true);
    await refresh({ igAccountId: DEMO.igAccount.id, igsid: first.igsid });
    const renamed = await customerOf(first.igsid);
    expect(renamed?.username).toBe('anon.renamed');
    expect(renamed?.usernameHistory.map((entry) => entry.username)).toEqual([customer.username, 'anon.renamed']);
    // The earlier conversation keeps its messages, under the same customer.
    expect(await world.engine.models.messages.countDocuments({ conversationId: 'conv-b10-1' })).toBe(2);
  });

  it('gives up on a slow Profile API after its own timeout: the failure is on the customer and may be retried', async () => {
    await world.control('POST', '/ig-users', { username: 'slow.profile', name: 'Slow Profile' });
    const sent = await delivered('are you there?', 'slow.profile');
    await world.control('PUT', '/faults/profile-api', { mode: 'slow', count: 1, hangMs: 5_000, igsid: sent.igsid });
    expect((await record(input(sent.eventId, sent.igsid, 'conv-slow', true))).profileDue).toBe(true);
    await expect(refresh({ igAccountId: DEMO.igAccount.id, igsid: sent.igsid })).rejects.toMatchObject({ type: 'TransientUpstream', nonRetryable: false });
    expect(await customerOf(sent.igsid)).toMatchObject({ username: null, profileError: 'TransientUpstream' });
    // The next attempt is served: the profile is stored and the failure cleared.
    await refresh({ igAccountId: DEMO.igAccount.id, igsid: sent.igsid });
    expect(await customerOf(sent.igsid)).toMatchObject({ username: 'slow.profile', name: 'Slow Profile', profileError: null });
  });

  it('fails at once, without retry, on a permanent refusal, and keeps it on the customer', async () => {
    await world.control('POST', '/ig-users', { username: 'refused.profile' });
    const sent = await delivered('hi', 'refused.profile');
    await world.control('PUT', '/faults/profile-api', { mode: 'refusal', refusal: 'consent_required', rate: 1, igsid: sent.igsid });
    await record(input(sent.eventId, sent.igsid, 'conv-refused', true));
    await expect(refresh({ igAccountId: DEMO.igAccount.id, igsid: sent.igsid })).rejects.toMatchObject({ type: 'ConsentRequired', nonRetryable: true });
    expect(await customerOf(sent.igsid)).toMatchObject({ username: null, profileError: 'ConsentRequired' });
    expect(await world.engine.models.messages.countDocuments({ _id: sent.mid })).toBe(1);
  });

  it('fails without retry for an event that was never stored', async () => {
    await expect(record(input('message:never-stored', 'nobody', 'conv-x', true))).rejects.toMatchObject({
      type: 'EventNotFound',
      nonRetryable: true,
    });
  });

  it('inserts a message without a mid once, under an id derived from its event, when the recording is retried after inserting it', async () => {
    const { eventId, igsid } = await delivered('a button follows', DEMO.customers[0].username);
    const stored = await world.engine.models.webhookEvents.findOne({ _id: eventId }).lean();
    const postbackKey = `postback-without-mid:${eventId}`;
    await world.engine.models.webhookEvents.collection.insertOne({
      ...stored!,
      _id: postbackKey,
      eventKey: postbackKey,
      kind: 'postback',
      mid: null,
      status: 'pending',
      payload: { sender: { id: igsid }, recipient: { id: DEMO.igAccount.id }, timestamp: stored!.occurredAt.getTime() + 1, postback: { title: 'Yes please' } },
    } as never);
    await record(input(postbackKey, igsid, 'conv-postback', false));
    // An attempt that stopped after inserting the message, before marking its event recorded.
    await world.engine.models.webhookEvents.updateOne({ _id: postbackKey }, { $set: { status: 'pending' } });
    await record(input(postbackKey, igsid, 'conv-postback', false));

    const messages = await world.engine.models.messages.find({ conversationId: 'conv-postback' }).lean();
    expect(messages.map((message) => ({ id: message._id, kind: message.kind, text: message.text }))).toEqual([{ id: `event-${postbackKey}`, kind: 'postback', text: 'Yes please' }]);
  });

  it('closes a conversation', async () => {
    await environment.run(() => activities.closeConversation({ conversationId: 'conv-once', igAccountId: DEMO.igAccount.id, igsid: 'any', closedAt: Date.UTC(2026, 10, 29) }));
    expect(await world.engine.models.conversations.findOne({ _id: 'conv-once' }).lean()).toMatchObject({ state: 'closed', closedAt: new Date(Date.UTC(2026, 10, 29)) });
  });
});
