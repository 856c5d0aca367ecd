/**
 * Linking end to end: an owner starts Facebook Login through the engine's API, signs in on the Meta emulator's
 * dialog (its HTML forms, as a browser), comes back to the engine's callback, and links the accounts of their
 * choice. Then the account's lifecycle workflow runs, its Page is subscribed, and its customers reach the inbox.
 */
import { randomUUID } from 'node:crypto';
import type { LinkedAccount } from '../../src/db/models/linked-account';
import { createFacebookLoginFlow, LOGIN_TTL_MS } from '../../src/linking/facebook-login';
import { createLoginStateSigner } from '../../src/linking/login-state';
import { REQUIRED_SCOPES } from '../../src/linking/permissions';
import { createTokenCipher } from '../../src/security/token-cipher';
import { makeAccountWorkflowId } from '../../src/temporal/names';
import { getLinkStatusQuery, tokenRevokedSignal } from '../../src/workflows/account-lifecycle';
import { startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';
import { dialogRedirect, loginThroughDialog } from '../../scripts/lib/login-dialog';
import { createLinkingHelpers } from '../support/linking-world';

jest.setTimeout(180_000);


describe('linking Instagram accounts through Facebook Login', () => {
  let world: InboundWorld;

  beforeAll(async () => {
    world = await startInboundWorld();
  });

  afterAll(async () => {
    await world?.close();
  });

  const { api, startLogin, credentials, seedBusiness, newChannel, link } = createLinkingHelpers(() => world);

  const accountDoc = (igAccountId: string) => world.engine.models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>();
  const linkStatus = (igAccountId: string) => world.engine.temporal.workflow.getHandle(makeAccountWorkflowId(igAccountId)).query(getLinkStatusQuery);

  it('links one account: the Page is subscribed, the token sealed, the workflow runs, and its customers reach the inbox', async () => {
    const business = await seedBusiness(['shop', null]);
    const channel = await newChannel();
    const igAccountId = business.pages[0]!.igAccountId!;

    const { status, body, choice } = await link(channel, business);
    expect(choice).toMatchObject({
      channelId: channel.channelId,
      facebookUser: { id: business.user.id, name: business.user.name },
      accounts: [{ igAccountId, pageId: business.pages[0]!.id, linkedHere: false }],
      pagesWithoutInstagram: [{ pageId: business.pages[1]!.id }],
    });
    expect(status).toBe(200);
    expect(body).toEqual({ linked: [{ igAccountId, username: expect.stringMatching(/^shop\./), reauthenticated: false, movedFromChannelId: null }], unlinked: [] });

    const account = await accountDoc(igAccountId);
    expect(account).toMatchObject({ channelId: channel.channelId, status: 'active', linkedByFacebookUserId: business.user.id });
    const pageToken = createTokenCipher(world.engine.config.tokens.keyring).open(account!.pageToken!, { boundTo: igAccountId });
    expect(JSON.stringify(account)).not.toContain(pageToken);
    const connection = await world.engine.models.facebookConnections.findOne({ _id: business.user.id }).lean();
    expect(connection).toMatchObject({ channelId: channel.channelId, igAccountIds: [igAccountId] });

    const subscriptions = await world.graph.listSubscribedApps(business.pages[0]!.id, pageToken);
    expect(subscriptions[0]?.subscribedFields).toEqual(expect.arrayContaining(['messages', 'messaging_postbacks', 'messaging_referral']));
    await world.eventually(async () => ((await linkStatus(igAccountId)).status === 'active' ? true : undefined), 20_000, 'the account workflow');
    expect(await linkStatus(igAccountId)).toMatchObject({ channelId: channel.channelId, linkedByFacebookUserId: business.user.id });

    const customer = await world.control('POST', '/ig-users', { username: `linked.customer.${randomUUID().slice(0, 6)}`, name: 'Yuna' });
    const sent = await world.control('POST', `/ig-accounts/${igAccountId}/inbound`, { from: { igUserId: customer.body.id }, kind: 'text', text: 'hello after the link' });
    expect(sent.status).toBe(201);
    const conversations = await world.eventually(async () => {
      const listed = await api(channel.ownerKey, 'GET', `/v1/channels/${channel.channelId}/conversations`);
      return (listed.body.conversations as Json[] | undefined)?.length ? listed.body.conversations : undefined;
    }, 20_000, 'the conversation in the inbox');
    expect(conversations[0]).toMatchObject({ igAccountId });
  });

  it('links several accounts; an additional link keeps what is selected again and drops what is not', async () => {
    const business = await seedBusiness(['first', 'second', 'third']);
    const channel = await newChannel();
    const [first, second, third] = business.pages.map((page) => page.igAccountId!);

    const initial = await link(channel, business, { dialog: { igAccountIds: [first!, second!] } });
    expect(initial.body.linked.map((account: Json) => account.igAccountId).sort()).toEqual([first, second].sort());

    // "+ additional link": the owner selects the linked ones together with the new one.
    const additional = await link(channel, business);
    expect(additional.choice.accounts.map((account: Json) => [account.igAccountId, account.linkedHere]).sort()).toEqual(
      [
        [first, true],
        [second, true],
        [third, false],
      ].sort(),
    );
    expect(additional.body.linked.map((account: Json) => [account.igAccountId, account.reauthenticated]).sort()).toEqual(
      [
        [first, true],
        [second, true],
        [third, false],
      ].sort(),
    );
    expect(additional.body.unlinked).toEqual([]);

    // Another additional link without re-selecting the second: Meta no longer grants it, so its link ends.
    const without = await link(channel, business, { dialog: { igAccountIds: [first!, third!] } });
    expect(without.body.unlinked).toEqual([{ igAccountId: second, channelId: channel.channelId, reason: 'not_reselected' }]);
    expect(await accountDoc(second!)).toMatchObject({ status: 'unlinked', statusReason: { reason: 'not_reselected' } });
    await world.eventually(async () => ((await linkStatus(second!)).status === 'unlinked' ? true : undefined), 20_000, 'the dropped account workflow');
    expect((await accountDoc(first!))?.status).toBe('active');
  });

  it('one Facebook account serves one channel: linking it from channel B moves its accounts and tells the owners of A', async () => {
    const business = await seedBusiness(['moving']);
    const [channelA, channelB] = [await newChannel(), await newChannel()];
    const igAccountId = business.pages[0]!.igAccountId!;
    expect((await link(channelA, business)).status).toBe(200);
    await world.eventually(async () => ((await linkStatus(igAccountId)).status === 'active' ? true : undefined), 20_000, 'the account workflow');

    const moved = await link(channelB, business);
    expect(moved.body.linked).toEqual([expect.objectContaining({ igAccountId, movedFromChannelId: channelA.channelId })]);
    expect(await accountDoc(igAccountId)).toMatchObject({ channelId: channelB.channelId, status: 'active' });
    expect(await world.engine.models.facebookConnections.findOne({ _id: business.user.id }).lean()).toMatchObject({ channelId: channelB.channelId });

    const notices = await world.eventually(async () => {
      const room = await api(channelA.ownerKey, 'GET', '/v1/me/notices');
      return (room.body.notices as Json[] | undefined)?.length ? room.body.notices : undefined;
    }, 30_000, "the notice in A's owner's room");
    expect(notices).toEqual([expect.objectContaining({ kind: 'unlinked_elsewhere', channelId: channelA.channelId })]);
    expect((await api(channelA.agentKey, 'GET', '/v1/me/notices')).body.notices).toEqual([]);
    expect(await linkStatus(igAccountId)).toMatchObject({ channelId: channelB.channelId, status: 'active' });
  });

  it('re-authenticates with the Facebook account that made the link (settings kept, period restarted) and refuses another, naming it', async () => {
    const business = await seedBusiness(['reauth']);
    const channel = await newChannel();
    const igAccountId = business.pages[0]!.igAccountId!;
    await link(channel, business);
    await world.engine.models.linkedAccounts.updateOne({ _id: igAccountId }, { $set: { 'settings.openOnPostShare': false } });
    await world.eventually(async () => ((await linkStatus(igAccountId)).status === 'active' ? true : undefined), 20_000, 'the account workflow');
    const before = await linkStatus(igAccountId);

    const again = await link(channel, business);
    expect(again.body.linked).toEqual([expect.objectContaining({ igAccountId, reauthenticated: true })]);
    expect((await accountDoc(igAccountId))?.settings.openOnPostShare).toBe(false);
    await world.eventually(async () => ((await linkStatus(igAccountId)).linkedAt > before.linkedAt ? true : undefined), 20_000, 'the moved deadlines');
    expect((await linkStatus(igAccountId)).expiresAt).toBeGreaterThan(before.expiresAt);

    // Another Facebook user who also manages the Page (an admin of the same business) is refused, and told whom to use.
    const other = { name: `Other ${randomUUID().slice(0, 6)}`, email: `other-${randomUUID().slice(0, 6)}@example.com`, password: 'other-pw' };
    expect((await world.control('POST', `/businesses/${business.businessId}/people`, other)).status).toBe(201);
    const callback = await loginThroughDialog(await startLogin(channel), { email: other.email, password: other.password });
    const refused = await api(channel.ownerKey, 'POST', `/v1/channels/${channel.channelId}/instagram/link/${callback.body.loginId}`, { igAccountIds: [igAccountId] });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ type: 'WrongFacebookAccount' });
    expect(refused.body.error.message).toContain(business.user.name);
  });

  it('keeps the messages of an expired link without opening anything, and shows them in order once re-authenticated', async () => {
    const business = await seedBusiness(['expiring']);
    const channel = await newChannel();
    const igAccountId = business.pages[0]!.igAccountId!;
    await link(channel, business);
    await world.eventually(async () => ((await linkStatus(igAccountId)).status === 'active' ? true : undefined), 20_000, 'the account workflow');

    // Facebook ends the link early (what a send's token error reports to the workflow).
    await world.engine.temporal.workflow.getHandle(makeAccountWorkflowId(igAccountId)).signal(tokenRevokedSignal, { reason: 'expired_early' });
    await world.eventually(async () => ((await accountDoc(igAccountId))?.status === 'reauth_required' ? true : undefined), 20_000, 'the ended link');
    const accounts = await api(channel.ownerKey, 'GET', `/v1/channels/${channel.channelId}/instagram/accounts`);
    expect(accounts.body.accounts[0].status).toMatchObject({ state: 'dropped' });

    const customer = await world.control('POST', '/ig-users', { username: `held.customer.${randomUUID().slice(0, 6)}`, name: 'Held' });
    for (const text of ['first while expired', 'second while expired']) {
      expect((await world.control('POST', `/ig-accounts/${igAccountId}/inbound`, { from: { igUserId: customer.body.id }, kind: 'text', text })).status).toBe(201);
    }
    const held = await world.eventually(async () => {
      const events = await world.engine.models.webhookEvents.find({ igAccountId, status: 'held' }).lean();
      return events.length === 2 ? events : undefined;
    }, 20_000, 'the two held events');
    expect(held).toHaveLength(2);
    expect((await api(channel.ownerKey, 'GET', `/v1/channels/${channel.channelId}/conversations`)).body.conversations).toEqual([]);

    expect((await link(channel, business)).body.linked).toEqual([expect.objectContaining({ igAccountId, reauthenticated: true })]);
    const conversation = await world.eventually(async () => {
      const listed = await api(channel.ownerKey, 'GET', `/v1/channels/${channel.channelId}/conversations`);
      return (listed.body.conversations as Json[] | undefined)?.[0];
    }, 20_000, 'the conversation after re-authentication');
    const messages = await world.eventually(async () => {
      const listed = await api(channel.ownerKey, 'GET', `/v1/conversations/${conversation.conversationId}/messages`);
      return (listed.body.messages as Json[] | undefined)?.length === 2 ? listed.body.messages : undefined;
    }, 20_000, 'both kept messages');
    expect(messages.map((message: Json) => message.text).sort()).toEqual(['first while expired', 'second while expired']);
    expect([...messages].sort((a: Json, b: Json) => Date.parse(a.sentAt) - Date.parse(b.sentAt)).map((message: Json) => message.text)).toEqual(['first while expired', 'second while expired']);
    expect((await accountDoc(igAccountId))?.status).toBe('active');
  });

  describe('refusals', () => {
    it('names a declined permission and links nothing', async () => {
      const business = await seedBusiness(['declined']);
      const channel = await newChannel();
      const callback = await loginThroughDialog(await startLogin(channel), { ...credentials(business), grantedScopes: REQUIRED_SCOPES.filter((scope) => scope !== 'instagram_manage_messages') });
      expect(callback.status).toBe(422);
      expect(callback.body.error).toMatchObject({ type: 'PermissionMissing' });
      expect(callback.body.error.message).toContain('instagram_manage_messages');
      expect(await accountDoc(business.pages[0]!.igAccountId!)).toBeNull();
    });

    it('says so when the granted Pages have no Instagram professional account', async () => {
      const business = await seedBusiness([null]);
      const channel = await newChannel();
      const callback = await loginThroughDialog(await startLogin(channel), credentials(business));
      expect(callback.status).toBe(422);
      expect(callback.body.error).toMatchObject({ type: 'NoInstagramAccount' });
      expect(callback.body.error.message).toMatch(/personal Instagram account/);
    });

    it('answers a cancelled dialog, and refuses a replayed, forged or unknown state', async () => {
      const business = await seedBusiness(['cancel']);
      const channel = await newChannel();
      const cancelled = await loginThroughDialog(await startLogin(channel), { ...credentials(business), cancel: true });
      expect(cancelled.status).toBe(400);
      expect(cancelled.body.error).toMatchObject({ type: 'LoginCancelled' });

      const good = await loginThroughDialog(await startLogin(channel), credentials(business));
      expect(good.status).toBe(200);
      const replay = await fetch(good.callbackUrl);
      expect(replay.status).toBe(400);
      expect(((await replay.json()) as Json).error.type).toBe('LoginStateReplayed');

      const redirect = new URL(await dialogRedirect(await startLogin(channel), credentials(business)));
      const state = redirect.searchParams.get('state')!;
      const forged = new URL(redirect);
      forged.searchParams.set('state', `${state.split('.')[0]}.${Buffer.from('forged-signature-of-32-bytes-xx').toString('base64url')}`);
      const forgedAnswer = await fetch(forged);
      expect(forgedAnswer.status).toBe(400);
      expect(((await forgedAnswer.json()) as Json).error.type).toBe('LoginStateInvalid');
      for (const bad of ['', 'not-a-state', 'a.b.c']) {
        const answer = await fetch(`${world.engine.baseUrl}/v1/oauth/facebook/callback?code=x&state=${encodeURIComponent(bad)}`);
        expect(answer.status).toBe(400);
        expect(((await answer.json()) as Json).error.type).toBe('LoginStateInvalid');
      }
      // The forged attempt did not use up the real state.
      expect((await fetch(redirect)).status).toBe(200);
    });

    it('refuses an expired state', async () => {
      const business = await seedBusiness(['late']);
      const channel = await newChannel();
      let now = Date.now();
      const flow = createFacebookLoginFlow({
        models: world.engine.models,
        graph: world.graph,
        cipher: createTokenCipher(world.engine.config.tokens.keyring),
        signer: createLoginStateSigner(world.engine.config.meta.appSecret),
        appId: world.engine.config.meta.appId,
        loginDialogUrl: world.engine.config.meta.loginDialogUrl,
        redirectUri: `${world.engine.baseUrl}/v1/oauth/facebook/callback`,
        now: () => now,
      });
      const { loginUrl } = await flow.start({ channelId: channel.channelId, managerId: 'owner-late' });
      const redirect = new URL(await dialogRedirect(loginUrl, credentials(business)));
      now += LOGIN_TTL_MS + 1;
      await expect(flow.complete({ state: redirect.searchParams.get('state')!, code: redirect.searchParams.get('code')! })).rejects.toMatchObject({ status: 400, type: 'LoginStateExpired' });
    });

    it('lets only owners of the channel start or finish a link', async () => {
      const business = await seedBusiness(['owners']);
      const [channel, stranger] = [await newChannel(), await newChannel()];
      expect((await api(channel.agentKey, 'POST', `/v1/channels/${channel.channelId}/instagram/link`)).status).toBe(403);
      expect((await api(stranger.ownerKey, 'POST', `/v1/channels/${channel.channelId}/instagram/link`)).status).toBe(404);
      const callback = await loginThroughDialog(await startLogin(channel), credentials(business));
      const path = `/v1/channels/${channel.channelId}/instagram/link/${callback.body.loginId}`;
      const igAccountIds = [business.pages[0]!.igAccountId!];
      expect((await api(channel.agentKey, 'POST', path, { igAccountIds })).status).toBe(403);
      expect((await api(stranger.ownerKey, 'POST', path, { igAccountIds })).status).toBe(404);
      const unknown = await api(channel.ownerKey, 'POST', path, { igAccountIds: ['17841499999999999'] });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.type).toBe('AccountNotOffered');
      expect((await api(channel.ownerKey, 'POST', path, { igAccountIds })).status).toBe(200);
      const twice = await api(channel.ownerKey, 'POST', path, { igAccountIds });
      expect(twice.status).toBe(409);
      expect(twice.body.error.type).toBe('LoginNotChoosable');
    });
  });
});
