/** The linking and token calls of the Graph client against the emulator (META-API 4, 1.8). */
import { InvalidRequestError, PermissionDeniedError, TokenInvalidError } from '../../src/domain/errors';
import { APP_ID, DEMO, REDIRECT_URI, SCOPES, type Harness, startHarness } from './support/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

/** The demo user's answer to the login dialog, driven through the control API; `extra` changes or adds fields. */
function completeDialog(extra: Record<string, unknown> = {}) {
  return h.control('POST', '/dialog/complete', {
    client_id: APP_ID,
    redirect_uri: REDIRECT_URI,
    state: 'csrf-123',
    scope: SCOPES.join(','),
    email: DEMO.user.email,
    password: DEMO.user.password,
    ...extra,
  });
}

async function dialogCode(extra: Record<string, unknown> = {}): Promise<string> {
  const { status, body } = await completeDialog(extra);
  expect(status).toBe(200);
  return body.code as string;
}

async function expectRejection<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}

describe('login dialog driven by the control API', () => {
  it('redirects with the code and the state', async () => {
    const { body } = await completeDialog();
    const redirect = new URL(String(body.redirectUrl));
    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT_URI);
    expect(redirect.searchParams.get('state')).toBe('csrf-123');
    expect(redirect.searchParams.get('code')).toBe(body.code);
  });

  it('redirects with Meta error parameters when the user cancels', async () => {
    const { body } = await completeDialog({ state: 'csrf-9', cancel: true });
    const redirect = new URL(String(body.redirectUrl));
    expect(Object.fromEntries(redirect.searchParams)).toEqual({
      error: 'access_denied',
      error_code: '200',
      error_description: 'Permissions error',
      error_reason: 'user_denied',
      state: 'csrf-9',
    });
  });

  it('refuses a wrong password', async () => {
    const { status, body } = await completeDialog({ state: undefined, scope: 'pages_show_list', password: 'wrong' });
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/password/);
  });
});

describe('login dialog in a browser (HTML forms)', () => {
  it('signs in, shows the choices and redirects with code and state', async () => {
    const query = new URLSearchParams({ client_id: APP_ID, redirect_uri: REDIRECT_URI, state: 'browser-state', scope: SCOPES.join(',') });
    const form = await fetch(`${h.baseUrl}/v25.0/dialog/oauth?${query.toString()}`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="password"');

    const login = await fetch(`${h.baseUrl}/dialog/oauth/login`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: APP_ID, redirect_uri: REDIRECT_URI, state: 'browser-state', scope: SCOPES.join(','), email: DEMO.user.email, password: DEMO.user.password }),
    });
    const selection = await login.text();
    expect(login.status).toBe(200);
    expect(selection).toContain(DEMO.page.name);
    expect(selection).toContain(`@${DEMO.igAccount.username}`);
    const session = /name="session" value="([^"]+)"/.exec(selection)?.[1];
    expect(session).toBeDefined();

    const confirmBody = new URLSearchParams({ session: session!, business_id: DEMO.business.id, action: 'continue' });
    confirmBody.append('page_ids', DEMO.page.id);
    confirmBody.append('ig_account_ids', DEMO.igAccount.id);
    for (const scope of SCOPES.filter((scope) => scope !== 'business_management')) confirmBody.append('granted_scopes', scope);
    const confirm = await fetch(`${h.baseUrl}/dialog/oauth/confirm`, { method: 'POST', body: confirmBody, redirect: 'manual' });
    expect(confirm.status).toBe(303);
    const location = new URL(confirm.headers.get('location')!);
    expect(location.searchParams.get('state')).toBe('browser-state');

    const token = await h.client.exchangeCode({ code: location.searchParams.get('code')!, redirectUri: REDIRECT_URI });
    const info = await h.client.debugToken(token.accessToken);
    expect(info.scopes).not.toContain('business_management');
    expect(info.granularScopes).toEqual(expect.arrayContaining([{ scope: 'pages_show_list', targetIds: [DEMO.page.id] }]));
  });

  it('answers a wrong password with the form again and 401', async () => {
    const response = await fetch(`${h.baseUrl}/dialog/oauth/login`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: APP_ID, redirect_uri: REDIRECT_URI, scope: 'pages_show_list', email: DEMO.user.email, password: 'nope' }),
    });
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('incorrect');
  });

  it('shows an error page for an unknown app', async () => {
    const response = await fetch(`${h.baseUrl}/dialog/oauth?client_id=999&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Invalid application ID');
  });
});

describe('token exchanges', () => {
  it('exchanges a code for a short-lived token (1 hour) with the granted scopes', async () => {
    const before = Math.floor(h.emulator.clock.now() / 1000);
    const token = await h.client.exchangeCode({ code: await dialogCode(), redirectUri: REDIRECT_URI });
    expect(token.tokenType).toBe('bearer');
    expect(token.expiresIn).toBeGreaterThan(3500);
    expect(token.expiresIn).toBeLessThanOrEqual(3600);
    const info = await h.client.debugToken(token.accessToken);
    expect(info).toMatchObject({ isValid: true, type: 'USER', appId: APP_ID, userId: DEMO.user.id });
    expect(info.expiresAt! - before).toBeGreaterThanOrEqual(3599);
    expect(info.expiresAt! - before).toBeLessThanOrEqual(3601);
    expect(info.scopes).toEqual(expect.arrayContaining(SCOPES));
    expect(info.granularScopes).toEqual(
      expect.arrayContaining([
        { scope: 'instagram_manage_messages', targetIds: [DEMO.igAccount.id] },
        { scope: 'business_management', targetIds: [DEMO.business.id] },
      ]),
    );
  });

  it('exchanges a short-lived token for a long-lived one (about 60 days, data access 90 days)', async () => {
    const short = await h.client.exchangeCode({ code: await dialogCode(), redirectUri: REDIRECT_URI });
    const long = await h.client.exchangeForLongLivedToken(short.accessToken);
    expect(long.expiresIn).toBe(5183944);
    const info = await h.client.debugToken(long.accessToken);
    const now = Math.floor(h.emulator.clock.now() / 1000);
    expect(info.expiresAt! - now).toBeGreaterThan(59 * 86400);
    expect(info.dataAccessExpiresAt! - now).toBeGreaterThan(89 * 86400);
  });

  it('refuses a code used twice (100/36009)', async () => {
    const code = await dialogCode();
    await h.client.exchangeCode({ code, redirectUri: REDIRECT_URI });
    const error = await expectRejection(h.client.exchangeCode({ code, redirectUri: REDIRECT_URI }), InvalidRequestError);
    expect(error.upstream).toMatchObject({ code: 100, subcode: 36009 });
  });

  it('refuses a code older than 10 minutes (100/36007)', async () => {
    const code = await dialogCode();
    h.emulator.clock.advance(11 * 60 * 1000);
    const error = await expectRejection(h.client.exchangeCode({ code, redirectUri: REDIRECT_URI }), InvalidRequestError);
    expect(error.upstream).toMatchObject({ code: 100, subcode: 36007 });
  });

  it('refuses a redirect_uri other than the dialog one (100/36008)', async () => {
    const code = await dialogCode();
    const error = await expectRejection(h.client.exchangeCode({ code, redirectUri: 'http://127.0.0.1:9/other' }), InvalidRequestError);
    expect(error.upstream).toMatchObject({ code: 100, subcode: 36008 });
  });

  it('refuses an expired short-lived token in the long-lived exchange (190/463)', async () => {
    const short = await h.client.exchangeCode({ code: await dialogCode(), redirectUri: REDIRECT_URI });
    h.emulator.clock.advance(2 * 60 * 60 * 1000);
    const error = await expectRejection(h.client.exchangeForLongLivedToken(short.accessToken), TokenInvalidError);
    expect(error.reason).toBe('expired');
    expect(error.upstream).toMatchObject({ code: 190, subcode: 463 });
  });
});

describe('the user, Pages and subscriptions', () => {
  it('lists the chosen Pages with Page tokens and the linked Instagram account', async () => {
    const short = await h.client.exchangeCode({ code: await dialogCode(), redirectUri: REDIRECT_URI });
    const long = await h.client.exchangeForLongLivedToken(short.accessToken);
    const me = await h.client.getMe(long.accessToken);
    expect(me).toEqual({ id: DEMO.user.id, name: DEMO.user.name });
    const pages = await h.client.listPages(long.accessToken);
    const linked = pages.find((page) => page.id === DEMO.page.id);
    const unlinked = pages.find((page) => page.id === DEMO.pageWithoutInstagram.id);
    expect(linked).toMatchObject({ name: DEMO.page.name, instagramBusinessAccountId: DEMO.igAccount.id, tasks: expect.arrayContaining(['MESSAGING']) });
    expect(unlinked?.instagramBusinessAccountId).toBeUndefined();
    // A Page token from a long-lived user token never expires: debug_token shows expires_at 0.
    const pageInfo = await h.client.debugToken(linked!.accessToken!);
    expect(pageInfo).toMatchObject({ isValid: true, type: 'PAGE', expiresAt: 0, profileId: DEMO.page.id });
    const account = await h.client.getInstagramAccount(DEMO.igAccount.id, linked!.accessToken!);
    expect(account).toMatchObject({ id: DEMO.igAccount.id, username: DEMO.igAccount.username });
  });

  it('lists only the Pages picked in the dialog', async () => {
    const short = await h.client.exchangeCode({ code: await dialogCode({ pageIds: [DEMO.pageWithoutInstagram.id], igAccountIds: [] }), redirectUri: REDIRECT_URI });
    const pages = await h.client.listPages(short.accessToken);
    expect(pages.map((page) => page.id)).toEqual([DEMO.pageWithoutInstagram.id]);
  });

  it('subscribes, lists and unsubscribes the app on a Page', async () => {
    const linked = await h.linkDemoAccount();
    const apps = await h.client.listSubscribedApps(linked.pageId, linked.pageToken);
    expect(apps).toEqual([expect.objectContaining({ id: APP_ID, subscribedFields: expect.arrayContaining(['messages']) })]);
    await h.client.unsubscribeApp(linked.pageId, linked.pageToken);
    expect(await h.client.listSubscribedApps(linked.pageId, linked.pageToken)).toEqual([]);
  });

  it('refuses subscribed_apps without pages_manage_metadata (200)', async () => {
    const linked = await h.linkDemoAccount({ declinedScopes: ['pages_manage_metadata'] });
    const info = await h.client.debugToken(linked.userToken);
    expect(info.scopes).not.toContain('pages_manage_metadata');
    const error = await expectRejection(h.client.subscribeApp(linked.pageId, linked.pageToken, ['messages']), PermissionDeniedError);
    expect(error.upstream).toMatchObject({ code: 200 });
    expect(error.message).toContain('pages_manage_metadata');
  });
});

describe('token death', () => {
  it('a password change kills user and Page tokens (190/460)', async () => {
    const linked = await h.linkDemoAccount();
    await h.control('POST', `/fb-users/${DEMO.user.id}/password`, { password: 'new-password' });
    try {
      const error = await expectRejection(h.client.listSubscribedApps(linked.pageId, linked.pageToken), TokenInvalidError);
      expect(error.reason).toBe('password_changed');
      expect(error.upstream).toMatchObject({ code: 190, subcode: 460 });
      const info = await h.client.debugToken(linked.userToken);
      expect(info.isValid).toBe(false);
      expect(info.error).toMatchObject({ code: 190, subcode: 460 });
    } finally {
      await h.control('POST', `/fb-users/${DEMO.user.id}/password`, { password: DEMO.user.password });
    }
  });

  it('Meta can expire a token early (190/463), and Page tokens derived from it die with it', async () => {
    const linked = await h.linkDemoAccount();
    const { body } = await h.control('POST', '/tokens/expire', { token: linked.userToken });
    expect(body.tokensInvalidated).toBeGreaterThanOrEqual(2);
    const error = await expectRejection(h.client.getMe(linked.userToken), TokenInvalidError);
    expect(error.reason).toBe('expired');
    expect(error.upstream).toMatchObject({ code: 190, subcode: 463 });
    const pageError = await expectRejection(h.client.listSubscribedApps(linked.pageId, linked.pageToken), TokenInvalidError);
    expect(pageError.reason).toBe('expired');
  });

  it('removing the app kills its tokens (190/458) and its Page subscriptions', async () => {
    const linked = await h.linkDemoAccount();
    await h.control('POST', `/fb-users/${DEMO.user.id}/remove-app`, { appId: APP_ID });
    const error = await expectRejection(h.client.getMe(linked.userToken), TokenInvalidError);
    expect(error.reason).toBe('app_removed');
    expect(error.upstream).toMatchObject({ code: 190, subcode: 458 });
    const { body } = await h.control('GET', '/state');
    const page = (body.pages as Array<{ id: string; subscribedApps: Record<string, unknown> }>).find((candidate) => candidate.id === DEMO.page.id)!;
    expect(page.subscribedApps[APP_ID]).toBeUndefined();
  });

  it('a Page token from a short-lived user token expires with it after an hour (190/463)', async () => {
    const short = await h.client.exchangeCode({ code: await dialogCode(), redirectUri: REDIRECT_URI });
    const page = (await h.client.listPages(short.accessToken)).find((candidate) => candidate.id === DEMO.page.id)!;
    const info = await h.client.debugToken(page.accessToken!);
    expect(info.expiresAt).toBeGreaterThan(0);
    h.emulator.clock.advance(61 * 60 * 1000);
    const error = await expectRejection(h.client.listSubscribedApps(page.id, page.accessToken!), TokenInvalidError);
    expect(error.reason).toBe('expired');
  });

  it('a token Meta cannot parse is invalid (190 without subcode)', async () => {
    const error = await expectRejection(h.client.getMe('EAAnotARealTokenAtAllButLongEnough'), TokenInvalidError);
    expect(error.reason).toBe('invalid');
    expect(error.upstream).toMatchObject({ code: 190 });
    expect(error.upstream.subcode).toBeUndefined();
    expect(error.message).not.toContain('EAAnotARealToken');
  });

  it('a missing token is reported as such (104)', async () => {
    const error = await expectRejection(h.client.getMe(''), TokenInvalidError);
    expect(error.reason).toBe('missing');
    expect(error.upstream).toMatchObject({ code: 104 });
  });

  it('debug_token reports an unknown token as invalid without failing', async () => {
    const info = await h.client.debugToken('EAAunknownTokenValueForDebugging');
    expect(info.isValid).toBe(false);
    expect(info.error?.code).toBe(190);
  });
});
