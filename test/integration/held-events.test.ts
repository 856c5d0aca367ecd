/**
 * Webhooks of an account whose link expired are kept, not shown, and shown in the customer's order once it is
 * re-authenticated (A7). The real API app, worker, database and Temporal dev server; webhooks signed here over the
 * exact bytes sent, the inbox read through its API with an owner's key.
 */
import { createHmac, randomInt, randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createChannelDirectory } from '../../src/channels/directory';
import type { Models } from '../../src/db/models';
import { newLinkedAccount, type LinkStatus } from '../../src/db/models/linked-account';
import { createInboundDispatcher } from '../../src/inbound/dispatcher';
import { createApiMetrics } from '../../src/metrics/engine-metrics';
import { releaseHeldEvents } from '../../src/inbound/held-events';
import { createLogger } from '../../src/logger';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { startEngine, terminateIfRunning, type RunningEngine } from '../support/engine';
import { samplesOf, sampleValue, scrapeMetrics } from '../support/metrics';
import { pollUntil } from '../support/poll';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers and stored documents, read field by field
type Json = any;

jest.setTimeout(120_000);

const TS = 1_795_305_599_000;
const uid = (): string => randomUUID().slice(0, 8);

function messagingItem(igAccountId: string, igsid: string, mid: string, text: string, timestamp: number): Record<string, unknown> {
  return { sender: { id: igsid }, recipient: { id: igAccountId }, timestamp, message: { mid, text } };
}

describe('webhooks of an account that must be re-authenticated', () => {
  let engine: RunningEngine;
  let channelId: string;
  let apiKey: string;
  const startedWorkflows = new Set<string>();

  beforeAll(async () => {
    engine = await startEngine();
    const created = await createChannelDirectory({ models: engine.models, now: Date.now }).createChannelWithOwner({ name: 'Held shop', ownerName: 'Owner' });
    channelId = created.channel.channelId;
    apiKey = created.apiKey;
  });

  afterAll(async () => {
    for (const workflowId of startedWorkflows) await terminateIfRunning(engine.temporal, workflowId);
    await engine.stop();
  });

  async function linkAccount(status: LinkStatus): Promise<string> {
    const igAccountId = `1784${String(randomInt(1e12)).padStart(13, '0')}`;
    const account = newLinkedAccount({ igAccountId, channelId, pageId: `page-${igAccountId}`, username: `shop_${igAccountId}`, pageToken: { keyId: 'test', iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' } });
    await engine.models.linkedAccounts.create({ ...account, status });
    return igAccountId;
  }

  const setStatus = (igAccountId: string, status: LinkStatus) => engine.models.linkedAccounts.updateOne({ _id: igAccountId }, { $set: { status } });

  async function postSigned(igAccountId: string, items: Array<Record<string, unknown>>): Promise<void> {
    const body = JSON.stringify({ object: 'instagram', entry: [{ id: igAccountId, time: TS + 60_000, messaging: items }] });
    const signature = `sha256=${createHmac('sha256', engine.config.meta.appSecret).update(body).digest('hex')}`;
    const response = await fetch(`${engine.baseUrl}/webhooks/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
    expect(response.status).toBe(200);
  }

  /** A GET on the inbox API; undefined while what it names does not exist (404). */
  async function inbox(path: string): Promise<Json> {
    const response = await fetch(`${engine.baseUrl}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
    if (response.status === 404) return undefined;
    expect(response.status).toBe(200);
    return response.json();
  }

  const eventually = <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> => pollUntil(probe, what, timeoutMs);

  const statusesOf = async (igAccountId: string): Promise<string[]> =>
    (await engine.models.webhookEvents.find({ igAccountId }).sort({ occurredAt: 1 }).lean<Json[]>()).map((event) => event.status);

  async function allHeld(igAccountId: string, count: number): Promise<void> {
    await eventually(async () => {
      const statuses = await statusesOf(igAccountId);
      return statuses.length === count && statuses.every((status) => status === 'held') ? true : undefined;
    }, `${count} events held`);
  }

  async function conversationsOf(igAccountId: string): Promise<Json[]> {
    return (await inbox(`/v1/channels/${channelId}/conversations?igAccountId=${igAccountId}`)).conversations;
  }

  /** The texts of a customer's newest conversation, once there are `count`. */
  async function textsShown(igAccountId: string, igsid: string, count: number): Promise<string[]> {
    return eventually(async () => {
      const conversation = (await inbox(`/v1/customers/${igAccountId}/${igsid}`))?.conversations?.[0];
      if (!conversation) return undefined;
      const messages: Json[] = (await inbox(`/v1/conversations/${conversation.conversationId}/messages?limit=100`)).messages;
      return messages.length >= count ? messages.map((message) => message.text) : undefined;
    }, `${count} messages of ${igsid}`);
  }

  async function expectNoConversationWorkflow(igAccountId: string, igsid: string): Promise<void> {
    const workflowId = makeConversationWorkflowId(igAccountId, igsid);
    startedWorkflows.add(workflowId);
    await expect(engine.temporal.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  }

  const release = (igAccountId: string) => releaseHeldEvents({ models: engine.models, dispatcher: engine.dispatcher }, igAccountId);

  it('stores them held, shows no conversation, and the sweeper leaves them; once re-authenticated they show in the order sent', async () => {
    const heldCount = async () => sampleValue((await scrapeMetrics(engine.baseUrl)).samples, 'igdm_inbound_events_held_total', { kind: 'message' });
    const recordedCount = async () => sampleValue(await samplesOf(engine.metrics.worker.registry), 'igdm_inbound_events_recorded_total', { kind: 'message', outcome: 'recorded' });
    const [heldBefore, recordedBefore] = [await heldCount(), await recordedCount()];
    const ig = await linkAccount('reauth_required');
    const mid = () => `mid-${uid()}`;
    // Delivered newest first, in two deliveries: the customer wrote "one", "two", "three".
    await postSigned(ig, [messagingItem(ig, '1000000000000500', mid(), 'three', TS + 2_000), messagingItem(ig, '1000000000000501', mid(), 'other customer', TS + 500)]);
    await postSigned(ig, [messagingItem(ig, '1000000000000500', mid(), 'two', TS + 1_000), messagingItem(ig, '1000000000000500', mid(), 'one', TS)]);
    await allHeld(ig, 4);

    expect(await conversationsOf(ig)).toEqual([]);
    await expectNoConversationWorkflow(ig, '1000000000000500');
    await expectNoConversationWorkflow(ig, '1000000000000501');
    // However old they get, held events are not the sweeper's.
    expect(await engine.dispatcher.sweep({ olderThan: new Date(Date.now() + 60_000), staleAfterMs: 0 })).toMatchObject({ dispatched: 0, held: 0 });
    expect(await statusesOf(ig)).toEqual(['held', 'held', 'held', 'held']);
    // Operators see them held (the API's /metrics), and none recorded yet (the worker's registry).
    expect(await heldCount()).toBe(heldBefore + 4);
    expect(await recordedCount()).toBe(recordedBefore);

    await setStatus(ig, 'active');
    expect(await release(ig)).toMatchObject({ released: 4, dispatched: 4, failed: 0, held: 0 });
    expect(await textsShown(ig, '1000000000000500', 3)).toEqual(['one', 'two', 'three']);
    expect(await textsShown(ig, '1000000000000501', 1)).toEqual(['other customer']);
    await eventually(async () => ((await statusesOf(ig)).every((status) => status === 'recorded') ? true : undefined), 'every event recorded');
    expect(await release(ig)).toMatchObject({ released: 0, dispatched: 0 });
    expect(await recordedCount()).toBe(recordedBefore + 4);
    expect(await heldCount()).toBe(heldBefore + 4);
  });

  it('releases in slices, still in the order the customer sent', async () => {
    const ig = await linkAccount('reauth_required');
    const texts = ['a', 'b', 'c', 'd', 'e'];
    // One delivery, newest first.
    await postSigned(ig, texts.map((text, index) => messagingItem(ig, '1000000000000502', `mid-${uid()}`, text, TS + index * 100)).reverse());
    await allHeld(ig, texts.length);
    await setStatus(ig, 'active');
    const report = await releaseHeldEvents({ models: engine.models, dispatcher: engine.dispatcher, sliceSize: 2 }, ig);
    expect(report).toMatchObject({ released: 5, dispatched: 5, failed: 0 });
    expect(await textsShown(ig, '1000000000000502', 5)).toEqual(texts);
  });

  it('an event held by a dispatcher that read the status just before the re-authentication is not left behind', async () => {
    const ig = await linkAccount('reauth_required');
    const eventKey = `message:mid-race-${uid()}`;
    await engine.models.webhookEvents.collection.insertOne({
      _id: eventKey as never,
      eventKey,
      status: 'pending',
      kind: 'message',
      igAccountId: ig,
      customerIgsid: 'c-race',
      mid: eventKey.slice('message:'.length),
      occurredAt: new Date(TS),
      receivedAt: new Date(),
      payload: messagingItem(ig, 'c-race', eventKey.slice('message:'.length), 'caught in the middle', TS),
      problem: null,
      dispatchAttempts: 1,
      dispatchedAt: new Date(),
    });
    // The re-authentication and its release happen right after this dispatcher read 'reauth_required': the release
    // finds nothing held yet, and the event is marked held only afterwards.
    const racing = createInboundDispatcher({
      models: { ...engine.models, linkedAccounts: reauthenticatedAfterFirstRead(engine.models, async () => {
        await setStatus(ig, 'active');
        expect(await release(ig)).toMatchObject({ released: 0 });
      }) },
      temporal: engine.temporal,
      taskQueue: engine.config.temporal.taskQueue,
      logger: createLogger({ write: () => undefined }),
      metrics: createApiMetrics(),
    });

    expect(await racing.dispatch([{ eventKey, igAccountId: ig, customerIgsid: 'c-race', occurredAt: new Date(TS), kind: 'message', mid: null }], { claimed: true })).toMatchObject({ held: 0, dispatched: 1 });
    expect(await textsShown(ig, 'c-race', 1)).toEqual(['caught in the middle']);
  });

  it('keeps dispatching the events of an account whose messages access is off (only its sends stop)', async () => {
    const ig = await linkAccount('messages_access_off');
    await postSigned(ig, [messagingItem(ig, '1000000000000503', `mid-${uid()}`, 'still here', TS)]);
    expect(await textsShown(ig, '1000000000000503', 1)).toEqual(['still here']);
  });

  it('a release after the account was unlinked marks its held events unlinked', async () => {
    const ig = await linkAccount('reauth_required');
    await postSigned(ig, [messagingItem(ig, '1000000000000504', `mid-${uid()}`, 'too late', TS)]);
    await allHeld(ig, 1);
    await setStatus(ig, 'unlinked');
    expect(await release(ig)).toMatchObject({ released: 1, unlinked: 1, dispatched: 0 });
    expect(await statusesOf(ig)).toEqual(['unlinked']);
    await expectNoConversationWorkflow(ig, '1000000000000504');
  });
});

/**
 * The linked accounts model, with `onFirstRead` run once after the first read of statuses has been answered and
 * before the dispatcher gets the answer: a re-authentication landing between the two.
 */
function reauthenticatedAfterFirstRead(models: Models, onFirstRead: () => Promise<void>): Models['linkedAccounts'] {
  let fired = false;
  const find = (filter: Record<string, unknown>, projection: Record<string, unknown>) => ({
    lean: async () => {
      const answer = await models.linkedAccounts.find(filter, projection).lean();
      if (!fired) {
        fired = true;
        await onFirstRead();
      }
      return answer;
    },
  });
  return Object.assign(Object.create(models.linkedAccounts) as object, { find }) as Models['linkedAccounts'];
}
