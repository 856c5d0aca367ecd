/**
 * The Graph API surface the engine uses (Facebook Login flavor): OAuth token exchanges, debug_token, /me,
 * /me/accounts, Page subscriptions, the Send API and the Profile API. The version prefix (/v25.0) is stripped
 * before these routes, as any version answers the same here.
 *
 * Every check of what a token may reach reads the user's current grant for the app (`requireGrant`), not the
 * grant the token was issued under. When the user logs in again and leaves a Page or an Instagram account out,
 * the app loses it, through Page tokens issued earlier too, exactly as at Meta; those tokens stay valid for what
 * is still granted.
 */
import { Router } from 'express';
import type { FaultSwitches, ProfileFaultRule } from '../faults';
import type { Logger } from '../logger';
import type { Messaging } from '../messaging';
import type { EmulatorState } from '../state';
import { createGraphNodesRouter } from './graph-nodes';
import { createGraphOAuthRouter } from './graph-oauth';
import { createGraphPagesRouter } from './graph-pages';
import { createGraphSendApiRouter } from './graph-send-api';

export interface GraphRoutesDeps {
  state: EmulatorState;
  messaging: Messaging;
  faults: FaultSwitches;
  profileFaults: FaultSwitches<ProfileFaultRule>;
  logger: Logger;
  mediaFetchTimeoutMs: number;
  fetchImpl?: typeof fetch;
}

export function createGraphRouter(deps: GraphRoutesDeps): Router {
  const router = Router();
  router.use(createGraphOAuthRouter(deps));
  router.use(createGraphPagesRouter(deps));
  router.use(createGraphSendApiRouter(deps));
  // Last: `GET /{id}` would otherwise take the fixed paths above (/me, /debug_token).
  router.use(createGraphNodesRouter(deps));
  return router;
}
