/**
 * The API of a channel's linked Instagram accounts, against the real database: the status each stored state shows,
 * tenancy (404) and roles (403), bad bodies (400 naming the field), the representative (one per channel, also when
 * two owners switch it at once; claimed by a new link when the channel has none), and unlinking (idempotent, the
 * conversations stay readable, replies are refused). No worker: an account without a running workflow has none to
 * tell, and these accounts' sealed tokens cannot be opened, which is what a dead token looks like to the unlink.
 */
import type { LinkedAccount, LinkStatusReason } from '../../src/db/models/linked-account';
import { newLinkedAccount } from '../../src/db/models/linked-account';
import { claimRepresentativeIfNone } from '../../src/linking/linked-accounts';
import { startEngine, type RunningEngine } from '../support/engine';
import { createApiCaller, createInboxFixtures, uid, type ApiCaller, type InboxFixtures, type Json, type TestChannel, type TestManager } from '../support/inbox-fixtures';

jest.setTimeout(120_000);

const DAY = 24 * 60 * 60 * 1000;
const iso = (ms: number): string => new Date(ms).toISOString();
const FAKE_TOKEN = { keyId: 'k1', iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' };

describe('linked Instagram accounts API', () => {
  let engine: RunningEngine;
  let call: ApiCaller;
  let fixtures: InboxFixtures;
  let mine: TestChannel;
  let other: TestChannel;
  let agent: TestManager;

  beforeAll(async () => {
    engine = await startEngine({ worker: false });
    call = createApiCaller(engine.baseUrl);
    fixtures = createInboxFixtures(engine.models);
    mine = await fixtures.channel('mine');
    other = await fixtures.channel('other');
    agent = await fixtures.manager(mine.channelId, 'agent');
  });

  afterAll(async () => {
    await engine?.stop();
  });

  /** A linked account as the linking flow (or a workflow since) left it. */
  async function seed(channelId: string, fields: Partial<LinkedAccount> = {}): Promise<string> {
    const igAccountId = fields.igAccountId ?? `ig-${uid()}`;
    const account: LinkedAccount = { ...newLinkedAccount({ igAccountId, channelId, pageId: `page-${igAccountId}`, username: `${igAccountId}.shop`, pageToken: FAKE_TOKEN }), ...fields };
    await engine.models.linkedAccounts.replaceOne({ _id: igAccountId }, account, { upsert: true });
    return igAccountId;
  }

  const reason = (type: string, why: string | null, at: number): LinkStatusReason => ({ type, reason: why, message: 'as stored', at: new Date(at) });
  const accountsPath = (channelId: string) => `/v1/channels/${channelId}/instagram/accounts`;
  const listOf = async (channel: TestChannel): Promise<Json[]> => {
    const answer = await call('GET', accountsPath(channel.channelId), { key: channel.apiKey });
    expect(answer.status).toBe(200);
    return answer.body.accounts as Json[];
  };
  const representatives = async (channel: TestChannel): Promise<string[]> => (await listOf(channel)).filter((a) => a.representative).map((a) => a.igAccountId as string);
  const patch = (channel: TestChannel, igAccountId: string, body: unknown, key = channel.apiKey) => call('PATCH', `${accountsPath(channel.channelId)}/${igAccountId}`, { key, body });
  const unlink = (channel: TestChannel, igAccountId: string, key = channel.apiKey) => call('DELETE', `${accountsPath(channel.channelId)}/${igAccountId}`, { key });

  describe('status', () => {
    it('shows each stored state with its dates, its reason and what to do', async () => {
      const now = Date.now();
      const channel = await fixtures.channel('status');
      const linkedAt = now - 10 * DAY;
      const ids = {
        linked: await seed(channel.channelId, { linkedAt: new Date(linkedAt), linkedByFacebookUserId: 'fb-1', pageName: 'Shop Page' }),
        tokenFirst: await seed(channel.channelId, { linkedAt: new Date(linkedAt), tokenExpiresAt: new Date(now + 20 * DAY) }),
        due: await seed(channel.channelId, { linkedAt: new Date(now - 55 * DAY) }),
        pastDue: await seed(channel.channelId, { linkedAt: new Date(now - 61 * DAY) }),
        expired: await seed(channel.channelId, { linkedAt: new Date(now - 70 * DAY), status: 'reauth_required', statusReason: reason('LinkExpired', 'reauth_period_over', now - 10 * DAY) }),
        password: await seed(channel.channelId, { status: 'reauth_required', statusReason: reason('TokenInvalid', 'password_changed', now - DAY) }),
        // A send that met a dead token stores Meta's own reason.
        early: await seed(channel.channelId, { status: 'reauth_required', statusReason: reason('TokenInvalid', 'expired', now - DAY) }),
        appRemoved: await seed(channel.channelId, { status: 'reauth_required', statusReason: reason('TokenInvalid', 'app_removed', now - DAY) }),
        accessOff: await seed(channel.channelId, { status: 'messages_access_off', statusReason: reason('MessagesAccessOff', 'messages_access_off', now - 2 * DAY) }),
        unlinked: await seed(channel.channelId, { status: 'unlinked', statusReason: reason('Unlinked', 'not_reselected', now - 3 * DAY) }),
      };
      await seed(other.channelId);

      const byId = new Map((await listOf(channel)).map((a) => [a.igAccountId as string, a]));
      expect([...byId.keys()].sort()).toEqual(Object.values(ids).sort());
      expect(byId.get(ids.linked)).toMatchObject({
        username: `${ids.linked}.shop`,
        pageId: `page-${ids.linked}`,
        pageName: 'Shop Page',
        representative: false,
        settings: { openOnStoryMention: true, openOnPostShare: true },
        linkedAt: iso(linkedAt),
        linkedByFacebookUserId: 'fb-1',
        status: { state: 'linked', reauthDueAt: iso(linkedAt + 60 * DAY), reauthNoticeAt: iso(linkedAt + 53 * DAY) },
      });
      expect(byId.get(ids.tokenFirst)!.status).toMatchObject({ state: 'linked', reauthDueAt: iso(now + 20 * DAY), reauthNoticeAt: iso(now + 13 * DAY) });
      expect(byId.get(ids.due)!.status).toMatchObject({ state: 'reauth_due', reauthDueAt: iso(now + 5 * DAY), message: expect.stringContaining('re-authentication due by') });
      expect(byId.get(ids.pastDue)!.status).toMatchObject({ state: 'expired', expiredAt: iso(now - DAY) });
      expect(byId.get(ids.expired)!.status).toEqual({ state: 'expired', expiredAt: iso(now - 10 * DAY), message: expect.stringMatching(/^re-authentication required: .*signing in with the Facebook account that made the link/) });
      expect(byId.get(ids.password)!.status).toEqual({ state: 'dropped', reason: 'password_changed', droppedAt: iso(now - DAY), message: expect.stringContaining('password') });
      expect(byId.get(ids.early)!.status).toMatchObject({ state: 'dropped', reason: 'expired_early', message: expect.stringContaining('expired the link before its time') });
      expect(byId.get(ids.appRemoved)!.status).toMatchObject({ state: 'dropped', reason: 'app_removed' });
      expect(byId.get(ids.accessOff)!.status).toEqual({ state: 'messages_access_off', since: iso(now - 2 * DAY), message: expect.stringContaining('Allow access to messages') });
      expect(byId.get(ids.unlinked)!.status).toMatchObject({ state: 'unlinked', reason: 'not_reselected', unlinkedAt: iso(now - 3 * DAY), message: expect.stringContaining('conversations stay readable') });

      const one = await call('GET', `${accountsPath(channel.channelId)}/${ids.password}`, { key: channel.apiKey });
      expect(one.status).toBe(200);
      expect(one.body.account).toEqual(byId.get(ids.password));
    });

    it("answers 404 for another channel's account, and for another channel's list", async () => {
      const theirs = await seed(other.channelId);
      const ours = await seed(mine.channelId);
      expect((await call('GET', `${accountsPath(mine.channelId)}/${theirs}`, { key: mine.apiKey })).status).toBe(404);
      expect((await call('GET', `${accountsPath(other.channelId)}/${theirs}`, { key: mine.apiKey })).status).toBe(404);
      expect((await call('GET', accountsPath(other.channelId), { key: mine.apiKey })).status).toBe(404);
      expect((await patch(mine, theirs, { representative: true })).status).toBe(404);
      expect((await unlink(mine, theirs)).status).toBe(404);
      expect((await call('GET', `${accountsPath(mine.channelId)}/no-such-account`, { key: mine.apiKey })).status).toBe(404);
      expect((await call('GET', `${accountsPath(mine.channelId)}/${ours}`, { key: other.apiKey })).status).toBe(404);
    });
  });

  describe('who may change what', () => {
    it('lets an agent read, and answers 403 OwnerRequired to an agent that changes or unlinks', async () => {
      const igAccountId = await seed(mine.channelId);
      expect((await call('GET', `${accountsPath(mine.channelId)}/${igAccountId}`, { key: agent.apiKey })).status).toBe(200);
      for (const refused of [await patch(mine, igAccountId, { settings: { openOnPostShare: false } }, agent.apiKey), await unlink(mine, igAccountId, agent.apiKey)]) {
        expect(refused.status).toBe(403);
        expect(refused.body.error).toMatchObject({ type: 'OwnerRequired', details: { requiredRole: 'owner', role: 'agent' } });
      }
      const account = await engine.models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>();
      expect(account).toMatchObject({ status: 'active', settings: { openOnStoryMention: true, openOnPostShare: true } });
    });

    it('answers 400 naming the bad field', async () => {
      const igAccountId = await seed(mine.channelId);
      const cases: Array<[unknown, string]> = [
        [{ settings: { openOnStoryMention: 'no' } }, 'body.settings.openOnStoryMention'],
        [{ settings: { openOnComments: false } }, 'body.settings.openOnComments: unknown field'],
        [{ representative: 'yes' }, 'body.representative'],
        [{ colour: 'red' }, 'body.colour: unknown field'],
        [{}, 'name what to change'],
      ];
      for (const [body, named] of cases) {
        const answer = await patch(mine, igAccountId, body);
        expect({ body, status: answer.status, type: answer.body.error?.type }).toEqual({ body, status: 400, type: 'ValidationFailed' });
        expect(answer.body.error.message).toContain(named);
      }
    });
  });

  describe('settings', () => {
    it('changes only the switches named, and keeps them across reads', async () => {
      const igAccountId = await seed(mine.channelId);
      const changed = await patch(mine, igAccountId, { settings: { openOnStoryMention: false } });
      expect(changed.status).toBe(200);
      expect(changed.body.account.settings).toEqual({ openOnStoryMention: false, openOnPostShare: true });
      const again = await patch(mine, igAccountId, { settings: { openOnPostShare: false } });
      expect(again.body.account.settings).toEqual({ openOnStoryMention: false, openOnPostShare: false });
      expect((await engine.models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>())!.settings).toEqual({ openOnStoryMention: false, openOnPostShare: false });
    });
  });

  describe('the representative account', () => {
    it('goes to the first account linked; turning one on turns the previous one off; off leaves none until the next link claims it', async () => {
      const channel = await fixtures.channel('rep');
      const [first, second, third] = [await seed(channel.channelId), await seed(channel.channelId), await seed(channel.channelId)];
      expect(await claimRepresentativeIfNone(engine.models, channel.channelId, first)).toBe(true);
      expect(await claimRepresentativeIfNone(engine.models, channel.channelId, second)).toBe(false);
      expect(await claimRepresentativeIfNone(engine.models, channel.channelId, first)).toBe(true);
      expect(await representatives(channel)).toEqual([first]);

      const switched = await patch(channel, second, { representative: true });
      expect(switched.status).toBe(200);
      expect(switched.body.account.representative).toBe(true);
      expect(await representatives(channel)).toEqual([second]);

      // Turning off another account than the representative changes nothing.
      expect((await patch(channel, first, { representative: false })).body.account.representative).toBe(false);
      expect(await representatives(channel)).toEqual([second]);

      expect((await patch(channel, second, { representative: false })).body.account.representative).toBe(false);
      expect(await representatives(channel)).toEqual([]);
      expect(await claimRepresentativeIfNone(engine.models, channel.channelId, third)).toBe(true);
      expect(await representatives(channel)).toEqual([third]);
    });

    it('stays one when two owners turn on different accounts at once', async () => {
      const channel = await fixtures.channel('race');
      const secondOwner = await fixtures.manager(channel.channelId, 'owner');
      const accounts = [await seed(channel.channelId), await seed(channel.channelId), await seed(channel.channelId)];
      for (let round = 0; round < 5; round += 1) {
        const [a, b] = [accounts[round % 3]!, accounts[(round + 1) % 3]!];
        const answers = await Promise.all([patch(channel, a, { representative: true }), patch(channel, b, { representative: true }, secondOwner.apiKey)]);
        expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
        const shown = await representatives(channel);
        expect(shown).toHaveLength(1);
        expect([a, b]).toContain(shown[0]);
        expect((await engine.models.channels.findOne({ _id: channel.channelId }).lean())!.representativeIgAccountId).toBe(shown[0]);
      }
    });

    it('leaves the channel without one when the representative is unlinked, and is claimed by the next link', async () => {
      const channel = await fixtures.channel('rep-unlink');
      const [first, second] = [await seed(channel.channelId), await seed(channel.channelId)];
      await claimRepresentativeIfNone(engine.models, channel.channelId, first);
      expect((await unlink(channel, first)).body.account).toMatchObject({ representative: false, status: { state: 'unlinked', reason: 'by_owner' } });
      expect(await representatives(channel)).toEqual([]);
      expect((await engine.models.channels.findOne({ _id: channel.channelId }).lean())!.representativeIgAccountId).toBeNull();

      const refused = await patch(channel, first, { representative: true });
      expect(refused.status).toBe(409);
      expect(refused.body.error.type).toBe('AccountUnlinked');
      expect(await claimRepresentativeIfNone(engine.models, channel.channelId, second)).toBe(true);
    });

    it('counts one that names an account unlinked by its workflow as none, and a channel made before the field as none', async () => {
      const channel = await fixtures.channel('rep-stale');
      const [gone, next] = [await seed(channel.channelId, { status: 'unlinked' }), await seed(channel.channelId)];
      await engine.models.channels.updateOne({ _id: channel.channelId }, { $set: { representativeIgAccountId: gone } });
      expect(await representatives(channel)).toEqual([]);
      expect(await claimRepresentativeIfNone(engine.models, channel.channelId, next)).toBe(true);

      const older = `channel-older-${uid()}`;
      await engine.models.channels.collection.insertOne({ _id: older, channelId: older, name: 'Older', createdAt: new Date() } as never);
      const account = await seed(older);
      expect(await claimRepresentativeIfNone(engine.models, older, account)).toBe(true);
      expect(await claimRepresentativeIfNone(engine.models, 'no-such-channel', account)).toBe(false);
    });
  });

  describe('unlinking', () => {
    it('unlinks at once and again the same; the conversations stay readable and replies are refused', async () => {
      const igAccountId = await seed(mine.channelId);
      const igsid = `igsid-${uid()}`;
      await fixtures.customer(igAccountId, igsid, mine.channelId);
      const [conversation] = await fixtures.conversations({ channelId: mine.channelId, igAccountId, igsid }, [{ openedAt: new Date(), lastMessageAt: new Date() }]);
      await fixtures.messages(conversation!, 2, new Date());

      const first = await unlink(mine, igAccountId);
      expect(first.status).toBe(200);
      expect(first.body.account).toMatchObject({ igAccountId, status: { state: 'unlinked', reason: 'by_owner', message: expect.stringContaining('an owner unlinked the account') } });
      // This account's sealed token cannot be opened, as a dead one cannot be used: the unlink stands all the same.
      expect(first.body.webhookSubscription).toEqual({ outcome: 'not_removed', message: expect.stringContaining('the unlink stands') });
      expect(await engine.models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>()).toMatchObject({ status: 'unlinked', statusReason: { type: 'Unlinked', reason: 'by_owner' } });

      const second = await unlink(mine, igAccountId);
      expect(second.status).toBe(200);
      expect(second.body.account).toEqual(first.body.account);

      const listed = await call('GET', `/v1/channels/${mine.channelId}/conversations?igAccountId=${igAccountId}`, { key: mine.apiKey });
      expect(listed.body.conversations.map((c: Json) => c.conversationId)).toEqual([conversation!.conversationId]);
      expect((await call('GET', `/v1/conversations/${conversation!.conversationId}`, { key: mine.apiKey })).status).toBe(200);
      expect((await call('GET', `/v1/conversations/${conversation!.conversationId}/messages`, { key: mine.apiKey })).body.messages).toHaveLength(2);
      expect((await call('GET', `/v1/customers/${igAccountId}/${igsid}`, { key: mine.apiKey })).status).toBe(200);
      expect((await listOf(mine)).find((a) => a.igAccountId === igAccountId)?.status.state).toBe('unlinked');

      const reply = await call('POST', `/v1/conversations/${conversation!.conversationId}/messages`, { key: mine.apiKey, body: { text: 'still there?' } });
      expect(reply.status).toBe(409);
      expect(reply.body.error).toMatchObject({ type: 'AccountNotActive', message: expect.stringContaining('unlinked') });
    });

    it('keeps the webhook subscription of a Page another linked account still uses', async () => {
      const pageId = `page-shared-${uid()}`;
      const [leaving, staying] = [await seed(mine.channelId, { pageId }), await seed(other.channelId, { pageId })];
      const answer = await unlink(mine, leaving);
      expect(answer.body.webhookSubscription).toEqual({ outcome: 'kept', message: expect.stringContaining(`Page ${pageId}`) });
      expect((await engine.models.linkedAccounts.findOne({ _id: staying }).lean<LinkedAccount>())!.status).toBe('active');
    });
  });
});
