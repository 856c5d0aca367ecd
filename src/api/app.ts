/** The Express app factory: every dependency comes in, so tests build the app with their own. */
import express, { type Express } from 'express';
import type { Connection } from 'mongoose';
import type { AppConfig } from '../config';
import { pingDatabase } from '../db/connection';
import type { Models } from '../db/models';
import type { Logger } from '../logger';
import type { TemporalAccess } from '../temporal/client';
import { createErrorHandler, notFoundHandler } from './errors';
import { createDiagnosticsRouter } from './routes/diagnostics';
import { createHealthRouter } from './routes/health';
import { createInboxRouter } from './routes/inbox';
import { createWebhookRouter } from './routes/webhooks';
import type { InboundDispatcher } from '../inbound/dispatcher';

export interface AppDeps {
  config: AppConfig;
  logger: Logger;
  temporal: TemporalAccess;
  database: Connection;
  models: Models;
  dispatcher: InboundDispatcher;
  now?: () => number;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);

  // One line per request: refusals at info so an operator sees them; the rest at debug. No bodies, no headers.
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const fields = { method: req.method, path: req.path, status: res.statusCode, ms: Number((process.hrtime.bigint() - started) / 1_000_000n) };
      if (res.statusCode >= 400) deps.logger.info('request refused', fields);
      else deps.logger.debug('request', fields);
    });
    next();
  });

  app.use(
    createHealthRouter([
      { name: 'mongodb', check: () => pingDatabase(deps.database) },
      { name: 'temporal', check: () => deps.temporal.ping() },
    ]),
  );

  // Before any body parser: the signature is checked over the raw bytes.
  app.use(
    createWebhookRouter({
      models: deps.models,
      dispatcher: deps.dispatcher,
      logger: deps.logger,
      appSecret: deps.config.meta.appSecret,
      verifyToken: deps.config.meta.webhookVerifyToken,
      maxBodyBytes: deps.config.api.webhookMaxBodyBytes,
    }),
  );

  app.use('/v1', express.json({ limit: '256kb' }));
  app.use(
    createDiagnosticsRouter({
      temporal: deps.temporal.client,
      taskQueue: deps.config.temporal.taskQueue,
      models: deps.models,
      temporalUiUrl: deps.config.temporal.uiUrl,
      namespace: deps.config.temporal.namespace,
    }),
  );

  // Operators' round trip above needs no key; everything of a channel below does.
  app.use(createInboxRouter({ models: deps.models, now: deps.now ?? Date.now }));

  app.use(notFoundHandler);
  app.use(createErrorHandler(deps.logger));
  return app;
}
