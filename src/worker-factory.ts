/** Builds the worker with every workflow and activity; tests and `src/worker.ts` share it. */
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { NoticeBoard } from './activities/account-contract';
import { createAccountActivities } from './activities/accounts';
import { createDiagnosticsActivities } from './activities/diagnostics';
import { withFailureMapping } from './activities/failures';
import { createInboundActivities } from './activities/inbound';
import { createOutboundActivities } from './activities/outbound';
import type { AppConfig } from './config';
import type { Models } from './db/models';
import type { GraphClient } from './graph/client';
import { createConfiguredGraphClient } from './graph/configured';
import type { Logger } from './logger';
import type { WorkerMetrics } from './metrics/engine-metrics';
import { createNoticeBoard } from './notices/notice-board';
import { publicMediaUrl } from './outbound/media-store';
import { createTokenCipher } from './security/token-cipher';
import type { TokenRevokedReason } from './domain/link';
import { tokenRevokedSignal } from './workflows/account-lifecycle';
import { makeAccountWorkflowId } from './temporal/names';

export interface WorkerDeps {
  connection: NativeConnection;
  config: AppConfig;
  models: Models;
  logger: Logger;
  /** The worker process's registry and counters, which its activities count into. */
  metrics: WorkerMetrics;
  /** Defaults to the Graph API client of the configuration. */
  graph?: GraphClient;
  /** The owners' personal rooms; defaults to the notices collection of the engine's database. */
  noticeBoard?: NoticeBoard;
}

/** Signals `tokenRevoked` to an account's lifecycle workflow; false when it is not running. */
export function accountSignaller(client: Client) {
  return async (igAccountId: string, signal: { reason: TokenRevokedReason }): Promise<boolean> => {
    try {
      await client.workflow.getHandle(makeAccountWorkflowId(igAccountId)).signal(tokenRevokedSignal, signal);
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  };
}

export function createActivities(deps: Omit<WorkerDeps, 'connection'> & { temporal?: Client }) {
  const { config, models, logger, metrics } = deps;
  const graph = deps.graph ?? createConfiguredGraphClient(config.meta, logger);
  const cipher = createTokenCipher(config.tokens.keyring);
  return withFailureMapping({
    ...createDiagnosticsActivities({ models }),
    ...createInboundActivities({
      models,
      graph,
      cipher,
      logger,
      metrics,
      appId: config.meta.appId,
      profileStaleAfterMs: config.inbound.profileStaleAfterMs,
    }),
    ...createOutboundActivities({
      models,
      graph,
      cipher,
      logger,
      metrics,
      mediaUrl: (mediaId) => publicMediaUrl(config.api.publicBaseUrl, mediaId),
      ...(deps.temporal === undefined ? {} : { signalAccount: accountSignaller(deps.temporal) }),
    }),
    ...createAccountActivities({ models, graph, cipher, logger, noticeBoard: deps.noticeBoard ?? createNoticeBoard({ models, now: Date.now }) }),
  });
}

export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    taskQueue: deps.config.temporal.taskQueue,
    workflowsPath: require.resolve('./workflows'),
    // The worker's own connection serves the activities that signal workflows.
    activities: createActivities({ ...deps, temporal: new Client({ connection: deps.connection, namespace: deps.config.temporal.namespace }) }),
    maxConcurrentActivityTaskExecutions: deps.config.temporal.maxConcurrentActivities,
    maxCachedWorkflows: deps.config.temporal.maxCachedWorkflows,
  });
}
