/**
 * The user and their Pages: `/me`, `/me/accounts` (the Pages the user picked at the last login, with their Page
 * tokens), and a Page's app subscriptions (`/{page-id}/subscribed_apps`), which decide where its webhooks go.
 */
import { type Request, Router } from 'express';
import { grantCovers, pageTokenFor, requireGrant, requireToken } from '../access-tokens';
import { graphErrors } from '../graph-errors';
import type { EmulatorState } from '../state';
import type { Grant, Page, TokenRecord } from '../state-records';
import { param, requestedFields, tokenFrom } from './graph-request';

export interface GraphPagesRoutesDeps {
  state: EmulatorState;
}

const PAGE_TASKS = ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'];
const PAGE_SUBSCRIPTION_FIELDS = new Set([
  'messages',
  'message_echoes',
  'message_reactions',
  'message_reads',
  'message_deliveries',
  'messaging_postbacks',
  'messaging_seen',
  'messaging_referrals',
  'messaging_referral',
  'messaging_optins',
  'messaging_handovers',
  'standby',
  'feed',
  'mention',
]);

export function createGraphPagesRouter({ state }: GraphPagesRoutesDeps): Router {
  const router = Router();

  router.get('/me', (req, res) => {
    const token = requireToken(state, tokenFrom(req));
    if (token.kind === 'PAGE') {
      const page = state.pages.get(token.pageId ?? '');
      res.json({ id: token.pageId, name: page?.name ?? '' });
      return;
    }
    const user = state.requireUser(token.userId);
    const fields = requestedFields(req, ['id', 'name']);
    res.json({ id: user.id, ...(fields.includes('name') ? { name: user.name } : {}), ...(fields.includes('email') ? { email: user.email } : {}) });
  });

  /** One row of /me/accounts; the Instagram account shows only while the grant still names it. */
  function pageRow(page: Page, token: TokenRecord, grant: Grant, fields: string[]): Record<string, unknown> {
    const igAccountId = page.igAccountId !== null && grant.igAccountIds.includes(page.igAccountId) ? page.igAccountId : null;
    const row: Record<string, unknown> = { id: page.id };
    if (fields.includes('name')) row.name = page.name;
    if (fields.includes('access_token')) row.access_token = pageTokenFor(state, token, page.id).value;
    if (fields.includes('tasks')) row.tasks = PAGE_TASKS;
    if (fields.includes('instagram_business_account') && igAccountId !== null) row.instagram_business_account = { id: igAccountId };
    return row;
  }

  router.get('/me/accounts', (req, res) => {
    const token = requireToken(state, tokenFrom(req));
    if (token.kind !== 'USER') throw graphErrors.nonexistingField('accounts', 'Page');
    const fields = requestedFields(req, ['id', 'name', 'access_token', 'tasks']);
    const user = state.requireUser(token.userId);
    const grant = requireGrant(state, token);
    // Without pages_show_list Meta lists nothing; only the Pages picked in the last login's dialog are visible.
    const visible = grant.scopes.includes('pages_show_list') ? grant.pageIds : [];
    const data = visible
      .map((pageId) => state.pages.get(pageId))
      .filter((page) => page !== undefined && user.businessIds.includes(page.businessId))
      .map((page) => (page ? pageRow(page, token, grant, fields) : {}));
    res.json({ data, paging: { cursors: { before: 'QVFIUmZAfirst', after: 'QVFIUmZAlast' } } });
  });

  /**
   * A Page token of this Page whose user still grants the app pages_manage_metadata on it, which reading and
   * changing a Page's subscriptions both need (META-API 1.8, 5). A Page left out at a later login answers Meta's
   * permission error for the object, (#200) (META-API 2.6), as a declined permission does.
   */
  function requirePageToken(req: Request, pageId: string, method: 'get' | 'post' | 'delete'): TokenRecord {
    const token = requireToken(state, tokenFrom(req));
    if (!state.pages.has(pageId)) throw graphErrors.unsupportedRequest(method, pageId);
    if (token.kind !== 'PAGE') throw graphErrors.pageTokenRequired();
    if (token.pageId !== pageId) throw graphErrors.unsupportedRequest(method, pageId);
    if (!grantCovers(requireGrant(state, token), 'pages_manage_metadata', pageId)) throw graphErrors.permissionMissing('pages_manage_metadata');
    return token;
  }

  router.post('/:pageId/subscribed_apps', (req, res) => {
    const token = requirePageToken(req, req.params.pageId, 'post');
    const fields = (param(req, 'subscribed_fields') ?? '')
      .split(',')
      .map((field) => field.trim())
      .filter(Boolean);
    if (fields.length === 0) throw graphErrors.invalidParameter('Param subscribed_fields must be non-empty');
    const unknown = fields.find((field) => !PAGE_SUBSCRIPTION_FIELDS.has(field));
    if (unknown !== undefined) throw graphErrors.invalidParameter(`Param subscribed_fields: ${unknown} is not a valid field`);
    state.pages.get(req.params.pageId)?.subscribedApps.set(token.appId, fields);
    res.json({ success: true });
  });

  router.get('/:pageId/subscribed_apps', (req, res) => {
    requirePageToken(req, req.params.pageId, 'get');
    const page = state.pages.get(req.params.pageId);
    const data = [...(page?.subscribedApps ?? new Map<string, string[]>())].map(([appId, fields]) => ({
      id: appId,
      name: state.apps.get(appId)?.name ?? appId,
      subscribed_fields: fields,
    }));
    res.json({ data });
  });

  router.delete('/:pageId/subscribed_apps', (req, res) => {
    const token = requirePageToken(req, req.params.pageId, 'delete');
    state.pages.get(req.params.pageId)?.subscribedApps.delete(token.appId);
    res.json({ success: true });
  });

  return router;
}
