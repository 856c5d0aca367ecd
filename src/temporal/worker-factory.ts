/** Builds the worker with every workflow and activity; tests and `src/worker.ts` share it. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createDiagnosticsActivities } from '../activities/diagnostics';
import { withFailureMapping } from '../activities/failures';
import { createInboundActivities } from '../activities/inbound';
import { createOutboundActivities } from '../activities/outbound';
import type { AppConfig } from '../config';
import type { Models } from '../db/models';
import { createGraphClient, type GraphClient } from '../graph/client';
import type { Logger } from '../logger';
import { publicMediaUrl } from '../outbound/media-store';
import { createTokenCipher } from '../security/token-cipher';

export interface WorkerDeps {
  connection: NativeConnection;
  config: AppConfig;
  models: Models;
  logger: Logger;
  /** Defaults to the Graph API client of the configuration. */
  graph?: GraphClient;
}

export function createActivities(deps: Omit<WorkerDeps, 'connection'>) {
  const { config, models, logger } = deps;
  const graph =
    deps.graph ??
    createGraphClient({
      baseUrl: config.meta.graphApiUrl,
      version: config.meta.graphApiVersion,
      timeoutMs: config.meta.graphApiTimeoutMs,
      appId: config.meta.appId,
      appSecret: config.meta.appSecret,
      logger,
    });
  const cipher = createTokenCipher(config.tokens.keyring);
  return withFailureMapping({
    ...createDiagnosticsActivities({ models }),
    ...createInboundActivities({
      models,
      graph,
      cipher,
      logger,
      appId: config.meta.appId,
      profileStaleAfterMs: config.inbound.profileStaleAfterMs,
    }),
    ...createOutboundActivities({ models, graph, cipher, logger, mediaUrl: (mediaId) => publicMediaUrl(config.api.publicBaseUrl, mediaId) }),
  });
}

export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    taskQueue: deps.config.temporal.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities(deps),
    maxConcurrentActivityTaskExecutions: deps.config.temporal.maxConcurrentActivities,
  });
}
