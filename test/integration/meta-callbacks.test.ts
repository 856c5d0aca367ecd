/**
 * Meta's deauthorize and data-deletion callbacks (A12) against the real API, database, Temporal and worker, signed
 * here with an independent HMAC the way Meta signs them: a forged or malformed one changes nothing (400); deauthorize
 * unlinks exactly the accounts the Facebook user linked and tells their owners once; data deletion also deletes the
 * user's connection, logins and Page tokens, answers a confirmation code whose status page serves the request, and
 * leaves the conversations readable. Temporal failing does not undo or hold back the unlink.
 */
import { createHmac } from 'node:crypto';
import { createAccountWorkflows } from '../../src/linking/account-workflows';
import { createMetaCallbacks } from '../../src/linking/meta-callbacks';
import type { LinkedAccount } from '../../src/db/models/linked-account';
import { createLogger } from '../../src/logger';
import { createNoticeBoard } from '../../src/notices/notice-board';
import { makeAccountWorkflowId } from '../../src/temporal/names';
import { getLinkStatusQuery } from '../../src/workflows/account-lifecycle';
import { startEngine, terminateIfRunning, type RunningEngine } from '../support/engine';
import { createApiCaller, createInboxFixtures, uid, type ApiCaller, type InboxFixtures, type Json, type TestChannel } from '../support/inbox-fixtures';

jest.setTimeout(120_000);

const b64url = (text: string | Buffer): string => Buffer.from(text).toString('base64').replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');

/** A signed_request as Meta makes it: the payload segment, then its HMAC-SHA256 with the app secret. */
function signedRequest(secret: string, payload: Record<string, unknown>): string {
  const segment = b64url(JSON.stringify(payload));
  return `${b64url(createHmac('sha256', secret).update(segment).digest())}.${segment}`;
}

const HOUR_MS = 3_600_000;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe("Meta's deauthorize and data-deletion callbacks", () => {
  let engine: RunningEngine;
  let call: ApiCaller;
  let fixtures: InboxFixtures;
  let secret: string;

  /** Posts a callback form, as Meta does. */
  async function callback(path: string, form: Record<string, string> | string, contentType = 'application/x-www-form-urlencoded'): Promise<{ status: number; body: Json; text: string; contentType: string }> {
    const rawBody = typeof form === 'string' ? form : new URLSearchParams(form).toString();
    return call('POST', path, { rawBody, contentType });
  }

  const request = (userId: string, extra: Record<string, unknown> = {}) => ({ signed_request: signedRequest(secret, { algorithm: 'HMAC-SHA256', issued_at: nowSeconds(), user_id: userId, ...extra }) });

  const accountOf = async (igAccountId: string): Promise<LinkedAccount> => (await engine.models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>())!;

  /** An account linked an hour ago by `facebookUserId`, with its sealed (stand-in) Page token. */
  async function linkBy(facebookUserId: string, channelId: string, status: LinkedAccount['status'] = 'active'): Promise<string> {
    const igAccountId = `ig-${uid()}`;
    await fixtures.linkAccount(igAccountId, channelId, status);
    await engine.models.linkedAccounts.updateOne({ _id: igAccountId }, { $set: { linkedByFacebookUserId: facebookUserId, linkedAt: new Date(Date.now() - HOUR_MS) } });
    return igAccountId;
  }

  async function connect(facebookUserId: string, channelId: string, igAccountIds: string[], logins: number): Promise<void> {
    const at = new Date(Date.now() - HOUR_MS);
    const sealed = { keyId: 'k1', iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' };
    await engine.models.facebookConnections.create({ _id: facebookUserId, facebookUserId, name: 'Dana', channelId, userToken: sealed, igAccountIds, linkedAt: at, updatedAt: at });
    for (let index = 0; index < logins; index += 1) {
      await engine.models.facebookLogins.create({ _id: `login-${uid()}`, channelId, managerId: 'manager-1', stage: 'linked', createdAt: at, expiresAt: at, facebookUserId, userToken: sealed, linkedIgAccountIds: igAccountIds, updatedAt: at });
    }
  }

  async function noticesOf(channel: TestChannel): Promise<Json[]> {
    const answer = await call('GET', '/v1/me/notices?limit=100', { key: channel.apiKey });
    expect(answer.status).toBe(200);
    return answer.body.notices as Json[];
  }

  beforeAll(async () => {
    engine = await startEngine();
    call = createApiCaller(engine.baseUrl);
    fixtures = createInboxFixtures(engine.models);
    secret = engine.config.meta.appSecret;
  });

  afterAll(async () => {
    await engine?.stop();
  });

  describe('a bad signed_request', () => {
    let channel: TestChannel;
    let igAccountId: string;
    const user = `fb-forged-${uid()}`;

    beforeAll(async () => {
      channel = await fixtures.channel('forged');
      igAccountId = await linkBy(user, channel.channelId);
      await connect(user, channel.channelId, [igAccountId], 1);
    });

    it('answers 400 naming the problem and changes nothing', async () => {
      const good = request(user).signed_request;
      const [signature, payload] = good.split('.');
      const tampered = `${signature}.${b64url(JSON.stringify({ algorithm: 'HMAC-SHA256', issued_at: nowSeconds(), user_id: 'someone-else' }))}`;
      const cases: Array<[Record<string, string> | string, string, string?]> = [
        [{ signed_request: signedRequest('not-the-app-secret', { algorithm: 'HMAC-SHA256', issued_at: nowSeconds(), user_id: user }) }, 'signature_mismatch'],
        [{ signed_request: tampered }, 'signature_mismatch'],
        [{ signed_request: `${b64url(Buffer.alloc(32))}.${payload}` }, 'signature_mismatch'],
        [{ signed_request: signedRequest(secret, { algorithm: 'HMAC-SHA1', issued_at: nowSeconds(), user_id: user }) }, 'unsupported_algorithm'],
        [{ signed_request: 'garbage' }, 'malformed'],
        [{}, 'missing'],
        [JSON.stringify({ signed_request: good }), 'missing', 'application/json'],
      ];
      for (const path of ['/meta/deauthorize', '/meta/data-deletion']) {
        for (const [form, problem, contentType] of cases) {
          const answer = await callback(path, form, contentType);
          expect({ path, problem, status: answer.status, type: answer.body.error?.type, detail: answer.body.error?.details?.problem }).toEqual({ path, problem, status: 400, type: 'InvalidSignedRequest', detail: problem });
          expect(answer.body.error.message).toMatch(/^signed_request refused: /);
        }
      }
      const json = await callback('/meta/deauthorize', JSON.stringify({ signed_request: good }), 'application/json');
      expect(json.body.error.message).toContain('application/x-www-form-urlencoded');

      expect(await accountOf(igAccountId)).toMatchObject({ status: 'active', pageToken: { keyId: 'k1' } });
      expect(await engine.models.facebookConnections.countDocuments({ _id: user })).toBe(1);
      expect(await engine.models.facebookLogins.countDocuments({ facebookUserId: user })).toBe(1);
      expect(await engine.models.dataDeletionRequests.countDocuments({ facebookUserId: user })).toBe(0);
      expect(await noticesOf(channel)).toEqual([]);
    });
  });

  describe('deauthorize', () => {
    let channel: TestChannel;
    let otherChannel: TestChannel;
    const user = `fb-deauth-${uid()}`;
    const otherUser = `fb-other-${uid()}`;
    let linked: string[];
    let unlinkedBefore: string;
    let othersAccount: string;

    beforeAll(async () => {
      channel = await fixtures.channel('deauth');
      otherChannel = await fixtures.channel('deauth-other');
      linked = [await linkBy(user, channel.channelId), await linkBy(user, channel.channelId, 'reauth_required')];
      unlinkedBefore = await linkBy(user, channel.channelId, 'unlinked');
      othersAccount = await linkBy(otherUser, otherChannel.channelId);
    });

    afterAll(async () => {
      for (const igAccountId of linked) await terminateIfRunning(engine.temporal, makeAccountWorkflowId(igAccountId));
    });

    it("unlinks exactly that user's accounts, tells the owners once per account, and ends the account workflow", async () => {
      const workflows = createAccountWorkflows({ temporal: engine.temporal, taskQueue: engine.config.temporal.taskQueue, reauthPeriodDays: 60 });
      const first = await accountOf(linked[0]!);
      await workflows.linked({ igAccountId: first.igAccountId, channelId: channel.channelId, linkedAt: first.linkedAt.getTime(), tokenExpiresAt: null, linkedByFacebookUserId: user });
      await engine.models.channels.updateOne({ _id: channel.channelId }, { $set: { representativeIgAccountId: first.igAccountId } });

      const answer = await callback('/meta/deauthorize', request(user));
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ unlinked: 2 });

      for (const igAccountId of linked) {
        expect(await accountOf(igAccountId)).toMatchObject({ status: 'unlinked', statusReason: { type: 'Unlinked', reason: 'deauthorized' }, pageToken: { keyId: 'k1' } });
      }
      expect(await accountOf(unlinkedBefore)).toMatchObject({ status: 'unlinked', statusReason: null });
      expect(await accountOf(othersAccount)).toMatchObject({ status: 'active' });
      // As with an owner's unlink, the channel has no representative until the next link claims the role.
      expect(await engine.models.channels.findOne({ _id: channel.channelId }).lean()).toMatchObject({ representativeIgAccountId: null });

      const notices = await noticesOf(channel);
      expect(notices.map((notice) => notice.facts.igAccountId).sort()).toEqual([...linked].sort());
      expect(notices[0]).toMatchObject({ kind: 'unlinked_by_facebook', facts: { reason: 'deauthorized' } });
      expect(notices[0]!.title).toMatch(/^@.+ was unlinked by Facebook$/);
      expect(notices[0]!.body).toContain('conversations stay readable');
      expect(await noticesOf(otherChannel)).toEqual([]);

      const handle = engine.temporal.workflow.getHandle(makeAccountWorkflowId(first.igAccountId));
      expect(await handle.result()).toMatchObject({ status: 'unlinked', reason: 'deauthorized' });
    });

    it('is harmless when Meta delivers it again: nothing more is unlinked or posted', async () => {
      const again = await callback('/meta/deauthorize', request(user));
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ unlinked: 0 });
      expect(await noticesOf(channel)).toHaveLength(2);
    });

    it('leaves an account linked again after the request was issued (a late delivery is about the old grant)', async () => {
      const relinked = await linkBy(user, channel.channelId);
      await engine.models.linkedAccounts.updateOne({ _id: relinked }, { $set: { linkedAt: new Date() } });
      const late = { signed_request: signedRequest(secret, { algorithm: 'HMAC-SHA256', issued_at: nowSeconds() - 60, user_id: user }) };
      expect((await callback('/meta/deauthorize', late)).body).toEqual({ unlinked: 0 });
      expect(await accountOf(relinked)).toMatchObject({ status: 'active' });
    });
  });

  describe('data deletion', () => {
    let channel: TestChannel;
    const user = `fb-delete-${uid()}`;
    const otherUser = `fb-keep-${uid()}`;
    let accounts: string[];
    let othersAccount: string;
    let conversationId: string;
    let answer: { status: number; body: Json };
    const signed = (): { signed_request: string } => request(user, { issued_at: issuedAt });
    const issuedAt = nowSeconds();

    beforeAll(async () => {
      channel = await fixtures.channel('delete');
      accounts = [await linkBy(user, channel.channelId), await linkBy(user, channel.channelId, 'unlinked')];
      othersAccount = await linkBy(otherUser, channel.channelId);
      await connect(user, channel.channelId, accounts, 2);
      await connect(otherUser, channel.channelId, [othersAccount], 1);
      const igsid = `igsid-${uid()}`;
      await fixtures.customer(accounts[0]!, igsid, channel.channelId);
      const [conversation] = await fixtures.conversations({ channelId: channel.channelId, igAccountId: accounts[0]!, igsid }, [{ openedAt: new Date(Date.now() - HOUR_MS), lastMessageAt: new Date(Date.now() - HOUR_MS) }]);
      conversationId = conversation!.conversationId;
      await fixtures.messages(conversation!, 3, new Date(Date.now() - HOUR_MS));
      answer = await callback('/meta/data-deletion', signed());
    });

    it('answers a status url and an unguessable confirmation code', () => {
      expect(answer.status).toBe(200);
      const code = answer.body.confirmation_code as string;
      expect(code).toMatch(/^[0-9a-f]{32}$/);
      expect(answer.body).toEqual({ url: `${engine.config.api.publicBaseUrl}/meta/data-deletion/${code}`, confirmation_code: code });
    });

    it("unlinks the user's accounts and deletes their connection, logins and Page tokens; another user's stay", async () => {
      expect(await accountOf(accounts[0]!)).toMatchObject({ status: 'unlinked', statusReason: { reason: 'data_deleted' }, pageToken: null });
      expect(await accountOf(accounts[1]!)).toMatchObject({ status: 'unlinked', pageToken: null });
      expect(await accountOf(othersAccount)).toMatchObject({ status: 'active', pageToken: { keyId: 'k1' } });
      expect(await engine.models.facebookConnections.countDocuments({ _id: user })).toBe(0);
      expect(await engine.models.facebookLogins.countDocuments({ facebookUserId: user })).toBe(0);
      expect(await engine.models.facebookConnections.countDocuments({ _id: otherUser })).toBe(1);
      expect(await engine.models.facebookLogins.countDocuments({ facebookUserId: otherUser })).toBe(1);
      const notices = await noticesOf(channel);
      expect(notices.map((notice) => [notice.kind, notice.facts.igAccountId, notice.facts.reason])).toEqual([['unlinked_by_facebook', accounts[0], 'data_deleted']]);
    });

    it('records the request, and its status page serves it', async () => {
      const code = answer.body.confirmation_code as string;
      expect(await engine.models.dataDeletionRequests.findOne({ _id: code }).lean()).toMatchObject({
        facebookUserId: user,
        status: 'completed',
        deleted: { unlinkedAccounts: 1, pageTokens: 2, facebookConnections: 1, facebookLogins: 2 },
      });
      const page = await call('GET', new URL(answer.body.url as string).pathname);
      expect(page.status).toBe(200);
      expect(page.contentType).toContain('text/html');
      expect(page.text).toContain(code);
      expect(page.text).toContain('<strong>completed</strong>');
      expect(page.text).toContain('Page access tokens deleted: 2');
      expect(page.text).toContain('Facebook logins deleted: 2');
    });

    it('answers 404 for an unknown code', async () => {
      const missing = await call('GET', '/meta/data-deletion/0123456789abcdef0123456789abcdef');
      expect(missing.status).toBe(404);
      expect(missing.body.error).toEqual({ type: 'DataDeletionRequestNotFound', message: 'no data deletion request has the confirmation code 0123456789abcdef0123456789abcdef' });
    });

    it('keeps the conversations readable through the inbox API', async () => {
      const list = await call('GET', `/v1/channels/${channel.channelId}/conversations?igAccountId=${accounts[0]}`, { key: channel.apiKey });
      expect(list.status).toBe(200);
      expect(list.body.conversations.map((conversation: Json) => conversation.conversationId)).toEqual([conversationId]);
      const messages = await call('GET', `/v1/conversations/${conversationId}/messages`, { key: channel.apiKey });
      expect(messages.status).toBe(200);
      expect(messages.body.messages).toHaveLength(3);
    });

    it('answers the same code to the same request delivered again, and a new one to a new request, with nothing left to delete', async () => {
      const again = await callback('/meta/data-deletion', signed());
      expect(again.body).toEqual(answer.body);
      const later = await callback('/meta/data-deletion', request(user, { issued_at: issuedAt + 5 }));
      expect(later.status).toBe(200);
      expect(later.body.confirmation_code).not.toBe(answer.body.confirmation_code);
      expect(await engine.models.dataDeletionRequests.findOne({ _id: later.body.confirmation_code }).lean()).toMatchObject({
        deleted: { unlinkedAccounts: 0, pageTokens: 0, facebookConnections: 0, facebookLogins: 0 },
      });
      expect(await noticesOf(channel)).toHaveLength(1);
    });
  });

  describe('when Temporal fails', () => {
    const logger = createLogger({ write: () => undefined });

    it('the unlink is written and the callback completes; a workflow call that hangs does not hold the answer', async () => {
      const channel = await fixtures.channel('temporal-down');
      for (const unlinked of [() => Promise.reject(new Error('Temporal is unreachable')), () => new Promise<void>(() => undefined)]) {
        const user = `fb-down-${uid()}`;
        const igAccountId = await linkBy(user, channel.channelId);
        const callbacks = createMetaCallbacks({
          models: engine.models,
          accountWorkflows: { unlinked },
          notices: createNoticeBoard({ models: engine.models, now: Date.now }),
          logger,
          now: Date.now,
          workflowSignalTimeoutMs: 200,
        });
        const started = Date.now();
        expect(await callbacks.deauthorize({ algorithm: 'HMAC-SHA256', issuedAt: nowSeconds(), userId: user })).toEqual({ unlinked: [igAccountId], ended: [igAccountId] });
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(await accountOf(igAccountId)).toMatchObject({ status: 'unlinked', statusReason: { reason: 'deauthorized' } });
      }
      expect(await noticesOf(channel)).toHaveLength(2);
    });
  });

  it('data deletion ends a running account workflow with its reason', async () => {
    const channel = await fixtures.channel('query');
    const user = `fb-query-${uid()}`;
    const igAccountId = await linkBy(user, channel.channelId);
    const account = await accountOf(igAccountId);
    const workflows = createAccountWorkflows({ temporal: engine.temporal, taskQueue: engine.config.temporal.taskQueue, reauthPeriodDays: 60 });
    await workflows.linked({ igAccountId, channelId: channel.channelId, linkedAt: account.linkedAt.getTime(), tokenExpiresAt: null, linkedByFacebookUserId: user });
    try {
      expect((await callback('/meta/data-deletion', request(user))).status).toBe(200);
      const handle = engine.temporal.workflow.getHandle(makeAccountWorkflowId(igAccountId));
      await handle.result();
      expect(await handle.query(getLinkStatusQuery)).toMatchObject({ status: 'unlinked', reason: 'data_deleted' });
    } finally {
      await terminateIfRunning(engine.temporal, makeAccountWorkflowId(igAccountId));
    }
  });
});
