/**
 * The API process's recorder of customers' messages to open conversations (message-projector.ts), assembled from the
 * conversation workflow's own inbound activities, so that a message is recorded the same way whichever process does
 * it. Absent when `WEBHOOK_RECORD_OPEN_CONVERSATIONS` is false: every event then goes through the workflows.
 */
import { createInboundActivities } from '../activities/inbound';
import type { AppConfig } from '../config';
import type { Models } from '../db/models';
import { createConfiguredGraphClient } from '../graph/configured';
import type { Logger } from '../logger';
import type { EngineMetrics } from '../metrics/engine-metrics';
import { createTokenCipher } from '../security/token-cipher';
import { createMessageProjector, type MessageProjector } from './message-projector';

export interface IngressRecordingDeps {
  config: Pick<AppConfig, 'meta' | 'tokens' | 'inbound'>;
  models: Models;
  logger: Logger;
  metrics: Pick<EngineMetrics, 'inboundEventRecorded' | 'inboundEventParked'>;
}

export function createIngressRecording(deps: IngressRecordingDeps): MessageProjector | undefined {
  const { config, models, logger } = deps;
  if (!config.inbound.recordOpenConversations) return undefined;
  const { recordInboundEvent } = createInboundActivities({
    models,
    // The profile is fetched by the workflow, never here; the recorder is built with the means to, as the worker's is.
    graph: createConfiguredGraphClient(config.meta, logger),
    cipher: createTokenCipher(config.tokens.keyring),
    logger,
    metrics: {
      ...deps.metrics,
      // Only an echo settles a send, and the ingress records no echo through this recorder.
      sendSettled: (outcome) => logger.error('the ingress settled a send, which only the worker does', { outcome }),
    },
    appId: config.meta.appId,
    profileStaleAfterMs: config.inbound.profileStaleAfterMs,
  });
  return createMessageProjector({ models, recordInboundEvent, logger });
}
