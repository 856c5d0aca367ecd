/**
 * Facebook Login's dialog: a Facebook user signs in, picks a business, Pages and Instagram accounts, grants or
 * refuses each permission, and is sent back to `redirect_uri` with `code` and `state` (or Meta's error
 * parameters). Plain HTML forms, so it works in a real browser; `completeLogin` is also what the control API
 * drives, so both paths behave the same.
 */
import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { issueAuthCode } from '../access-tokens';
import { graphErrors } from '../graph-errors';
import type { EmulatorState } from '../state';
import type { EmulatedApp, FacebookUser, Grant } from '../state-records';

export interface DialogRequest {
  clientId: string;
  redirectUri: string;
  state?: string;
  scopes: string[];
}

export interface LoginSelection {
  businessId?: string;
  pageIds?: string[];
  igAccountIds?: string[];
  /** Requested permissions the user grants; the rest are declined. Default: all of them. */
  grantedScopes?: string[];
  cancel?: boolean;
}

export interface LoginOutcome {
  redirectUrl: string;
  code?: string;
  grant?: Grant;
}

interface DialogSession {
  request: DialogRequest;
  userId: string;
  expiresAt: number;
}

const SESSION_MS = 30 * 60 * 1000;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;color:#1c1e21}fieldset{margin:1rem 0;border:1px solid #dddfe2;border-radius:6px}
label{display:block;margin:.3rem 0}button{margin-right:.5rem;padding:.4rem 1rem}.note{color:#606770;font-size:.9rem}.error{color:#c00}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}<p class="note">Meta emulator: a local stand-in for Facebook Login.</p></body></html>`;
}

export function userOwnedAssets(state: EmulatorState, user: FacebookUser) {
  const businesses = user.businessIds.map((id) => state.businesses.get(id)).filter((business) => business !== undefined);
  const pages = [...state.pages.values()].filter((item) => user.businessIds.includes(item.businessId));
  const igAccounts = pages
    .map((item) => (item.igAccountId === null ? undefined : state.igAccounts.get(item.igAccountId)))
    .filter((account) => account !== undefined);
  return { businesses, pages, igAccounts };
}

export function validateDialogRequest(state: EmulatorState, request: DialogRequest): EmulatedApp {
  const app = state.apps.get(request.clientId);
  if (!app) throw graphErrors.invalidAppId();
  try {
    const url = new URL(request.redirectUri);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw graphErrors.invalidParameter('redirect_uri must be an absolute http(s) URL');
  }
  return app;
}

function redirectWith(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

/** Finishes the dialog for `user`: the grant, a one-time code and where the browser goes next. */
export function completeLogin(state: EmulatorState, request: DialogRequest, user: FacebookUser, selection: LoginSelection): LoginOutcome {
  const app = validateDialogRequest(state, request);
  if (selection.cancel) {
    return {
      redirectUrl: redirectWith(request.redirectUri, {
        error: 'access_denied',
        error_code: '200',
        error_description: 'Permissions error',
        error_reason: 'user_denied',
        state: request.state,
      }),
    };
  }
  const assets = userOwnedAssets(state, user);
  const businessId = selection.businessId ?? assets.businesses[0]?.id ?? null;
  if (businessId !== null && !user.businessIds.includes(businessId)) throw graphErrors.invalidParameter(`business ${businessId} is not one of this user's`);
  const pagesOfBusiness = assets.pages.filter((item) => businessId === null || item.businessId === businessId);
  const pageIds = selection.pageIds ?? pagesOfBusiness.map((item) => item.id);
  for (const pageId of pageIds) {
    if (!pagesOfBusiness.some((item) => item.id === pageId)) throw graphErrors.invalidParameter(`Page ${pageId} is not in the chosen business`);
  }
  const igAccountsOfBusiness = assets.igAccounts.filter((account) => pagesOfBusiness.some((item) => item.id === account.pageId));
  const igAccountIds = selection.igAccountIds ?? igAccountsOfBusiness.map((account) => account.id);
  for (const igAccountId of igAccountIds) {
    if (!igAccountsOfBusiness.some((account) => account.id === igAccountId)) {
      throw graphErrors.invalidParameter(`Instagram account ${igAccountId} is not in the chosen business`);
    }
  }
  const granted = selection.grantedScopes ?? request.scopes;
  const scopes = request.scopes.filter((scope) => granted.includes(scope));
  const grant: Grant = {
    appId: app.id,
    userId: user.id,
    scopes: scopes.includes('public_profile') ? scopes : ['public_profile', ...scopes],
    declinedScopes: request.scopes.filter((scope) => !granted.includes(scope)),
    businessId,
    pageIds,
    igAccountIds,
  };
  const code = issueAuthCode(state, { appId: app.id, redirectUri: request.redirectUri, grant });
  return { redirectUrl: redirectWith(request.redirectUri, { code: code.code, state: request.state }), code: code.code, grant };
}

function stringField(source: unknown, name: string): string | undefined {
  const value = (source as Record<string, unknown> | undefined)?.[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

function listField(source: unknown, name: string): string[] {
  const value = (source as Record<string, unknown> | undefined)?.[name];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

export function parseScopes(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(/[,\s]+/)
    .map((scope) => scope.trim())
    .filter(Boolean);
}

function dialogRequestFrom(source: unknown): DialogRequest {
  const state = stringField(source, 'state');
  return {
    clientId: stringField(source, 'client_id') ?? '',
    redirectUri: stringField(source, 'redirect_uri') ?? '',
    scopes: parseScopes(stringField(source, 'scope')),
    ...(state === undefined ? {} : { state }),
  };
}

function hiddenFields(request: DialogRequest): string {
  const fields: Record<string, string> = { client_id: request.clientId, redirect_uri: request.redirectUri, scope: request.scopes.join(',') };
  if (request.state !== undefined) fields.state = request.state;
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
    .join('');
}

export function createDialogRouter(deps: { state: EmulatorState }): Router {
  const { state } = deps;
  const router = Router();
  const sessions = new Map<string, DialogSession>();

  const loginForm = (request: DialogRequest, app: EmulatedApp, error?: string): string =>
    page(
      `Log in to continue to ${app.name}`,
      `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}<form method="post" action="/dialog/oauth/login">${hiddenFields(request)}
<label>Email <input name="email" type="email" required autofocus></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit">Log in</button></form>`,
    );

  function renderError(res: import('express').Response, status: number, message: string): void {
    res.status(status).type('html').send(page('Something went wrong', `<p class="error">${escapeHtml(message)}</p>`));
  }

  /** The dialog's request and its app, or undefined after answering the error page. */
  function validRequest(source: unknown, res: Response): { request: DialogRequest; app: EmulatedApp } | undefined {
    const request = dialogRequestFrom(source);
    try {
      return { request, app: validateDialogRequest(state, request) };
    } catch (error) {
      renderError(res, 400, (error as Error).message);
      return undefined;
    }
  }

  router.get('/dialog/oauth', (req, res) => {
    const valid = validRequest(req.query, res);
    if (valid) res.type('html').send(loginForm(valid.request, valid.app));
  });

  router.post('/dialog/oauth/login', (req: Request, res) => {
    const valid = validRequest(req.body, res);
    if (!valid) return;
    const { request, app } = valid;
    const email = stringField(req.body, 'email') ?? '';
    const user = [...state.users.values()].find((candidate) => candidate.email === email);
    if (!user || user.password !== (stringField(req.body, 'password') ?? '')) {
      res.status(401).type('html').send(loginForm(request, app, 'The email or password you entered is incorrect.'));
      return;
    }
    const sessionId = randomUUID();
    sessions.set(sessionId, { request, userId: user.id, expiresAt: state.clock.now() + SESSION_MS });
    const assets = userOwnedAssets(state, user);
    const option = (type: 'radio' | 'checkbox', name: string, value: string, label: string, checked: boolean): string =>
      `<label><input type="${type}" name="${name}" value="${escapeHtml(value)}"${checked ? ' checked' : ''}> ${escapeHtml(label)}</label>`;
    const body = `<p>Signed in as ${escapeHtml(user.name)}. Choose what ${escapeHtml(app.name)} may access.</p>
<form method="post" action="/dialog/oauth/confirm"><input type="hidden" name="session" value="${sessionId}">
<fieldset><legend>Business</legend>${assets.businesses.map((business, index) => option('radio', 'business_id', business.id, business.name, index === 0)).join('') || '<p>No business</p>'}</fieldset>
<fieldset><legend>Facebook Pages</legend>${assets.pages.map((item) => option('checkbox', 'page_ids', item.id, item.name, true)).join('') || '<p>No Pages</p>'}</fieldset>
<fieldset><legend>Instagram accounts</legend>${assets.igAccounts.map((account) => option('checkbox', 'ig_account_ids', account.id, `@${account.username}`, true)).join('') || '<p>No Instagram professional accounts</p>'}</fieldset>
<fieldset><legend>Permissions</legend>${request.scopes.map((scope) => option('checkbox', 'granted_scopes', scope, scope, true)).join('')}</fieldset>
<button type="submit" name="action" value="continue">Continue</button><button type="submit" name="action" value="cancel">Cancel</button></form>`;
    res.type('html').send(page(`Continue to ${app.name}`, body));
  });

  router.post('/dialog/oauth/confirm', (req, res) => {
    const sessionId = stringField(req.body, 'session') ?? '';
    const session = sessions.get(sessionId);
    if (!session || session.expiresAt < state.clock.now()) {
      renderError(res, 400, 'This login session has expired. Start again from the app.');
      return;
    }
    sessions.delete(sessionId);
    const user = state.users.get(session.userId);
    if (!user) {
      renderError(res, 400, 'This Facebook account no longer exists.');
      return;
    }
    const businessId = stringField(req.body, 'business_id');
    // Only the Pages and accounts of the chosen business count; the page shows all of the user's.
    const pagesOfBusiness = new Set([...state.pages.values()].filter((item) => item.businessId === businessId).map((item) => item.id));
    try {
      const outcome = completeLogin(state, session.request, user, {
        cancel: stringField(req.body, 'action') === 'cancel',
        ...(businessId === undefined ? {} : { businessId }),
        pageIds: listField(req.body, 'page_ids').filter((id) => pagesOfBusiness.has(id)),
        igAccountIds: listField(req.body, 'ig_account_ids').filter((id) => pagesOfBusiness.has(state.igAccounts.get(id)?.pageId ?? '')),
        grantedScopes: listField(req.body, 'granted_scopes'),
      });
      res.redirect(303, outcome.redirectUrl);
    } catch (error) {
      renderError(res, 400, (error as Error).message);
    }
  });

  return router;
}
