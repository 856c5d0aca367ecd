/**
 * The sweeper hands over what the dispatch after the answer did not: events nobody claimed, and events claimed by a
 * dispatcher that stopped before signalling them (a crashed API replica). Real database and Temporal dev server;
 * no worker, so what is checked is the signal in the workflow's history.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { newLinkedAccount } from '../../src/db/models/linked-account';
import { startEngine, terminateIfRunning, type RunningEngine } from '../support/engine';
import { signalledEventIds } from '../support/signals';

describe('sweeper', () => {
  let engine: RunningEngine;
  const igAccountId = `ig-sweep-${Date.now()}`;
  const started: string[] = [];

  beforeAll(async () => {
    engine = await startEngine({ worker: false });
    await engine.models.linkedAccounts.create(
      newLinkedAccount({ igAccountId, channelId: 'channel-sweep', pageId: 'page-sweep', username: 'sweep.shop', pageToken: { keyId: 'k1', iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' } }),
    );
  });

  afterAll(async () => {
    for (const workflowId of started) await terminateIfRunning(engine.temporal, workflowId);
    await engine.stop();
  });

  async function storeEvent(key: string, igsid: string, fields: Record<string, unknown>): Promise<void> {
    const at = new Date();
    await engine.models.webhookEvents.collection.insertOne({
      _id: key as never,
      eventKey: key,
      status: 'pending',
      kind: 'message',
      igAccountId,
      customerIgsid: igsid,
      mid: key,
      occurredAt: at,
      receivedAt: new Date(at.getTime() - 60_000),
      payload: {},
      problem: null,
      dispatchAttempts: 0,
      ...fields,
    });
  }

  async function signalledEventIdsOf(igsid: string): Promise<string[]> {
    const workflowId = makeConversationWorkflowId(igAccountId, igsid);
    started.push(workflowId);
    const history = await engine.temporal.workflow.getHandle(workflowId).fetchHistory();
    return signalledEventIds(history);
  }

  it('dispatches unclaimed events and stale claims, and leaves fresh claims to their dispatcher', async () => {
    await storeEvent('message:unclaimed', 'c-1', { dispatchedAt: null });
    await storeEvent('message:stale-claim', 'c-2', { dispatchedAt: new Date(Date.now() - 10 * 60_000), dispatchAttempts: 1 });
    await storeEvent('message:fresh-claim', 'c-3', { dispatchedAt: new Date(), dispatchAttempts: 1 });

    const report = await engine.dispatcher.sweep();
    expect(report).toEqual({ dispatched: 2, failed: 0, unlinked: 0, held: 0, ownEchoes: 0 });

    expect(await signalledEventIdsOf('c-1')).toEqual(['message:unclaimed']);
    expect(await signalledEventIdsOf('c-2')).toEqual(['message:stale-claim']);
    const fresh = engine.temporal.workflow.getHandle(makeConversationWorkflowId(igAccountId, 'c-3'));
    await expect(fresh.describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    const stale = await engine.models.webhookEvents.findOne({ _id: 'message:stale-claim' }).lean();
    expect(stale?.dispatchAttempts).toBe(2);
    expect(stale?.dispatchedAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it("records the echo of a reply already sent without signalling, and hands an unsettled reply's echo to the workflow", async () => {
    const reply = (id: string, status: string) => ({
      _id: id, messageId: id, conversationId: 'conversation-echo', channelId: 'channel-sweep', igAccountId, igsid: 'c-echo', direction: 'outbound', senderType: 'manager', kind: 'text',
      text: 'thanks', attachments: [], story: null, replyToMid: null, sentAt: new Date(), receivedAt: new Date(), status, deletedAt: null, editCount: 0, reaction: null, error: null,
    });
    await engine.models.messages.collection.insertMany([reply('reply-sent', 'sent'), reply('reply-sending', 'sending')] as never[]);
    await engine.models.outboundMids.collection.insertMany([{ _id: 'mid-sent', messageId: 'reply-sent' }, { _id: 'mid-sending', messageId: 'reply-sending' }] as never[]);
    await storeEvent('echo:mid-sent', 'c-echo', { kind: 'echo', mid: 'mid-sent', dispatchedAt: null });
    await storeEvent('echo:mid-sending', 'c-echo', { kind: 'echo', mid: 'mid-sending', dispatchedAt: null });

    const report = await engine.dispatcher.sweep();
    expect(report).toEqual({ dispatched: 1, failed: 0, unlinked: 0, held: 0, ownEchoes: 1 });
    expect(await engine.models.webhookEvents.findOne({ _id: 'echo:mid-sent' }).lean()).toMatchObject({ status: 'recorded', conversationId: 'conversation-echo' });
    expect(await signalledEventIdsOf('c-echo')).toEqual(['echo:mid-sending']);
  });
});
