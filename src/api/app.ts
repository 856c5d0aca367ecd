/** The Express app factory: every dependency comes in, so tests build the app with their own. */
import express, { type Express } from 'express';
import type { Connection } from 'mongoose';
import type { AppConfig } from '../config';
import { pingDatabase } from '../db/connection';
import type { Models } from '../db/models';
import type { InboundDispatcher } from '../inbound/dispatcher';
import { createWebhookIntake } from '../inbound/webhook-intake';
import type { Logger } from '../logger';
import type { ApiMetrics } from '../metrics/engine-metrics';
import type { TemporalAccess } from '../temporal/client';
import { createChannelDirectory } from '../channels/directory';
import { createNoticeBoard, type NoticeBoard } from '../notices/notice-board';
import { releaseHeldEvents } from '../inbound/held-events';
import { createParkedEvents } from '../inbound/parked-events';
import { claimRepresentativeIfNone, createLinkedAccounts, type LinkedAccounts } from '../linking/linked-accounts';
import { createAuthenticator } from './auth';
import { createErrorHandler, ERROR_LOGGED, notFoundHandler } from './errors';
import { createMethodNotAllowedHandler } from './method-not-allowed';
import { buildOpenApiDocument, type DocumentInfo, type OpenApiDocument } from './openapi';
import { parseMultipartBody } from './multipart';
import { buildRouter, type RouteDefinition, type RouteDocumentation } from './route-definitions';
import { createDiagnosticsRoutes } from './routes/diagnostics';
import { createDocsAssetsHandler, createDocsRoutes } from './routes/docs';
import { createChannelRoutes } from './routes/channels';
import { createHealthRoutes } from './routes/health';
import { createInboxRoutes } from './routes/inbox';
import { createInstagramAccountRoutes } from './routes/instagram-accounts';
import { createMediaRouter, mediaRouteDocs } from './routes/media';
import { createMeRoutes } from './routes/me';
import { createDataDeletionStatusRoutes, createMetaCallbackRouter, metaCallbackRouteDocs } from './routes/meta-callbacks';
import { createMemberRoutes } from './routes/members';
import { createMetricsRouter, metricsRouteDocs } from './routes/metrics';
import { createOutboundRoutes } from './routes/outbound';
import { createParkedEventRoutes } from './routes/parked-events';
import { createWebhookRouter, webhookRouteDocs } from './routes/webhooks';
import { createLinkingRoutes, FACEBOOK_CALLBACK_PATH, type LinkingRoutesDeps } from './routes/linking';
import { createConfiguredGraphClient } from '../graph/configured';
import { createAccountLinker } from '../linking/account-linker';
import { createAccountWorkflows } from '../linking/account-workflows';
import { createFacebookLoginFlow } from '../linking/facebook-login';
import { createLoginStateSigner } from '../linking/login-state';
import { createMetaCallbacks } from '../linking/meta-callbacks';
import { createTokenCipher } from '../security/token-cipher';
import { createIdempotencyStore } from '../outbound/idempotency';
import { toSendableImage } from '../outbound/image-convert';
import { fetchImage, inspectImage } from '../outbound/image-input';
import { publicMediaUrl } from '../outbound/media-store';
import { createSendService } from '../outbound/send-service';
import { createInboxReads } from './services/inbox-reads';
import { createMemberStore } from './services/members';
import { createParkedEventReads } from './services/parked-events';

export interface AppDeps {
  config: AppConfig;
  logger: Logger;
  temporal: TemporalAccess;
  database: Connection;
  models: Models;
  dispatcher: InboundDispatcher;
  /** This process's registry and counters; the dispatcher above counts into the same ones. */
  metrics: ApiMetrics;
  now?: () => number;
}

const API_INFO: DocumentInfo = {
  title: 'Instagram DM engine',
  version: 'v1',
  description:
    "Instagram Direct Messages in a customer-support inbox. The inbox routes need `Authorization: Bearer <API key>` of a manager and answer only for that manager's channel: anything of another channel is 404. Errors are `{error: {type, message, details?}}`: a client's mistake is a 4xx that names it (on every path a method the path does not serve is 405 with `Allow`, a path parameter that is not valid percent-encoding is 400 InvalidPathEncoding), and a 500 is a fault of the engine whose `errorId` the operator finds in the log. Links that came from Meta are served only as `http:` or `https:`; any other is withheld and marked (`RemovedLink`). Lists page with opaque cursors (`nextCursor`, null at the end).",
  tags: [
    { name: 'inbox', description: 'Conversations, messages and customers of a channel' },
    { name: 'me', description: "The key's own manager and their personal room of notices (D1)" },
    { name: 'managers', description: "A channel's managers (owners and agents) and their API keys" },
    { name: 'admin', description: 'Operators (operator token only): creating channels' },
    { name: 'instagram', description: "The channel's Instagram accounts: linking through Facebook Login, re-authentication, status, settings, the representative account, unlinking" },
    { name: 'members', description: "The channel's own customer records, and merging Instagram customers into them (B3)" },
    { name: 'diagnostics', description: 'Operators: the round trip through Temporal, the worker and MongoDB' },
    {
      name: 'parked-events',
      description: 'Inbound events the conversation workflow could not record within its attempts: listed, and replayed once the cause is fixed (the operator token for every channel, a manager’s key for its own)',
    },
    { name: 'webhooks', description: "Meta's webhook ingress" },
    { name: 'meta-callbacks', description: "Meta's deauthorize and data-deletion callbacks (A12), and the status page of a data deletion" },
    { name: 'health', description: 'Liveness and readiness' },
    { name: 'documentation', description: 'This document and its reference page' },
  ],
};

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  const now = deps.now ?? Date.now;

  // One line per request: refusals at info so an operator sees them; the rest at debug. No bodies, no headers.
  // A failure the error handler logged (with its id) is not logged twice.
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      if (res.locals[ERROR_LOGGED] === true) return;
      const fields = { method: req.method, path: req.path, status: res.statusCode, ms: Number((process.hrtime.bigint() - started) / 1_000_000n) };
      if (res.statusCode >= 400) deps.logger.info('request refused', fields);
      else deps.logger.debug('request', fields);
    });
    next();
  });

  const reads = createInboxReads({ models: deps.models });
  const instagram = createAppInstagram(deps, now);
  const directory = createChannelDirectory({ models: deps.models, now });
  const notices = createNoticeBoard({ models: deps.models, now });
  const metaCallbacks = createAppMetaCallbacks(deps, notices, now);
  const parked = createParkedEvents({ models: deps.models, dispatcher: deps.dispatcher, now });
  const healthRoutes = createHealthRoutes([
    { name: 'mongodb', check: () => pingDatabase(deps.database) },
    { name: 'temporal', check: () => deps.temporal.ping() },
  ]);
  const apiRoutes: RouteDefinition[] = [
    ...createDiagnosticsRoutes({
      temporal: deps.temporal.client,
      taskQueue: deps.config.temporal.taskQueue,
      models: deps.models,
      temporalUiUrl: deps.config.temporal.uiUrl,
      namespace: deps.config.temporal.namespace,
    }),
    ...createInboxRoutes({ reads, now }),
    ...createMemberRoutes({ reads, members: createMemberStore({ models: deps.models, now }) }),
    ...createOutboundRoutes({ sends: createAppSendService(deps, now), now }),
    ...createChannelRoutes({ directory }),
    ...createMeRoutes({ directory, notices }),
    ...createLinkingRoutes(instagram.linking),
    ...createInstagramAccountRoutes({ accounts: instagram.accounts, reauthPeriodDays: deps.config.tokens.reauthPeriodDays, now }),
    ...createDataDeletionStatusRoutes({ callbacks: metaCallbacks }),
    ...createParkedEventRoutes({ reads: createParkedEventReads({ models: deps.models, parked }), parked }),
  ];
  let document: OpenApiDocument | undefined;
  const docsRoutes = createDocsRoutes(() => (document ??= buildOpenApiDocument(documentedRoutes, API_INFO)));
  const documentedRoutes: RouteDocumentation[] = [...healthRoutes, ...metricsRouteDocs, ...webhookRouteDocs, ...metaCallbackRouteDocs, ...mediaRouteDocs, ...docsRoutes, ...apiRoutes];
  const routerDeps = { authenticate: createAuthenticator({ directory, operatorToken: deps.config.api.operatorToken }), parseMultipart: parseMultipartBody };

  app.use(buildRouter(healthRoutes, routerDeps));
  app.use(createMetricsRouter({ registry: deps.metrics.registry, token: deps.config.metrics.token }));

  // Before any body parser: the signature is checked over the raw bytes.
  app.use(
    createWebhookRouter({
      intake: createWebhookIntake({ models: deps.models, dispatcher: deps.dispatcher, logger: deps.logger, metrics: deps.metrics, maxEntriesInFlight: deps.config.inbound.maxEntriesInFlight }),
      appSecret: deps.config.meta.appSecret,
      verifyToken: deps.config.meta.webhookVerifyToken,
      maxBodyBytes: deps.config.api.webhookMaxBodyBytes,
      metrics: deps.metrics,
    }),
  );

  // Meta's deauthorize and data-deletion callbacks: a form body, read by their own router.
  app.use(createMetaCallbackRouter({ callbacks: metaCallbacks, appSecret: deps.config.meta.appSecret, publicBaseUrl: deps.config.api.publicBaseUrl, logger: deps.logger }));
  app.use(createMediaRouter({ models: deps.models }));
  app.use('/docs/assets', createDocsAssetsHandler());
  // Each route reads its own body (JSON or multipart) as its declaration says.
  app.use(buildRouter([...docsRoutes, ...apiRoutes], routerDeps));

  app.use(createMethodNotAllowedHandler(documentedRoutes));
  app.use(notFoundHandler);
  app.use(createErrorHandler(deps.logger));
  return app;
}

/** Meta's callbacks: unlink and delete in the database, tell the owners and the account workflows. */
function createAppMetaCallbacks(deps: AppDeps, notices: NoticeBoard, now: () => number) {
  const { config } = deps;
  return createMetaCallbacks({
    models: deps.models,
    accountWorkflows: createAccountWorkflows({ temporal: deps.temporal.client, taskQueue: config.temporal.taskQueue, reauthPeriodDays: config.tokens.reauthPeriodDays }),
    notices,
    logger: deps.logger,
    now,
  });
}

/** Replies: the send service with the engine's own image checks, media address and limits. */
function createAppSendService(deps: AppDeps, now: () => number) {
  const { config, models } = deps;
  return createSendService({
    models,
    temporal: deps.temporal.client,
    idempotency: createIdempotencyStore({ models, now }),
    inspectImage: (bytes) => toSendableImage(inspectImage(bytes)),
    fetchImage: async (url) =>
      toSendableImage(await fetchImage(url, { timeoutMs: config.outbound.mediaFetchTimeoutMs, allowPrivateNetwork: config.outbound.mediaFetchAllowPrivateNetwork })),
    mediaUrl: (mediaId) => publicMediaUrl(config.api.publicBaseUrl, mediaId),
    waitLimitMs: config.outbound.waitLimitMs,
    now,
  });
}

/** Linking (Facebook Login) and the linked accounts, sharing the engine's Graph client, keyring and account workflows. */
function createAppInstagram(deps: AppDeps, now: () => number): { linking: LinkingRoutesDeps; accounts: LinkedAccounts } {
  const { config, models, logger } = deps;
  const graph = createConfiguredGraphClient(config.meta, logger);
  const cipher = createTokenCipher(config.tokens.keyring);
  const workflows = createAccountWorkflows({ temporal: deps.temporal.client, taskQueue: config.temporal.taskQueue, reauthPeriodDays: config.tokens.reauthPeriodDays });
  const linking: LinkingRoutesDeps = {
    logins: createFacebookLoginFlow({
      models,
      graph,
      cipher,
      signer: createLoginStateSigner(config.meta.appSecret),
      appId: config.meta.appId,
      loginDialogUrl: config.meta.loginDialogUrl,
      redirectUri: `${config.api.publicBaseUrl}${FACEBOOK_CALLBACK_PATH}`,
      now,
    }),
    linker: createAccountLinker({
      models,
      graph,
      cipher,
      workflows,
      afterLink: async ({ igAccountId, channelId }) => {
        // The first account linked to a channel (or the first after its representative was unlinked) represents it.
        await claimRepresentativeIfNone(models, channelId, igAccountId);
        // Messages that came while the link had expired were kept: they show now, in the customers' order.
        await releaseHeldEvents({ models, dispatcher: deps.dispatcher }, igAccountId);
      },
      now,
    }),
  };
  return { linking, accounts: createLinkedAccounts({ models, graph, cipher, workflows, logger, now }) };
}
