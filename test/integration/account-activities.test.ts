/**
 * The account lifecycle's activities on their own (DESIGN.md "activities" layer): run in MockActivityEnvironment
 * against the real database and the Meta emulator's debug_token, with the demo account linked through the real
 * OAuth flow. Also the outbox's hand-over of a token problem to the account's workflow.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { AccountActivities, NoticeBoard } from '../../src/activities/account-contract';
import { createAccountActivities } from '../../src/activities/accounts';
import { withFailureMapping } from '../../src/activities/failures';
import { createOutboundActivities } from '../../src/activities/outbound';
import type { LinkedAccount } from '../../src/db/models/linked-account';
import type { TokenRevokedReason } from '../../src/domain/link';
import { createLogger } from '../../src/logger';
import { createTokenCipher } from '../../src/security/token-cipher';
import { FailureType } from '../../src/temporal/failures';
import { makeAccountWorkflowId } from '../../src/temporal/names';
import { accountSignaller } from '../../src/worker-factory';
import { accountLifecycleWorkflow, tokenRevokedSignal } from '../../src/workflows/account-lifecycle';
import { terminateIfRunning } from '../support/engine';
import { DEMO, startInboundWorld, type InboundWorld } from '../support/inbound-world';

jest.setTimeout(120_000);

describe('account activities', () => {
  let world: InboundWorld;
  let activities: AccountActivities;
  const posted: Array<Parameters<NoticeBoard['postToOwners']>[0]> = [];
  // The expected failures are asserted here, not logged.
  const environment = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const logger = createLogger({ write: () => undefined });

  beforeAll(async () => {
    world = await startInboundWorld({ worker: false });
    const noticeBoard: NoticeBoard = {
      postToOwners(input) {
        posted.push(input);
        return Promise.resolve({ posted: 1 });
      },
    };
    // Wrapped as the worker wraps them, so failures cross as the workflow sees them.
    activities = withFailureMapping(
      createAccountActivities({ models: world.engine.models, graph: world.graph, cipher: createTokenCipher(world.engine.config.tokens.keyring), noticeBoard, logger }),
    );
  });

  afterAll(async () => {
    await world?.close();
  });

  const account = async (): Promise<LinkedAccount> => (await world.engine.models.linkedAccounts.findOne({ _id: DEMO.igAccount.id }).lean<LinkedAccount>())!;

  async function failureOfCall(call: () => Promise<unknown>): Promise<ApplicationFailure> {
    const error = await environment.run(call).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  }

  it('records a link status with its reason once: the same status again writes nothing; active clears the reason', async () => {
    const igAccountId = DEMO.igAccount.id;
    await environment.run(() => activities.recordLinkStatus({ igAccountId, status: 'reauth_required', reason: 'password_changed' }));
    const first = await account();
    expect(first).toMatchObject({ status: 'reauth_required', statusReason: { type: 'TokenInvalid', reason: 'password_changed' } });
    expect(first.statusReason?.message).toMatch(/password/);

    await environment.run(() => activities.recordLinkStatus({ igAccountId, status: 'reauth_required', reason: 'password_changed' }));
    expect((await account()).updatedAt).toEqual(first.updatedAt);

    await environment.run(() => activities.recordLinkStatus({ igAccountId, status: 'active', reason: 'reauthorized' }));
    expect(await account()).toMatchObject({ status: 'active', statusReason: null });
  });

  it('asks the notice board to post to the owners, in words, with the dedupe key and the facts', async () => {
    const expiresAt = Date.UTC(2030, 0, 31);
    const result = await environment.run(() =>
      activities.notifyOwners({ channelId: world.channelId, igAccountId: DEMO.igAccount.id, kind: 'reauth_due', dedupeKey: `reauth-due/${DEMO.igAccount.id}/${expiresAt}`, facts: { expiresAt } }),
    );
    expect(result).toEqual({ posted: 1 });
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({
      channelId: world.channelId,
      kind: 'reauth_due',
      dedupeKey: `reauth-due/${DEMO.igAccount.id}/${expiresAt}`,
      facts: { igAccountId: DEMO.igAccount.id, expiresAt },
    });
    expect(posted[0]!.title).toBe(`@${DEMO.igAccount.username}: re-authentication due by 2030-01-31`);
    expect(posted[0]!.body).toMatch(/Facebook account that made the link/);
  });

  it('refuses to check the token of an account that is not linked, with the failure type', async () => {
    const failure = await failureOfCall(() => activities.checkToken({ igAccountId: 'not-linked' }));
    expect(failure).toMatchObject({ type: FailureType.AccountNotActive, nonRetryable: true });
  });

  it("checks the account's Page token with Meta: valid and never expiring, then dead once the owner's password changed", async () => {
    await world.engine.models.linkedAccounts.updateOne({ _id: DEMO.igAccount.id }, { $set: { tokenExpiresAt: new Date(Date.now() + 86_400_000) } });
    expect(await environment.run(() => activities.checkToken({ igAccountId: DEMO.igAccount.id }))).toEqual({ valid: true, expiresAt: null });
    // What Meta said is kept for the account's status in the API.
    expect((await account()).tokenExpiresAt).toBeNull();

    const changed = await world.control('POST', `/fb-users/${DEMO.user.id}/password`, { password: 'a-new-password' });
    expect(changed.status).toBe(200);
    expect(await environment.run(() => activities.checkToken({ igAccountId: DEMO.igAccount.id }))).toEqual({ valid: false, reason: 'password_changed' });
  });

  describe('an account unlinked in the database (Meta callbacks) while its workflow did not hear of it', () => {
    const unlink = () =>
      world.engine.models.linkedAccounts.updateOne({ _id: DEMO.igAccount.id }, { $set: { status: 'unlinked', statusReason: { type: 'Unlinked', reason: 'deauthorized', message: 'removed', at: new Date() } } });

    afterEach(async () => {
      await world.engine.models.linkedAccounts.updateOne({ _id: DEMO.igAccount.id }, { $set: { status: 'active', statusReason: null } });
    });

    it('keeps the unlink against a token problem from the workflow or the outbox; only a new link makes it active', async () => {
      await unlink();
      await environment.run(() => activities.recordLinkStatus({ igAccountId: DEMO.igAccount.id, status: 'reauth_required', reason: 'app_removed' }));
      const outbound = createOutboundActivities({ models: world.engine.models, graph: world.graph, cipher: createTokenCipher(world.engine.config.tokens.keyring), logger, metrics: world.engine.metrics.worker, mediaUrl: (id) => id });
      await environment.run(() => outbound.reportAccountProblem({ igAccountId: DEMO.igAccount.id, type: 'TokenInvalid', reason: 'app_removed', message: 'app removed' }));
      expect(await account()).toMatchObject({ status: 'unlinked', statusReason: { reason: 'deauthorized' } });

      await environment.run(() => activities.recordLinkStatus({ igAccountId: DEMO.igAccount.id, status: 'active', reason: 'reauthorized' }));
      expect(await account()).toMatchObject({ status: 'active', statusReason: null });
    });

    it('answers the token check with the unlink and its reason, without asking Meta', async () => {
      await unlink();
      await world.engine.models.linkedAccounts.updateOne({ _id: DEMO.igAccount.id }, { $set: { 'statusReason.reason': 'data_deleted' } });
      expect(await environment.run(() => activities.checkToken({ igAccountId: DEMO.igAccount.id }))).toEqual({ valid: false, unlinkedBecause: 'data_deleted' });
    });
  });

  describe("the outbox's report of an account problem", () => {
    function outbound(signalAccount?: (igAccountId: string, signal: { reason: TokenRevokedReason }) => Promise<boolean>) {
      return createOutboundActivities({
        models: world.engine.models,
        graph: world.graph,
        cipher: createTokenCipher(world.engine.config.tokens.keyring),
        logger,
        metrics: world.engine.metrics.worker,
        mediaUrl: (mediaId) => `http://127.0.0.1:9/media/${mediaId}`,
        ...(signalAccount === undefined ? {} : { signalAccount }),
      });
    }

    beforeEach(async () => {
      await world.engine.models.linkedAccounts.updateOne({ _id: DEMO.igAccount.id }, { $set: { status: 'active', statusReason: null } });
    });

    it("goes to the account's workflow when it runs, which then owns the status", async () => {
      const signals: Array<{ igAccountId: string; reason: TokenRevokedReason }> = [];
      const activitiesWithWorkflow = outbound((igAccountId, { reason }) => {
        signals.push({ igAccountId, reason });
        return Promise.resolve(true);
      });
      await environment.run(() => activitiesWithWorkflow.reportAccountProblem({ igAccountId: DEMO.igAccount.id, type: 'TokenInvalid', reason: 'expired', message: 'the access token is no longer valid' }));
      await environment.run(() => activitiesWithWorkflow.reportAccountProblem({ igAccountId: DEMO.igAccount.id, type: 'MessagesAccessOff', message: 'messages access is off' }));
      expect(signals).toEqual([
        { igAccountId: DEMO.igAccount.id, reason: 'expired_early' },
        { igAccountId: DEMO.igAccount.id, reason: 'messages_access_off' },
      ]);
      expect(await account()).toMatchObject({ status: 'active', statusReason: null });
    });

    it("reaches the account's workflow through Temporal, and says so when none runs", async () => {
      const signalAccount = accountSignaller(world.engine.temporal);
      // Not the demo account: workflow ids are shared by every test on the server, and other tests send from it.
      const igAccountId = `ig-signal-${world.channelId}`;
      expect(await signalAccount(igAccountId, { reason: 'invalid' })).toBe(false);

      // Started with no worker on its queue: the signal is stored in its history all the same.
      const handle = await world.engine.temporal.workflow.start(accountLifecycleWorkflow, {
        workflowId: makeAccountWorkflowId(igAccountId),
        taskQueue: `no-worker-${world.channelId}`,
        args: [{ igAccountId, channelId: world.channelId, linkedAt: Date.now(), tokenExpiresAt: null, reauthPeriodDays: 60, linkedByFacebookUserId: DEMO.user.id }],
      });
      try {
        expect(await signalAccount(igAccountId, { reason: 'password_changed' })).toBe(true);
        const signalled = (await handle.fetchHistory()).events?.find((event) => event.workflowExecutionSignaledEventAttributes?.signalName === tokenRevokedSignal.name);
        expect(signalled).toBeDefined();
      } finally {
        await terminateIfRunning(world.engine.temporal, handle.workflowId);
      }
    });

    it('is written on the linked account when no workflow runs for it', async () => {
      const activitiesWithoutWorkflow = outbound(() => Promise.resolve(false));
      await environment.run(() => activitiesWithoutWorkflow.reportAccountProblem({ igAccountId: DEMO.igAccount.id, type: 'TokenInvalid', reason: 'password_changed', message: 'the access token is no longer valid' }));
      expect(await account()).toMatchObject({ status: 'reauth_required', statusReason: { type: 'TokenInvalid', reason: 'password_changed' } });
    });
  });
});
