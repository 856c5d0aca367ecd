/**
 * The daily token check for real: an account linked through Facebook Login, its lifecycle workflow on the
 * time-skipping server with the engine's own activities (the database, the notice board, debug_token on the Meta
 * emulator). Facebook ends the link early (a password change, an early expiry); the next daily check notices, the
 * account shows why, and the channel's owners (only they) get the matching notice.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createAccountActivities } from '../../src/activities/accounts';
import { withFailureMapping } from '../../src/activities/failures';
import type { LinkedAccount } from '../../src/db/models/linked-account';
import { createLogger } from '../../src/logger';
import { createNoticeBoard } from '../../src/notices/notice-board';
import { createTokenCipher } from '../../src/security/token-cipher';
import { makeAccountWorkflowId } from '../../src/temporal/names';
import { accountLifecycleWorkflow, TOKEN_CHECK_INTERVAL_MS, unlinkedSignal } from '../../src/workflows/account-lifecycle';
import { startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';
import { createLinkingHelpers } from '../support/linking-world';
import { createTimeSkippingEnvironment } from '../support/time-skipping';

jest.setTimeout(180_000);

describe('the daily token check', () => {
  let world: InboundWorld;
  let env: TestWorkflowEnvironment;
  const { api, seedBusiness, newChannel, link } = createLinkingHelpers(() => world);

  beforeAll(async () => {
    // No engine worker: the account's workflow runs on the time-skipping server below, with the same activities.
    world = await startInboundWorld({ worker: false });
  });

  afterAll(async () => {
    await world?.close();
  });

  beforeEach(async () => {
    env = await createTimeSkippingEnvironment();
  });

  afterEach(async () => {
    await env?.teardown();
  });

  const killers: Record<string, (business: { user: { id: string } }, pageToken: string) => Promise<void>> = {
    'a changed Facebook password': async (business) => {
      expect((await world.control('POST', `/fb-users/${business.user.id}/password`, { password: `new-${randomUUID()}` })).status).toBe(200);
    },
    'an early expiry of the session': async (_business, pageToken) => {
      expect((await world.control('POST', '/tokens/expire', { token: pageToken })).status).toBe(200);
    },
  };
  const expected: Record<string, { reason: string }> = {
    'a changed Facebook password': { reason: 'password_changed' },
    'an early expiry of the session': { reason: 'expired_early' },
  };

  it.each(Object.keys(killers))('ends the link at the first check after %s, and tells the owners', async (cause) => {
    const business = await seedBusiness(['checked']);
    const channel = await newChannel();
    const igAccountId = business.pages[0]!.igAccountId!;
    expect((await link(channel, business)).status).toBe(200);
    const cipher = createTokenCipher(world.engine.config.tokens.keyring);
    const account = (await world.engine.models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>())!;

    const taskQueue = `token-check-${randomUUID()}`;
    const activities = withFailureMapping(
      createAccountActivities({ models: world.engine.models, graph: world.graph, cipher, noticeBoard: createNoticeBoard({ models: world.engine.models, now: Date.now }), logger: createLogger({ write: () => undefined }) }),
    );
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../src/workflows'), activities, maxCachedWorkflows: 0 });
    const linkedAt = await env.currentTimeMs();
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(accountLifecycleWorkflow, {
        workflowId: makeAccountWorkflowId(igAccountId),
        taskQueue,
        args: [{ igAccountId, channelId: channel.channelId, linkedAt, tokenExpiresAt: null, reauthPeriodDays: 60, linkedByFacebookUserId: business.user.id }],
      });
      await killers[cause]!(business, cipher.open(account.pageToken!, { boundTo: igAccountId }));
      // Skip exactly to the daily check. Time must stay locked while the test then polls the database: a workflow
      // with no timer left would otherwise be skipped to its run's timeout before the owner's unlink arrives.
      await env.sleep(TOKEN_CHECK_INTERVAL_MS);
      await world.eventually(async () => ((await world.engine.models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>())?.status === 'reauth_required' ? true : undefined), 60_000, 'the ended link', 100);
      await handle.signal(unlinkedSignal, { reason: 'by_owner' });
      await handle.result();
      const history = await handle.fetchHistory();
      const checks = (history.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'checkToken');
      expect(checks).toHaveLength(1);
      const { seconds, nanos } = checks[0]!.eventTime!;
      const checkedAt = Number(seconds) * 1000 + Math.floor((nanos ?? 0) / 1e6);
      expect(checkedAt).toBeGreaterThanOrEqual(linkedAt + TOKEN_CHECK_INTERVAL_MS);
      expect(checkedAt).toBeLessThan(linkedAt + TOKEN_CHECK_INTERVAL_MS + 60_000);
    });

    expect(await world.engine.models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>()).toMatchObject({ status: 'unlinked' });
    const owners = await api(channel.ownerKey, 'GET', '/v1/me/notices');
    expect(owners.body.notices).toEqual([expect.objectContaining({ kind: 'link_dropped', facts: expect.objectContaining({ igAccountId, reason: expected[cause]!.reason }) })]);
    expect((owners.body.notices as Json[])[0].body).toMatch(/re-authenticate/);
    expect((await api(channel.agentKey, 'GET', '/v1/me/notices')).body.notices).toEqual([]);
  });
});
