/**
 * The control API (/_emulator/...): seeds and inspects the emulator's world, makes customers act, moves the
 * clock, kills tokens, and flips delivery and fault switches. JSON in, JSON out; refusals use Meta's error
 * shape with type "EmulatorControlException" and a message naming the field.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { changePassword, killTokens, removeApp, tokenProblem } from '../access-tokens';
import type { AppCallbacks } from '../app-callbacks';
import { DAY_MS, type EmulatorClock } from '../clock';
import type { FaultSwitches, ProfileFaultRule } from '../faults';
import { customerActionSchema, type Messaging } from '../messaging';
import type { EmulatorState } from '../state';
import type { TokenRecord } from '../state-records';
import type { WebhookSender } from '../webhook-sender';
import { controlError, exactlyOne, parse } from './control-input';
import { createSwitchesRouter } from './control-switches';
import { completeLogin, parseScopes } from './dialog';

export interface ControlRoutesDeps {
  state: EmulatorState;
  clock: EmulatorClock;
  webhooks: WebhookSender;
  appCallbacks: AppCallbacks;
  messaging: Messaging;
  faults: FaultSwitches;
  profileFaults: FaultSwitches<ProfileFaultRule>;
  /** Clears the world and seeds the default app and demo business again. */
  reset(options: { seedDemo: boolean }): void;
  verifyWebhook(appId: string): Promise<{ ok: boolean; status?: number; detail: string }>;
}

/** Tokens are masked in listings: the control API is for tests, but its answers end up in logs too. */
function describeToken(state: EmulatorState, token: TokenRecord) {
  const problem = tokenProblem(state, token);
  return {
    token: `${token.value.slice(0, 8)}…${token.value.slice(-4)}`,
    kind: token.kind,
    lifetime: token.lifetime,
    appId: token.appId,
    userId: token.userId,
    pageId: token.pageId,
    issuedAt: token.issuedAt,
    expiresAt: token.expiresAt,
    valid: problem === undefined,
    ...(problem === undefined ? {} : { error: { code: problem.spec.code, subcode: problem.spec.subcode ?? null, message: problem.spec.message } }),
  };
}

const appSchema = z.object({
  id: z.string().regex(/^\d+$/).optional(),
  secret: z.string().min(8).optional(),
  name: z.string().min(1).optional(),
  verifyToken: z.string().min(1).optional(),
  callbackUrl: z.string().url().nullable().optional(),
  deauthorizeCallbackUrl: z.string().url().nullable().optional(),
  dataDeletionCallbackUrl: z.string().url().nullable().optional(),
  fields: z.array(z.string()).optional(),
});

const seedBusinessSchema = z.object({
  user: z.object({ name: z.string().min(1), email: z.string().email(), password: z.string().min(1) }),
  business: z.object({ name: z.string().min(1) }),
  pages: z.array(z.object({ name: z.string().min(1), igAccount: z.object({ username: z.string().min(1), name: z.string() }).optional() })).min(1),
});

const igUserSchema = z.object({ username: z.string().min(1), name: z.string().optional(), profilePic: z.string().optional() });

const actorSchema = z
  .object({ igUserId: z.string().min(1).optional(), username: z.string().min(1).optional(), igsid: z.string().min(1).optional() })
  .refine(...exactlyOne(['igUserId', 'username', 'igsid']));

const dialogSchema = z.object({
  client_id: z.string().min(1),
  redirect_uri: z.string().min(1),
  state: z.string().optional(),
  scope: z.union([z.string(), z.array(z.string())]).default(''),
  email: z.string().min(1),
  password: z.string(),
  businessId: z.string().optional(),
  pageIds: z.array(z.string()).optional(),
  igAccountIds: z.array(z.string()).optional(),
  grantedScopes: z.array(z.string()).optional(),
  declinedScopes: z.array(z.string()).optional(),
  cancel: z.boolean().optional(),
});

export function createControlRouter(deps: ControlRoutesDeps): Router {
  const { state, clock, messaging } = deps;
  const router = Router();

  function resolveIgUserId(actor: z.infer<typeof actorSchema>, igAccountId?: string): string {
    if (actor.igUserId !== undefined) {
      if (!state.igUsers.has(actor.igUserId)) throw controlError(`no Instagram user ${actor.igUserId}`);
      return actor.igUserId;
    }
    if (actor.username !== undefined) {
      const user = state.findIgUserByUsername(actor.username);
      if (!user) throw controlError(`no Instagram user @${actor.username}`);
      return user.id;
    }
    const owner = state.resolveScopedId(actor.igsid ?? '');
    if (!owner || (igAccountId !== undefined && owner.igAccountId !== igAccountId)) throw controlError(`no customer ${actor.igsid} for this account`);
    return owner.igUser.id;
  }

  function tokenByValue(req: Request): TokenRecord {
    const { token } = parse(z.object({ token: z.string().min(1) }), req.body);
    const record = state.tokens.get(token);
    if (!record) throw controlError('no such token');
    return record;
  }

  router.get('/health', (_req, res) => {
    res.json({ ok: true, now: clock.now() });
  });

  router.get('/state', (_req, res) => {
    res.json({
      now: clock.now(),
      clockOffsetMs: clock.offsetMs(),
      apps: [...state.apps.values()].map(({ secret: _secret, ...app }) => app),
      users: [...state.users.values()].map((user) => ({
        id: user.id,
        name: user.name,
        email: user.email,
        businessIds: user.businessIds,
        grants: [...user.grants.values()],
      })),
      businesses: [...state.businesses.values()],
      pages: [...state.pages.values()].map((page) => ({ ...page, subscribedApps: Object.fromEntries(page.subscribedApps) })),
      igAccounts: [...state.igAccounts.values()].map(({ recentSends: _recent, ...account }) => account),
      igUsers: [...state.igUsers.values()],
      conversations: [...state.conversations.values()].map((conversation) => ({
        igAccountId: conversation.igAccountId,
        igsid: conversation.igsid,
        lastCustomerMessageAt: conversation.lastCustomerMessageAt,
        messageCount: conversation.messages.length,
      })),
      stories: [...state.stories.values()].map((story) => ({ ...story, alive: state.isStoryAlive(story) })),
      tokens: [...state.tokens.values()].map((token) => describeToken(state, token)),
    });
  });

  router.post('/reset', (req, res) => {
    const { seedDemo } = parse(z.object({ seedDemo: z.boolean().default(true) }), req.body);
    deps.reset({ seedDemo });
    res.json({ ok: true });
  });

  // --- seeding ----------------------------------------------------------------------------------------------

  router.post('/apps', (req, res) => {
    const input = parse(appSchema, req.body);
    const id = input.id ?? String(100_000_000_000_000 + state.apps.size + 1);
    if (state.apps.has(id)) throw controlError(`app ${id} exists`);
    const app = state.addApp({
      ...input,
      id,
      secret: input.secret ?? `secret-${id}`,
      callbackUrl: input.callbackUrl ?? null,
    });
    res.status(201).json(app);
  });

  router.patch('/apps/:appId', (req, res) => {
    const app = state.apps.get(req.params.appId);
    if (!app) throw controlError(`no app ${req.params.appId}`);
    const { id: _id, ...changes } = parse(appSchema, req.body);
    Object.assign(app, Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)));
    res.json(app);
  });

  router.post('/apps/:appId/verify-webhook', async (req, res) => {
    res.json(await deps.verifyWebhook(req.params.appId));
  });

  router.post('/businesses', (req, res) => {
    const seeded = state.seedBusiness(parse(seedBusinessSchema, req.body));
    res.status(201).json({
      user: { id: seeded.user.id, name: seeded.user.name, email: seeded.user.email },
      business: seeded.business,
      pages: seeded.pages.map((page) => ({ id: page.id, name: page.name, igAccountId: page.igAccountId })),
      igAccounts: seeded.igAccounts.map(({ recentSends: _recent, ...account }) => account),
    });
  });

  /** Another Facebook user who manages the business's Pages too (an admin added in Business Settings). */
  router.post('/businesses/:id/people', (req, res) => {
    const business = state.businesses.get(req.params.id);
    if (!business) throw controlError(`no business ${req.params.id}`);
    const user = state.addUser(parse(z.object({ name: z.string().min(1), email: z.string().email(), password: z.string().min(1) }), req.body));
    user.businessIds.push(business.id);
    res.status(201).json({ id: user.id, name: user.name, email: user.email });
  });

  router.post('/pages', (req, res) => {
    const input = parse(z.object({ businessId: z.string(), name: z.string().min(1), igAccount: z.object({ username: z.string(), name: z.string() }).optional() }), req.body);
    const page = state.addPage(input);
    const account = input.igAccount ? state.addIgAccount({ pageId: page.id, ...input.igAccount }) : undefined;
    res.status(201).json({ id: page.id, name: page.name, igAccountId: account?.id ?? null });
  });

  router.patch('/ig-accounts/:id', (req, res) => {
    const account = state.requireIgAccount(req.params.id);
    const input = parse(
      z.object({
        messagesAccess: z.boolean().optional(),
        sendRateLimitPerSecond: z.number().int().min(1).optional(),
        /** Throttle the account (80002) for this many minutes; 0 lifts it. */
        throttleMinutes: z.number().int().min(0).optional(),
        username: z.string().min(1).optional(),
        name: z.string().optional(),
      }),
      req.body,
    );
    if (input.messagesAccess !== undefined) account.messagesAccess = input.messagesAccess;
    if (input.sendRateLimitPerSecond !== undefined) account.sendRateLimitPerSecond = input.sendRateLimitPerSecond;
    if (input.throttleMinutes !== undefined) {
      account.throttleMinutes = input.throttleMinutes;
      account.throttledUntil = input.throttleMinutes === 0 ? 0 : clock.now() + input.throttleMinutes * 60_000;
    }
    if (input.username !== undefined) account.username = input.username;
    if (input.name !== undefined) account.name = input.name;
    const { recentSends: _recent, ...view } = account;
    res.json(view);
  });

  router.post('/ig-users', (req, res) => {
    res.status(201).json(state.addIgUser(parse(igUserSchema, req.body)));
  });

  router.patch('/ig-users/:id', (req, res) => {
    res.json(state.updateIgUser(req.params.id, parse(igUserSchema.partial(), req.body)));
  });

  /** The IGSID an account sees for a user; creating it is what a comment would do (no consent for the profile). */
  router.post('/ig-users/:id/scoped-id', (req, res) => {
    const { igAccountId } = parse(z.object({ igAccountId: z.string() }), req.body);
    state.requireIgAccount(igAccountId);
    if (!state.igUsers.has(req.params.id)) throw controlError(`no Instagram user ${req.params.id}`);
    res.json({ igsid: state.scopedId(igAccountId, req.params.id) });
  });

  // --- login and tokens -------------------------------------------------------------------------------------

  router.post('/dialog/complete', (req, res) => {
    const input = parse(dialogSchema, req.body);
    const user = [...state.users.values()].find((candidate) => candidate.email === input.email);
    if (!user || user.password !== input.password) throw controlError('wrong email or password');
    const scopes = Array.isArray(input.scope) ? input.scope : parseScopes(input.scope);
    const granted = input.grantedScopes ?? scopes.filter((scope) => !(input.declinedScopes ?? []).includes(scope));
    const outcome = completeLogin(
      state,
      { clientId: input.client_id, redirectUri: input.redirect_uri, scopes, ...(input.state === undefined ? {} : { state: input.state }) },
      user,
      {
        grantedScopes: granted,
        ...(input.cancel === undefined ? {} : { cancel: input.cancel }),
        ...(input.businessId === undefined ? {} : { businessId: input.businessId }),
        ...(input.pageIds === undefined ? {} : { pageIds: input.pageIds }),
        ...(input.igAccountIds === undefined ? {} : { igAccountIds: input.igAccountIds }),
      },
    );
    res.json(outcome);
  });

  router.post('/fb-users/:id/password', (req, res) => {
    const { password } = parse(z.object({ password: z.string().min(1) }), req.body);
    res.json({ tokensInvalidated: changePassword(state, req.params.id, password) });
  });

  /** The user removes the app: its tokens die, and Meta posts the app's deauthorize callback (reported here). */
  router.post('/fb-users/:id/remove-app', async (req, res) => {
    const { appId } = parse(z.object({ appId: z.string() }), req.body);
    const app = state.requireApp(appId);
    // Meta calls back only about a user who had authorized the app.
    const authorized = state.requireUser(req.params.id).grants.has(appId);
    const tokensInvalidated = removeApp(state, req.params.id, appId);
    const deauthorize = authorized ? await deps.appCallbacks.deauthorize(app, req.params.id) : null;
    res.json({ tokensInvalidated, deauthorize });
  });

  /** The user asks Meta to have the app delete their data: Meta posts the data-deletion callback; its answer is reported. */
  router.post('/fb-users/:id/data-deletion', async (req, res) => {
    const { appId } = parse(z.object({ appId: z.string() }), req.body);
    const app = state.requireApp(appId);
    state.requireUser(req.params.id);
    res.json(await deps.appCallbacks.requestDataDeletion(app, req.params.id));
  });

  router.post('/tokens/inspect', (req, res) => {
    res.json(describeToken(state, tokenByValue(req)));
  });

  /** Meta may end a session early without warning (190/463). Page tokens derived from it die with it. */
  router.post('/tokens/expire', (req, res) => {
    const token = tokenByValue(req);
    const killed = killTokens(
      state,
      (candidate) => candidate === token || (token.kind === 'USER' && candidate.kind === 'PAGE' && candidate.userId === token.userId && candidate.issuedAt === token.issuedAt),
      463,
    );
    res.json({ tokensInvalidated: killed });
  });

  // --- customers and the business's Instagram app ------------------------------------------------------------

  router.post('/ig-accounts/:id/inbound', (req, res) => {
    const igAccountId = req.params.id;
    state.requireIgAccount(igAccountId);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const actor = parse(actorSchema, body.from, 'from');
    const action = parse(customerActionSchema, body);
    const result = messaging.customerAct(igAccountId, resolveIgUserId(actor, igAccountId), action);
    res.status(201).json(result);
  });

  router.post('/ig-accounts/:id/app-replies', (req, res) => {
    const input = parse(z.object({ to: actorSchema, text: z.string().min(1) }), req.body);
    const igsid = state.scopedId(req.params.id, resolveIgUserId(input.to, req.params.id));
    const { message, queuedFor } = messaging.replyFromInstagramApp(req.params.id, igsid, input.text);
    res.status(201).json({ mid: message.mid, igsid, timestamp: message.at, queuedFor });
  });

  router.post('/ig-accounts/:id/stories', (req, res) => {
    state.requireIgAccount(req.params.id);
    const story = state.addStory({ kind: 'business', igAccountId: req.params.id });
    res.status(201).json({ id: story.id, url: messaging.storyUrl(story.id), expiresAt: story.createdAt + DAY_MS });
  });

  router.post('/stories/:id/delete', (req, res) => {
    const story = state.stories.get(req.params.id);
    if (!story) throw controlError(`no story ${req.params.id}`);
    story.deleted = true;
    res.json({ id: story.id, deleted: true });
  });

  router.get('/conversations', (req, res) => {
    const { igAccountId, igsid } = parse(z.object({ igAccountId: z.string().optional(), igsid: z.string().optional() }), req.query, 'query');
    const conversations = [...state.conversations.values()].filter(
      (conversation) => (igAccountId === undefined || conversation.igAccountId === igAccountId) && (igsid === undefined || conversation.igsid === igsid),
    );
    res.json({ data: conversations });
  });

  router.get('/sent-messages', (req, res) => {
    const { igAccountId, igsid } = parse(z.object({ igAccountId: z.string().optional(), igsid: z.string().optional() }), req.query, 'query');
    const data = [...state.messagesByMid.values()].filter(
      (message) =>
        message.source === 'send_api' && (igAccountId === undefined || message.igAccountId === igAccountId) && (igsid === undefined || message.igsid === igsid),
    );
    res.json({ data });
  });

  router.use(createSwitchesRouter(deps));
  return router;
}
