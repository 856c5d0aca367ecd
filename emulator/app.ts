/**
 * The Meta emulator as an Express app. `createEmulatorApp` takes every dependency (clock, state, webhook sender,
 * logger, ...); `createEmulator` wires the usual ones, for the entry point and for tests that run it in-process.
 */
import { randomInt } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from './logger';
import { createAppCallbacks, type AppCallbacks } from './app-callbacks';
import { createClock, type EmulatorClock } from './clock';
import { createFaultSwitches, type FaultSwitches, type ProfileFaultRule } from './faults';
import { GraphError, graphErrors } from './graph-errors';
import { createMessaging, type Messaging } from './messaging';
import { createControlRouter } from './routes/control';
import { createDialogRouter } from './routes/dialog';
import { createGraphRouter } from './routes/graph';
import { type DemoSeedConfig, seedDefaults } from './seed';
import { EmulatorState } from './state';
import { createWebhookSender, type WebhookSender, type WebhookSenderOptions } from './webhook-sender';

export interface EmulatorAppDeps {
  clock: EmulatorClock;
  state: EmulatorState;
  webhooks: WebhookSender;
  /** The deauthorize and data-deletion callbacks to the apps. */
  appCallbacks: AppCallbacks;
  logger: Logger;
  faults: FaultSwitches;
  profileFaults: FaultSwitches<ProfileFaultRule>;
  /** Where the emulator is reachable, for the CDN links it puts in webhooks (known only after listen in tests). */
  publicBaseUrl: () => string;
  /** What `POST /_emulator/reset` seeds again. */
  seed: DemoSeedConfig;
  /** Send API attachment fetches. */
  mediaFetchTimeoutMs?: number;
  fetchImpl?: typeof fetch;
}

export interface EmulatorAppExtras {
  messaging: Messaging;
}

const versionPrefix = /^\/v\d+\.\d+(?=\/|$|\?)/;

/** Any Graph version answers the same here; Meta's /v25.0/... and the unversioned paths both work. */
const stripGraphVersion: RequestHandler = (req, _res, next) => {
  const match = versionPrefix.exec(req.url);
  if (match) req.url = req.url.slice(match[0].length) || '/';
  next();
};

function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let graphError: GraphError;
    if (error instanceof GraphError) graphError = error;
    else {
      const parserError = error as { type?: string; message?: string };
      if (parserError?.type === 'entity.parse.failed') graphError = graphErrors.invalidParameter('The request body could not be parsed as JSON');
      else if (parserError?.type === 'entity.too.large') graphError = graphErrors.invalidParameter('The request body is too large');
      else if (typeof parserError?.type === 'string' && parserError.type.endsWith('.unsupported')) graphError = graphErrors.invalidParameter(parserError.message ?? 'unsupported body');
      else {
        logger.error('emulator bug: unexpected error', { method: req.method, path: req.path, error });
        graphError = graphErrors.unknownError();
      }
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(graphError.status).set(graphError.headers).json(graphError.body());
  };
}

export function createEmulatorApp(deps: EmulatorAppDeps): Express & EmulatorAppExtras {
  const messaging = createMessaging({ state: deps.state, webhooks: deps.webhooks, publicBaseUrl: deps.publicBaseUrl });
  const app = express() as Express & EmulatorAppExtras;
  app.messaging = messaging;
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  app.use(express.json({ limit: '1mb' }));
  app.use(express.urlencoded({ extended: true, limit: '1mb' }));
  app.use(stripGraphVersion);

  app.get('/', (_req, res) => {
    res.json({ name: 'meta-emulator', control: '/_emulator/state', loginDialog: '/dialog/oauth' });
  });

  app.use(
    '/_emulator',
    createControlRouter({
      state: deps.state,
      clock: deps.clock,
      webhooks: deps.webhooks,
      appCallbacks: deps.appCallbacks,
      messaging,
      faults: deps.faults,
      profileFaults: deps.profileFaults,
      reset: ({ seedDemo }) => {
        deps.state.clear();
        deps.faults.clear();
        deps.profileFaults.clear();
        deps.webhooks.clearLog();
        seedDefaults(deps.state, messaging, { ...deps.seed, demo: seedDemo });
      },
      verifyWebhook: async (appId) => {
        const target = deps.state.apps.get(appId);
        if (!target?.callbackUrl) return { ok: false, detail: 'the app has no callback URL' };
        const challenge = String(randomInt(1_000_000_000, 2_000_000_000));
        const url = new URL(target.callbackUrl);
        url.searchParams.set('hub.mode', 'subscribe');
        url.searchParams.set('hub.challenge', challenge);
        url.searchParams.set('hub.verify_token', target.verifyToken);
        try {
          const response = await (deps.fetchImpl ?? fetch)(url, { signal: AbortSignal.timeout(5_000) });
          const body = await response.text();
          const ok = response.status === 200 && body === challenge;
          return { ok, status: response.status, detail: ok ? 'challenge echoed' : 'the callback did not echo the challenge with 200' };
        } catch (error) {
          return { ok: false, detail: `callback unreachable: ${(error as Error).message}` };
        }
      },
    }),
  );

  // The emulator's stand-in for Meta's CDN: media customers sent, and stories that stop opening after 24 hours.
  app.get('/_cdn/media/:id', (req, res) => {
    const media = deps.state.media.get(req.params.id);
    if (!media) {
      res.status(404).type('text/plain').send('URL signature expired');
      return;
    }
    res.type(media.contentType).send(media.bytes);
  });
  app.get('/_cdn/stories/:id', (req, res) => {
    const story = deps.state.stories.get(req.params.id);
    if (!story || !deps.state.isStoryAlive(story)) {
      res.status(404).type('text/plain').send('URL signature expired');
      return;
    }
    res.type('image/png').send(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64'));
  });

  app.use(createDialogRouter({ state: deps.state }));
  app.use(
    createGraphRouter({
      state: deps.state,
      messaging,
      faults: deps.faults,
      profileFaults: deps.profileFaults,
      logger: deps.logger,
      mediaFetchTimeoutMs: deps.mediaFetchTimeoutMs ?? 20_000,
      ...(deps.fetchImpl === undefined ? {} : { fetchImpl: deps.fetchImpl }),
    }),
  );
  app.use((req, _res, next) => next(graphErrors.unknownPath(req.path)));
  app.use(createErrorHandler(deps.logger));
  return app;
}

export interface Emulator {
  app: Express & EmulatorAppExtras;
  state: EmulatorState;
  clock: EmulatorClock;
  webhooks: WebhookSender;
  faults: FaultSwitches;
  profileFaults: FaultSwitches<ProfileFaultRule>;
  close(): Promise<void>;
}

export interface CreateEmulatorOptions {
  logger: Logger;
  publicBaseUrl: () => string;
  seed: DemoSeedConfig;
  webhookOptions?: Partial<WebhookSenderOptions>;
  mediaFetchTimeoutMs?: number;
  fetchImpl?: typeof fetch;
}

export function createEmulator(options: CreateEmulatorOptions): Emulator {
  const clock = createClock();
  const state = new EmulatorState(clock);
  const webhooks = createWebhookSender({
    clock,
    state,
    logger: options.logger,
    ...(options.fetchImpl === undefined ? {} : { fetchImpl: options.fetchImpl }),
    ...(options.webhookOptions === undefined ? {} : { options: options.webhookOptions }),
  });
  const faults = createFaultSwitches();
  const profileFaults = createFaultSwitches<ProfileFaultRule>();
  const appCallbacks = createAppCallbacks({
    clock,
    logger: options.logger,
    timeoutMs: options.webhookOptions?.timeoutMs ?? 5_000,
    ...(options.fetchImpl === undefined ? {} : { fetchImpl: options.fetchImpl }),
  });
  const app = createEmulatorApp({
    clock,
    state,
    webhooks,
    appCallbacks,
    faults,
    profileFaults,
    logger: options.logger,
    publicBaseUrl: options.publicBaseUrl,
    seed: options.seed,
    ...(options.mediaFetchTimeoutMs === undefined ? {} : { mediaFetchTimeoutMs: options.mediaFetchTimeoutMs }),
    ...(options.fetchImpl === undefined ? {} : { fetchImpl: options.fetchImpl }),
  });
  seedDefaults(state, app.messaging, options.seed);
  return { app, state, clock, webhooks, faults, profileFaults, close: () => webhooks.close() };
}
