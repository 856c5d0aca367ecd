/**
 * Meta's callbacks end to end: the demo user removes the app in the emulator, which posts the signed deauthorize
 * callback to the real API; the engine unlinks the account, its lifecycle workflow on the real Temporal server ends,
 * the owner is told, and the conversation stays readable while new messages no longer arrive. Then the user asks for
 * their data to be deleted: the emulator gets the engine's confirmation code, whose status page serves the request.
 */
import { createAccountWorkflows } from '../../src/linking/account-workflows';
import type { LinkedAccount } from '../../src/db/models/linked-account';
import { makeAccountWorkflowId } from '../../src/temporal/names';
import { terminateIfRunning } from '../support/engine';
import { DEMO, startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';

jest.setTimeout(120_000);

describe("Meta's callbacks, from the emulator to the engine", () => {
  let world: InboundWorld;
  let appId: string;

  beforeAll(async () => {
    world = await startInboundWorld();
    appId = world.engine.config.meta.appId;
  });

  afterAll(async () => {
    if (world) await terminateIfRunning(world.engine.temporal, makeAccountWorkflowId(DEMO.igAccount.id));
    await world?.close();
  });

  const account = async (): Promise<LinkedAccount> => (await world.engine.models.linkedAccounts.findOne({ _id: DEMO.igAccount.id }).lean<LinkedAccount>())!;

  it('removing the app unlinks the account: its workflow ends, the owner is told, the conversation stays readable', async () => {
    const { igsid } = await world.customer({ kind: 'text', text: 'Is the blue one in stock?' });
    await world.messagesOf(igsid, 1);
    const linked = await account();
    const workflows = createAccountWorkflows({ temporal: world.engine.temporal, taskQueue: world.engine.config.temporal.taskQueue, reauthPeriodDays: 60 });
    await workflows.linked({ igAccountId: DEMO.igAccount.id, channelId: world.channelId, linkedAt: linked.linkedAt.getTime(), tokenExpiresAt: null, linkedByFacebookUserId: DEMO.user.id });

    const removed = await world.control('POST', `/fb-users/${DEMO.user.id}/remove-app`, { appId });
    expect(removed.status).toBe(200);
    expect(removed.body.deauthorize).toMatchObject({ delivered: true, status: 200 });

    expect(await account()).toMatchObject({ status: 'unlinked', statusReason: { reason: 'deauthorized' } });
    const result = await world.engine.temporal.workflow.getHandle(makeAccountWorkflowId(DEMO.igAccount.id)).result();
    expect(result).toMatchObject({ status: 'unlinked', reason: 'deauthorized' });
    const shown = await world.inbox(`/v1/channels/${world.channelId}/instagram/accounts/${DEMO.igAccount.id}`);
    expect(shown.body.account).toMatchObject({ representative: false, status: { state: 'unlinked', reason: 'deauthorized', message: expect.stringContaining('removed this app') } });
    const notices = await world.inbox('/v1/me/notices');
    expect(notices.body.notices.map((notice: Json) => [notice.kind, notice.facts.igAccountId])).toEqual([['unlinked_by_facebook', DEMO.igAccount.id]]);

    const conversation = await world.conversationOf(igsid);
    const messages = await world.inbox(`/v1/conversations/${conversation.conversationId}/messages`);
    expect(messages.body.messages.map((message: Json) => message.text)).toEqual(['Is the blue one in stock?']);
    // Removing the app also ended its Page subscription: Meta sends the engine nothing more for the account.
    const { status, body } = await world.control('POST', `/ig-accounts/${DEMO.igAccount.id}/inbound`, { from: { username: DEMO.customers[0].username }, kind: 'text', text: 'Hello?' });
    expect(status).toBe(201);
    expect(body.queuedFor).toBe(0);
  });

  it("a data deletion request gets the engine's confirmation code, its status page, and the Page token is gone", async () => {
    const { status, body } = await world.control('POST', `/fb-users/${DEMO.user.id}/data-deletion`, { appId });
    expect(status).toBe(200);
    expect(body).toMatchObject({ delivered: true, status: 200, confirmation_code: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(body.url).toBe(`${world.engine.config.api.publicBaseUrl}/meta/data-deletion/${body.confirmation_code}`);

    const page = await fetch(body.url as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(body.confirmation_code);
    expect(await account()).toMatchObject({ status: 'unlinked', pageToken: null });
    // Deauthorize told the owner already: no second notice.
    expect((await world.inbox('/v1/me/notices')).body.notices).toHaveLength(1);
  });
});
