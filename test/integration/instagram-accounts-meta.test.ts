/**
 * The linked accounts API with everything real around it: the Meta emulator's demo account linked through the real
 * OAuth flow, a worker, the Temporal dev server. A settings change reaches the inbound path within seconds; an
 * unlink removes the Page's webhook subscription at Meta, ends the account's workflow, and stands when Meta refuses
 * because the Page token died.
 */
import { DEMO } from '../../emulator/seed';
import { createAccountWorkflows } from '../../src/linking/account-workflows';
import { claimRepresentativeIfNone } from '../../src/linking/linked-accounts';
import { makeAccountWorkflowId } from '../../src/temporal/names';
import type { LinkStatusView } from '../../src/workflows/account-lifecycle';
import { terminateIfRunning } from '../support/engine';
import { startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';

jest.setTimeout(120_000);

/** How long the worker may keep an account's link (and settings) before reading it again, plus a margin. */
const ACCOUNT_CACHE_WAIT_MS = 5_100;

describe('linked accounts with Meta', () => {
  let world: InboundWorld;
  const accountPath = (): string => `/v1/channels/${world.channelId}/instagram/accounts/${world.igAccountId}`;
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${world.engine.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${world.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };
  const subscribedApps = async (): Promise<Record<string, unknown>> => {
    const { body } = await world.control('GET', '/state');
    return (body.pages as Json[]).find((page) => page.id === DEMO.page.id).subscribedApps;
  };

  beforeAll(async () => {
    world = await startInboundWorld();
    await claimRepresentativeIfNone(world.engine.models, world.channelId, world.igAccountId);
    const account = await world.engine.models.linkedAccounts.findOne({ _id: world.igAccountId }).lean();
    const workflows = createAccountWorkflows({ temporal: world.engine.temporal, taskQueue: world.engine.config.temporal.taskQueue, reauthPeriodDays: world.engine.config.tokens.reauthPeriodDays });
    await workflows.linked({ igAccountId: world.igAccountId, channelId: world.channelId, linkedAt: account!.linkedAt.getTime(), tokenExpiresAt: null, linkedByFacebookUserId: DEMO.user.id });
  });

  afterAll(async () => {
    if (world) await terminateIfRunning(world.engine.temporal, makeAccountWorkflowId(world.igAccountId));
    await world?.close();
  });

  it('skips story mentions a few seconds after an owner turns them off (A11)', async () => {
    const opened = await world.customer({ kind: 'story_mention' });
    await world.messagesOf(opened.igsid, 1);

    const changed = await call('PATCH', accountPath(), { settings: { openOnStoryMention: false } });
    expect(changed.status).toBe(200);
    expect(changed.body.account).toMatchObject({ representative: true, settings: { openOnStoryMention: false, openOnPostShare: true }, status: { state: 'linked' } });
    await new Promise((resolve) => setTimeout(resolve, ACCOUNT_CACHE_WAIT_MS));

    const skipped = await world.customer({ kind: 'story_mention' });
    const event = await world.eventually(async () => {
      const stored = await world.engine.models.webhookEvents.findOne({ _id: `message:${skipped.mid}` }).lean();
      return stored?.status === 'skipped' ? stored : undefined;
    }, 20_000, 'the story mention skipped');
    expect(event.skipReason).toMatch(/story mentions do not open conversations/);
    expect(await world.engine.models.messages.countDocuments({ _id: skipped.mid })).toBe(0);
    expect((await call('PATCH', accountPath(), { settings: { openOnStoryMention: true } })).status).toBe(200);
  });

  it("unlinks: Meta stops the Page's webhooks, the account's workflow ends, the conversations stay readable, replies are refused", async () => {
    const customer = await world.customer({ kind: 'text', text: 'before the unlink' });
    const conversation = await world.conversationOf(customer.igsid);
    expect(Object.keys(await subscribedApps())).toContain(world.engine.config.meta.appId);

    const unlinked = await call('DELETE', accountPath());
    expect(unlinked.status).toBe(200);
    expect(unlinked.body).toMatchObject({ account: { representative: false, status: { state: 'unlinked', reason: 'by_owner' } }, webhookSubscription: { outcome: 'removed' } });
    expect(Object.keys(await subscribedApps())).not.toContain(world.engine.config.meta.appId);
    const ended: LinkStatusView = await world.engine.temporal.workflow.getHandle(makeAccountWorkflowId(world.igAccountId)).result();
    expect(ended).toMatchObject({ status: 'unlinked', reason: 'by_owner' });

    expect((await call('GET', `/v1/conversations/${conversation.conversationId}/messages`)).body.messages.map((m: Json) => m.text)).toContain('before the unlink');
    const reply = await call('POST', `/v1/conversations/${conversation.conversationId}/messages`, { text: 'are you there?' });
    expect(reply.status).toBe(409);
    expect(reply.body.error.type).toBe('AccountNotActive');

    const again = await call('DELETE', accountPath());
    expect(again.status).toBe(200);
    expect(again.body.account).toEqual(unlinked.body.account);
  });

  it('stands when Meta refuses to remove the subscription because the Page token died', async () => {
    // Linked again by hand (the linking flow's part), then the owner's Facebook password changes: every token dies.
    await world.graph.subscribeApp(DEMO.page.id, world.pageToken, ['messages']);
    await world.engine.models.linkedAccounts.updateOne({ _id: world.igAccountId }, { $set: { status: 'active', statusReason: null } });
    expect((await world.control('POST', `/fb-users/${DEMO.user.id}/password`, { password: 'changed-password' })).status).toBe(200);

    const unlinked = await call('DELETE', accountPath());
    expect(unlinked.status).toBe(200);
    expect(unlinked.body).toMatchObject({
      account: { status: { state: 'unlinked', reason: 'by_owner' } },
      webhookSubscription: { outcome: 'not_removed', message: expect.stringContaining('the Page token no longer works') },
    });
    expect((await world.engine.models.linkedAccounts.findOne({ _id: world.igAccountId }).lean())!.status).toBe('unlinked');
  });
});
