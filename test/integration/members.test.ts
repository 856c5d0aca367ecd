/**
 * B3: a manager merges an Instagram customer into one of the channel's members, never automatically; undoes it;
 * and a merge interrupted between its two writes is completed by the next merge or undo. Real API and database.
 */
import { makeCustomerKey } from '../../src/db/models/customer';
import { startEngine, type RunningEngine } from '../support/engine';
import { createApiCaller, createInboxFixtures, uid, type ApiCaller, type InboxFixtures, type TestChannel } from '../support/inbox-fixtures';

jest.setTimeout(120_000);

describe('members and merging Instagram customers into them', () => {
  let engine: RunningEngine;
  let call: ApiCaller;
  let fixtures: InboxFixtures;
  let channel: TestChannel;
  const igAccountId = `ig-members-${uid()}`;

  beforeAll(async () => {
    engine = await startEngine({ worker: false });
    call = createApiCaller(engine.baseUrl);
    fixtures = createInboxFixtures(engine.models);
    channel = await fixtures.channel('members');
    await fixtures.linkAccount(igAccountId, channel.channelId);
  });

  afterAll(async () => {
    await engine?.stop();
  });

  const createMember = async (body: Record<string, unknown>) => {
    const created = await call('POST', `/v1/channels/${channel.channelId}/members`, { key: channel.apiKey, body });
    expect(created.status).toBe(201);
    return created.body.member as { memberId: string; name: string };
  };

  it('creates a member and reads it back; a new customer is not merged with anyone', async () => {
    const member = await createMember({ name: '  Kim Mina ', email: 'mina@example.com', phone: '+82 10 1234 5678', note: 'VIP' });
    expect(member).toMatchObject({ name: 'Kim Mina', channelId: channel.channelId, email: 'mina@example.com', phone: '+82 10 1234 5678', note: 'VIP', instagramProfiles: [] });
    const read = await call('GET', `/v1/members/${member.memberId}`, { key: channel.apiKey });
    expect(read.status).toBe(200);
    expect(read.body.member).toEqual(member);

    const igsid = `igsid-${uid()}`;
    await fixtures.customer(igAccountId, igsid, channel.channelId, { name: 'Kim Mina' });
    const customer = await call('GET', `/v1/customers/${igAccountId}/${igsid}`, { key: channel.apiKey });
    expect(customer.body.customer.member).toBeNull();
  });

  it('merges a customer, shows the member in customer and conversation answers, and undoes it', async () => {
    const member = await createMember({ name: 'Lee Joon' });
    const igsid = `igsid-${uid()}`;
    await fixtures.customer(igAccountId, igsid, channel.channelId, { username: 'joon.lee' });
    const [conversation] = await fixtures.conversations({ channelId: channel.channelId, igAccountId, igsid }, [{ openedAt: new Date(), lastMessageAt: new Date() }]);

    const merged = await call('POST', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey, body: { memberId: member.memberId } });
    expect(merged.status).toBe(200);
    expect(merged.body.customer.member).toEqual({ memberId: member.memberId, name: 'Lee Joon' });
    expect(merged.body.member.instagramProfiles).toEqual([{ igAccountId, igsid, username: 'joon.lee', mergedAt: expect.any(String), mergedBy: channel.managerId }]);

    const summary = { memberId: member.memberId, name: 'Lee Joon' };
    expect((await call('GET', `/v1/customers/${igAccountId}/${igsid}`, { key: channel.apiKey })).body.customer.member).toEqual(summary);
    expect((await call('GET', `/v1/conversations/${conversation!.conversationId}`, { key: channel.apiKey })).body.conversation.customer.member).toEqual(summary);
    const listed = await call('GET', `/v1/channels/${channel.channelId}/conversations?igAccountId=${igAccountId}&igsid=${igsid}`, { key: channel.apiKey });
    expect(listed.body.conversations.map((c: { customer: { member: unknown } }) => c.customer.member)).toEqual([summary]);

    // Merging again into the same member changes nothing.
    const again = await call('POST', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey, body: { memberId: member.memberId } });
    expect(again.status).toBe(200);
    expect(again.body.member.instagramProfiles).toHaveLength(1);

    const undone = await call('DELETE', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey });
    expect(undone.status).toBe(200);
    expect(undone.body.customer.member).toBeNull();
    expect(undone.body.member).toMatchObject({ memberId: member.memberId, instagramProfiles: [] });
    expect((await engine.models.customers.findOne({ _id: makeCustomerKey(igAccountId, igsid) }).lean())?.memberId).toBeNull();

    const notMerged = await call('DELETE', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey });
    expect(notMerged.status).toBe(409);
    expect(notMerged.body.error.type).toBe('NotMerged');
  });

  it('refuses to merge a customer already merged into another member, naming it', async () => {
    const first = await createMember({ name: 'First' });
    const second = await createMember({ name: 'Second' });
    const igsid = `igsid-${uid()}`;
    await fixtures.customer(igAccountId, igsid, channel.channelId);
    expect((await call('POST', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey, body: { memberId: first.memberId } })).status).toBe(200);
    const refused = await call('POST', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey, body: { memberId: second.memberId } });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ type: 'CustomerAlreadyMerged', details: { memberId: first.memberId } });
    expect(refused.body.error.message).toContain(first.memberId);
    expect((await call('GET', `/v1/members/${second.memberId}`, { key: channel.apiKey })).body.member.instagramProfiles).toEqual([]);
  });

  it('lists several Instagram profiles on one member', async () => {
    const member = await createMember({ name: 'Two accounts' });
    const otherAccount = `ig-second-${uid()}`;
    await fixtures.linkAccount(otherAccount, channel.channelId);
    await fixtures.customer(igAccountId, 'same-person-1', channel.channelId);
    await fixtures.customer(otherAccount, 'same-person-2', channel.channelId);
    for (const [account, igsid] of [
      [igAccountId, 'same-person-1'],
      [otherAccount, 'same-person-2'],
    ] as const) {
      expect((await call('POST', `/v1/customers/${account}/${igsid}/merge`, { key: channel.apiKey, body: { memberId: member.memberId } })).status).toBe(200);
    }
    const read = await call('GET', `/v1/members/${member.memberId}`, { key: channel.apiKey });
    expect(read.body.member.instagramProfiles.map((p: { igsid: string }) => p.igsid)).toEqual(['same-person-1', 'same-person-2']);
  });

  describe('after a crash between the two writes', () => {
    it('a merge that claimed the customer but did not list the profile is completed by the next merge', async () => {
      const member = await createMember({ name: 'Interrupted merge' });
      const igsid = `igsid-${uid()}`;
      await fixtures.customer(igAccountId, igsid, channel.channelId);
      // The first write of a merge, and then nothing: the state a crash leaves.
      await engine.models.customers.updateOne({ _id: makeCustomerKey(igAccountId, igsid) }, { $set: { memberId: member.memberId } });

      const repaired = await call('POST', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey, body: { memberId: member.memberId } });
      expect(repaired.status).toBe(200);
      expect(repaired.body.member.instagramProfiles.map((p: { igsid: string }) => p.igsid)).toEqual([igsid]);
    });

    it('or undone by the next undo', async () => {
      const member = await createMember({ name: 'Interrupted, then undone' });
      const igsid = `igsid-${uid()}`;
      await fixtures.customer(igAccountId, igsid, channel.channelId, { memberId: member.memberId });
      const undone = await call('DELETE', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey });
      expect(undone.status).toBe(200);
      expect(undone.body.customer.member).toBeNull();
      expect(undone.body.member.instagramProfiles).toEqual([]);
    });

    it('an undo that unlisted the profile but did not release the customer is completed by the next undo', async () => {
      const member = await createMember({ name: 'Interrupted undo' });
      const igsid = `igsid-${uid()}`;
      await fixtures.customer(igAccountId, igsid, channel.channelId);
      expect((await call('POST', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey, body: { memberId: member.memberId } })).status).toBe(200);
      // The first write of an undo, and then nothing.
      await engine.models.members.updateOne({ _id: member.memberId }, { $set: { instagramProfiles: [] } });

      const undone = await call('DELETE', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey });
      expect(undone.status).toBe(200);
      expect((await engine.models.customers.findOne({ _id: makeCustomerKey(igAccountId, igsid) }).lean())?.memberId).toBeNull();
    });
  });

  it("never shows another channel's member, and does not name it in a refusal", async () => {
    const otherChannel = await fixtures.channel('other');
    const theirs = (await call('POST', `/v1/channels/${otherChannel.channelId}/members`, { key: otherChannel.apiKey, body: { name: 'Their member' } })).body.member;
    const igsid = `igsid-${uid()}`;
    // Merged while the account was the other channel's; the account is linked to this channel now.
    await fixtures.customer(igAccountId, igsid, channel.channelId, { memberId: theirs.memberId });
    const seen = await call('GET', `/v1/customers/${igAccountId}/${igsid}`, { key: channel.apiKey });
    expect(seen.body.customer.member).toBeNull();
    const mine = await createMember({ name: 'Mine' });
    const refused = await call('POST', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey, body: { memberId: mine.memberId } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).not.toContain(theirs.memberId);
    expect((await call('DELETE', `/v1/customers/${igAccountId}/${igsid}/merge`, { key: channel.apiKey })).status).toBe(409);
  });
});
