/**
 * The account lifecycle workflow on the time-skipping test server: the re-authentication notice and the expiry at
 * their exact days, a re-authentication moving both, Meta's earlier token expiry, links ended early (by the outbox's
 * signal, by the daily token check), continue-as-new, the status query. Activities are stubbed (this layer only).
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { TokenCheck } from '../../src/activities/account-contract';
import { makeAccountWorkflowId } from '../../src/temporal/names';
import {
  accountLifecycleWorkflow,
  getLinkStatusQuery,
  reauthorizedSignal,
  tokenRevokedSignal,
  unlinkedSignal,
  type AccountLifecycleInput,
  type LinkStatusView,
} from '../../src/workflows/account-lifecycle';
import { createAccountStubs, type AccountStubs, type AccountStubScript, type CallContext } from '../support/account-stubs';
import { createTimeSkippingEnvironment } from '../support/time-skipping';
import { waitUntil } from '../support/poll';

jest.setTimeout(180_000);

const DAY_MS = 24 * 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

describe('accountLifecycleWorkflow', () => {
  let env: TestWorkflowEnvironment;

  // One test server per test: time skipping is global to a server, and a run left over from another test would
  // hold the clock of the next one.
  beforeEach(async () => {
    env = await createTimeSkippingEnvironment();
  });

  afterEach(async () => {
    await env?.teardown();
  });

  interface Link {
    igAccountId: string;
    workflowId: string;
    /** The server's time when the test linked the account. */
    linkedAt: number;
  }

  async function newLink(): Promise<Link> {
    const igAccountId = `ig-${randomUUID().slice(0, 8)}`;
    return { igAccountId, workflowId: makeAccountWorkflowId(igAccountId), linkedAt: await env.currentTimeMs() };
  }

  /** Once the link ends (any status but active), the owner unlinks the account, so the run ends and time stops. */
  const unlinkOnceEnded: AccountStubScript['afterStatus'] = async (call) => {
    if (call.status === 'reauth_required' || call.status === 'messages_access_off') {
      await env.client.workflow.getHandle(call.workflowId).signal(unlinkedSignal, { reason: 'by_owner' });
    }
  };

  /** Runs a link until its workflow ends, with a worker on its own queue; answers the final status. */
  async function runLink(link: Link, stubs: AccountStubs, input: Partial<AccountLifecycleInput> = {}): Promise<LinkStatusView> {
    const taskQueue = `account-${randomUUID()}`;
    // No sticky cache: the test server does not skip time while a run's next task waits on a sticky queue.
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../src/workflows'), activities: stubs.activities, maxCachedWorkflows: 0 });
    return worker.runUntil(async () => {
      const handle = await env.client.workflow.start(accountLifecycleWorkflow, {
        workflowId: link.workflowId,
        taskQueue,
        args: [{ igAccountId: link.igAccountId, channelId: 'channel-1', linkedAt: link.linkedAt, tokenExpiresAt: null, reauthPeriodDays: 60, linkedByFacebookUserId: 'fb-user-1', ...input }],
      });
      return handle.result();
    });
  }

  /** A call made at exactly `at` by a durable timer (the server adds no more than the processing of a task). */
  function expectAt(call: CallContext | undefined, at: number): void {
    expect(call).toBeDefined();
    expect(call!.at).toBeGreaterThanOrEqual(at);
    expect(call!.at).toBeLessThan(at + MINUTE_MS);
  }

  it('posts one re-authentication notice to the owners on day 53 of a 60-day link, and expires it on day 60', async () => {
    const link = await newLink();
    const stubs = createAccountStubs({ afterStatus: unlinkOnceEnded });
    const result = await runLink(link, stubs);

    const expiresAt = link.linkedAt + 60 * DAY_MS;
    expect(stubs.log.notices.map((notice) => notice.kind)).toEqual(['reauth_due', 'link_expired']);
    const [warning, expired] = stubs.log.notices;
    expect(warning).toMatchObject({ channelId: 'channel-1', igAccountId: link.igAccountId, dedupeKey: `reauth-due/${link.igAccountId}/${expiresAt}`, facts: { expiresAt } });
    expectAt(warning, link.linkedAt + 53 * DAY_MS);
    expectAt(expired, expiresAt);
    expect(stubs.log.statuses.map(({ status, reason }) => ({ status, reason }))).toEqual([
      { status: 'reauth_required', reason: 'reauth_period_over' },
      { status: 'unlinked', reason: 'by_owner' },
    ]);
    expectAt(stubs.log.statuses[0], expiresAt);
    // Daily checks while the link lives (days 1 to 59); none once it expired.
    expect(stubs.log.checks).toHaveLength(59);
    expect(result).toMatchObject({ status: 'unlinked', expiresAt, warningAt: expiresAt - 7 * DAY_MS, warningSent: true, lastCheckAt: link.linkedAt + 59 * DAY_MS });
  });

  it('moves both the notice and the expiry when the owner re-authenticates on day 55', async () => {
    const link = await newLink();
    let reauthorizedAt: number | undefined;
    const stubs = createAccountStubs({
      afterStatus: unlinkOnceEnded,
      async checkToken(call) {
        if (reauthorizedAt === undefined && call.at >= link.linkedAt + 55 * DAY_MS) {
          reauthorizedAt = call.at;
          await env.client.workflow.getHandle(call.workflowId).signal(reauthorizedSignal, { linkedAt: reauthorizedAt, tokenExpiresAt: null });
        }
        return { valid: true };
      },
    });
    // Short runs keep this 115-day test quick (every task replays its run's history: the worker caches none).
    const result = await runLink(link, stubs, { checksPerRun: 10 });

    expectAt({ at: reauthorizedAt!, workflowId: '', runId: '' }, link.linkedAt + 55 * DAY_MS);
    const firstExpiry = link.linkedAt + 60 * DAY_MS;
    const secondExpiry = reauthorizedAt! + 60 * DAY_MS;
    expect(stubs.log.notices.map(({ kind, facts }) => ({ kind, expiresAt: facts.expiresAt }))).toEqual([
      // Posted on day 53, before the re-authentication; the old expiry never fires.
      { kind: 'reauth_due', expiresAt: firstExpiry },
      { kind: 'reauth_due', expiresAt: secondExpiry },
      { kind: 'link_expired', expiresAt: secondExpiry },
    ]);
    expectAt(stubs.log.notices[0], link.linkedAt + 53 * DAY_MS);
    expectAt(stubs.log.notices[1], reauthorizedAt! + 53 * DAY_MS);
    expectAt(stubs.log.notices[2], secondExpiry);
    expect(stubs.log.statuses[0]).toMatchObject({ status: 'reauth_required', reason: 'reauth_period_over' });
    expectAt(stubs.log.statuses[0], secondExpiry);
    expect(result).toMatchObject({ linkedAt: reauthorizedAt, expiresAt: secondExpiry, warningSent: true });
  });

  it('ends the link on day 10 when the outbox reports a changed password then, and posts nothing more', async () => {
    const link = await newLink();
    const stubs = createAccountStubs({
      afterStatus: unlinkOnceEnded,
      async checkToken(call) {
        // The outbox's report arrives with the day-10 check (a send failed with Meta's password-changed error).
        if (call.at >= link.linkedAt + 10 * DAY_MS) await env.client.workflow.getHandle(call.workflowId).signal(tokenRevokedSignal, { reason: 'password_changed' });
        return { valid: true };
      },
    });
    const result = await runLink(link, stubs);

    expect(stubs.log.statuses.map(({ status, reason }) => ({ status, reason }))).toEqual([
      { status: 'reauth_required', reason: 'password_changed' },
      { status: 'unlinked', reason: 'by_owner' },
    ]);
    expectAt(stubs.log.statuses[0], link.linkedAt + 10 * DAY_MS);
    expect(stubs.log.notices).toHaveLength(1);
    expect(stubs.log.notices[0]).toMatchObject({ kind: 'link_dropped', facts: { reason: 'password_changed' }, dedupeKey: `link-dropped/${link.igAccountId}/${link.linkedAt}` });
    expectAt(stubs.log.notices[0], link.linkedAt + 10 * DAY_MS);
    expect(stubs.log.checks).toHaveLength(10);
    expect(result).toMatchObject({ status: 'unlinked', warningSent: false });
  });

  it("expires the link at Meta's token expiry when it comes before the end of the period", async () => {
    const link = await newLink();
    const tokenExpiresAt = link.linkedAt + 30 * DAY_MS;
    const stubs = createAccountStubs({ afterStatus: unlinkOnceEnded });
    const result = await runLink(link, stubs, { tokenExpiresAt });

    expect(stubs.log.notices.map(({ kind, facts }) => ({ kind, expiresAt: facts.expiresAt }))).toEqual([
      { kind: 'reauth_due', expiresAt: tokenExpiresAt },
      { kind: 'link_expired', expiresAt: tokenExpiresAt },
    ]);
    expectAt(stubs.log.notices[0], link.linkedAt + 23 * DAY_MS);
    expectAt(stubs.log.notices[1], tokenExpiresAt);
    expect(result).toMatchObject({ expiresAt: tokenExpiresAt, warningAt: link.linkedAt + 23 * DAY_MS });
  });

  it('ends the link when the daily token check finds the token dead, and adopts the expiry Meta reports', async () => {
    const link = await newLink();
    const stubs = createAccountStubs({
      afterStatus: unlinkOnceEnded,
      checkToken(call): TokenCheck {
        const day = Math.round((call.at - link.linkedAt) / DAY_MS);
        // Meta says on day 2 that the token lasts 40 days; on day 4 the token is dead (removed app).
        if (day === 2) return { valid: true, expiresAt: link.linkedAt + 40 * DAY_MS };
        if (day >= 4) return { valid: false, reason: 'app_removed' };
        return { valid: true };
      },
    });
    const result = await runLink(link, stubs);

    expect(stubs.log.checks).toHaveLength(4);
    expect(stubs.log.statuses[0]).toMatchObject({ status: 'reauth_required', reason: 'app_removed' });
    expectAt(stubs.log.statuses[0], link.linkedAt + 4 * DAY_MS);
    expect(stubs.log.notices.map(({ kind, facts }) => ({ kind, reason: facts.reason }))).toEqual([{ kind: 'link_dropped', reason: 'app_removed' }]);
    expect(result).toMatchObject({ expiresAt: link.linkedAt + 40 * DAY_MS, lastCheckAt: link.linkedAt + 4 * DAY_MS });
  });

  it("ends quietly on the first token check after Meta's callback unlinked the account while the signal was lost", async () => {
    const link = await newLink();
    const stubs = createAccountStubs({
      checkToken(call): TokenCheck {
        // The database says unlinked from day 3 on (deauthorize callback); the workflow never got the signal.
        return Math.round((call.at - link.linkedAt) / DAY_MS) >= 3 ? { valid: false, unlinkedBecause: 'deauthorized' } : { valid: true };
      },
    });
    const result = await runLink(link, stubs);

    expect(stubs.log.checks).toHaveLength(3);
    expect(stubs.log.statuses.map(({ status, reason }) => ({ status, reason }))).toEqual([{ status: 'unlinked', reason: 'deauthorized' }]);
    // The callback told the owners; the workflow adds no notice of its own (no "link dropped").
    expect(stubs.log.notices).toEqual([]);
    expect(result).toMatchObject({ status: 'unlinked', reason: 'deauthorized', lastCheckAt: link.linkedAt + 3 * DAY_MS });
  });

  it('keeps its state across continue-as-new: one notice, the expiry on time, the last check', async () => {
    const link = await newLink();
    const stubs = createAccountStubs({ afterStatus: unlinkOnceEnded });
    const result = await runLink(link, stubs, { checksPerRun: 7 });

    const runs = new Set(stubs.log.checks.map((check) => check.runId));
    // 59 daily checks, 7 per run.
    expect(runs.size).toBe(9);
    expect(stubs.log.checks).toHaveLength(59);
    expect(stubs.log.notices.map((notice) => notice.kind)).toEqual(['reauth_due', 'link_expired']);
    expectAt(stubs.log.notices[0], link.linkedAt + 53 * DAY_MS);
    expectAt(stubs.log.notices[1], link.linkedAt + 60 * DAY_MS);
    expect(result).toMatchObject({ status: 'unlinked', linkedAt: link.linkedAt, linkedByFacebookUserId: 'fb-user-1', warningSent: true, lastCheckAt: link.linkedAt + 59 * DAY_MS });
  });

  it('answers its status; messages access turned off stops the link with its notice; re-authentication restores it', async () => {
    const link = await newLink();
    const stubs = createAccountStubs();
    const taskQueue = `account-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../src/workflows'), activities: stubs.activities, maxCachedWorkflows: 0 });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(accountLifecycleWorkflow, {
        workflowId: link.workflowId,
        taskQueue,
        args: [{ igAccountId: link.igAccountId, channelId: 'channel-1', linkedAt: link.linkedAt, tokenExpiresAt: null, reauthPeriodDays: 60, linkedByFacebookUserId: 'fb-user-1' }],
      });
      const expiresAt = link.linkedAt + 60 * DAY_MS;
      expect(await handle.query(getLinkStatusQuery)).toEqual({
        channelId: 'channel-1',
        status: 'active',
        reason: null,
        linkedAt: link.linkedAt,
        linkedByFacebookUserId: 'fb-user-1',
        expiresAt,
        warningAt: expiresAt - 7 * DAY_MS,
        warningSent: false,
        lastCheckAt: null,
      });

      await handle.signal(tokenRevokedSignal, { reason: 'messages_access_off' });
      await waitFor(async () => (await handle.query(getLinkStatusQuery)).status === 'messages_access_off' && stubs.log.notices.length === 1);
      expect(stubs.log.statuses.map(({ status, reason }) => ({ status, reason }))).toEqual([{ status: 'messages_access_off', reason: 'messages_access_off' }]);
      expect(stubs.log.notices[0]).toMatchObject({ kind: 'messages_access_off', dedupeKey: `messages-access-off/${link.igAccountId}/${link.linkedAt}` });
      // A second report of the same problem changes nothing and tells nobody again.
      await handle.signal(tokenRevokedSignal, { reason: 'password_changed' });

      const reauthorizedAt = await env.currentTimeMs();
      await handle.signal(reauthorizedSignal, { linkedAt: reauthorizedAt, tokenExpiresAt: reauthorizedAt + 45 * DAY_MS });
      await waitFor(async () => (await handle.query(getLinkStatusQuery)).status === 'active');
      expect(await handle.query(getLinkStatusQuery)).toMatchObject({ status: 'active', reason: 'reauthorized', linkedAt: reauthorizedAt, expiresAt: reauthorizedAt + 45 * DAY_MS });

      await handle.signal(unlinkedSignal, { reason: 'linked_to_another_channel' });
      expect(await handle.result()).toMatchObject({ status: 'unlinked', reason: 'linked_to_another_channel' });
    });
    expect(stubs.log.statuses.map(({ status, reason }) => ({ status, reason }))).toEqual([
      { status: 'messages_access_off', reason: 'messages_access_off' },
      { status: 'active', reason: 'reauthorized' },
      { status: 'unlinked', reason: 'linked_to_another_channel' },
    ]);
    expect(stubs.log.notices.map((notice) => notice.kind)).toEqual(['messages_access_off', 'unlinked_elsewhere']);
  });

  it('follows its account to another channel (the old owners are told once) and keeps going when linked again after an unlink', async () => {
    const link = await newLink();
    const stubs = createAccountStubs();
    const taskQueue = `account-${randomUUID()}`;
    const newWorker = () => Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('../../src/workflows'), activities: stubs.activities, maxCachedWorkflows: 0 });
    const handle = await env.client.workflow.start(accountLifecycleWorkflow, {
      workflowId: link.workflowId,
      taskQueue,
      args: [{ igAccountId: link.igAccountId, channelId: 'channel-a', linkedAt: link.linkedAt, tokenExpiresAt: null, reauthPeriodDays: 60, linkedByFacebookUserId: 'fb-user-1' }],
    });
    const movedAt = link.linkedAt + 1;
    await (await newWorker()).runUntil(async () => {
      await handle.signal(reauthorizedSignal, { linkedAt: movedAt, tokenExpiresAt: null, channelId: 'channel-b', linkedByFacebookUserId: 'fb-user-1' });
      await waitFor(async () => (await handle.query(getLinkStatusQuery)).channelId === 'channel-b');
    });
    expect(stubs.log.notices.map(({ kind, channelId }) => ({ kind, channelId }))).toEqual([{ kind: 'unlinked_elsewhere', channelId: 'channel-a' }]);

    // Unlinked, then linked again before the run saw the unlink (no worker runs meanwhile, so the run sees both at
    // once): the same run carries on, active, for channel C. An unlink by an owner tells nobody.
    const relinkedAt = movedAt + 1;
    await handle.signal(unlinkedSignal, { reason: 'by_owner' });
    await handle.signal(reauthorizedSignal, { linkedAt: relinkedAt, tokenExpiresAt: null, channelId: 'channel-c', linkedByFacebookUserId: 'fb-user-2' });
    await (await newWorker()).runUntil(async () => {
      await waitFor(async () => (await handle.query(getLinkStatusQuery)).channelId === 'channel-c');
      expect(await handle.query(getLinkStatusQuery)).toMatchObject({ status: 'active', channelId: 'channel-c', linkedAt: relinkedAt, linkedByFacebookUserId: 'fb-user-2', expiresAt: relinkedAt + 60 * DAY_MS });
      await handle.signal(unlinkedSignal, { reason: 'by_owner' });
      expect(await handle.result()).toMatchObject({ status: 'unlinked', reason: 'by_owner', channelId: 'channel-c' });
    });
    expect(stubs.log.notices).toHaveLength(1);
    expect(stubs.log.statuses.map(({ status, reason }) => ({ status, reason }))).toEqual([
      { status: 'unlinked', reason: 'by_owner' },
      { status: 'active', reason: 'reauthorized' },
      { status: 'unlinked', reason: 'by_owner' },
    ]);
  });

  /** Polls until the worker has done what the test waits for; how long that takes depends only on the machine's load. */
  const waitFor = (probe: () => Promise<boolean>): Promise<void> => waitUntil(probe);
});
