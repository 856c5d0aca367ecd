/**
 * A later login's selection is what the app may reach (SPEC A3, META-API 2.6): a Facebook user who logs in again and
 * leaves an Instagram account out takes it away from the app, through the Page tokens issued earlier too; what was
 * selected again keeps working with those same tokens. A business of its own, so the demo one stays as it is.
 */
import { NotFoundError, PermissionDeniedError, TokenInvalidError } from '../../src/domain/errors';
import { APP_ID, REDIRECT_URI, SCOPES, type Harness, type Json, startHarness, rejection } from './support/harness';

const OWNER = { name: 'Sam Twoshops', email: 'sam.twoshops@example.com', password: 'two-shops-password' };

let h: Harness;
let shops: { x: Shop; y: Shop };

interface Shop {
  pageId: string;
  igAccountId: string;
  /** From the first login, which selected both shops. */
  pageToken: string;
  customerIgsid: string;
}

/** The owner's login: the dialog with these Pages and Instagram accounts selected, then a long-lived user token. */
async function login(selected: Shop[] | Array<{ pageId: string; igAccountId: string }>): Promise<string> {
  const dialog = await h.control('POST', '/dialog/complete', {
    client_id: APP_ID,
    redirect_uri: REDIRECT_URI,
    scope: SCOPES.join(','),
    email: OWNER.email,
    password: OWNER.password,
    pageIds: selected.map((shop) => shop.pageId),
    igAccountIds: selected.map((shop) => shop.igAccountId),
  });
  expect(dialog.status).toBe(200);
  const short = await h.client.exchangeCode({ code: String(dialog.body.code), redirectUri: REDIRECT_URI });
  return (await h.client.exchangeForLongLivedToken(short.accessToken)).accessToken;
}

const sendAs = (shop: Shop, text: string) => h.client.sendMessage({ accessToken: shop.pageToken, recipientId: shop.customerIgsid, message: { kind: 'text', text } });

beforeAll(async () => {
  h = await startHarness();
  const created = await h.control('POST', '/businesses', {
    user: OWNER,
    business: { name: 'Two Shops' },
    pages: [
      { name: 'Shop X', igAccount: { username: 'shop.x', name: 'Shop X' } },
      { name: 'Shop Y', igAccount: { username: 'shop.y', name: 'Shop Y' } },
    ],
  });
  expect(created.status).toBe(201);
  const [pageX, pageY] = created.body.pages as Json[];
  const both = [pageX, pageY].map((page: Json) => ({ pageId: page.id as string, igAccountId: page.igAccountId as string }));
  const userToken = await login(both);
  const pages = await h.client.listPages(userToken);
  const customer = await h.control('POST', '/ig-users', { username: 'two.shops.customer', name: 'Kim' });
  const shop = async (selected: { pageId: string; igAccountId: string }): Promise<Shop> => {
    const pageToken = pages.find((page) => page.id === selected.pageId)?.accessToken;
    if (!pageToken) throw new Error(`Page ${selected.pageId} missing from /me/accounts`);
    await h.client.subscribeApp(selected.pageId, pageToken, ['messages']);
    // The customer writes first, so sends are inside the 24-hour window.
    const wrote = await h.control('POST', `/ig-accounts/${selected.igAccountId}/inbound`, { from: { username: customer.body.username }, kind: 'text', text: 'hi' });
    expect(wrote.status).toBe(201);
    return { ...selected, pageToken, customerIgsid: wrote.body.igsid as string };
  };
  shops = { x: await shop(both[0]!), y: await shop(both[1]!) };
});

afterAll(async () => {
  await h.close();
});

describe('logging in again with fewer Instagram accounts', () => {
  beforeAll(async () => {
    // Both Page tokens work before the second login.
    await sendAs(shops.x, 'from X, before');
    await sendAs(shops.y, 'from Y, before');
    await login([shops.x]);
  });

  it('refuses a send as the account left out, with the old Page token: (#10) permission removed', async () => {
    const error = await rejection(sendAs(shops.y, 'from Y, after'), PermissionDeniedError);
    expect(error.upstream).toMatchObject({ code: 10 });
    expect(error.upstream.subcode).toBeUndefined();
    expect(error.message).toContain('instagram_manage_messages');
  });

  it('keeps sending as the account selected again, with its old Page token', async () => {
    const sent = await sendAs(shops.x, 'from X, after');
    expect(sent.recipientId).toBe(shops.x.customerIgsid);
    expect(sent.messageId).toBeTruthy();
  });

  it('shows only what is granted now in debug_token of the old Page token, which stays valid', async () => {
    const info = await h.client.debugToken(shops.y.pageToken);
    expect(info).toMatchObject({ isValid: true, type: 'PAGE', profileId: shops.y.pageId });
    expect(info.granularScopes).toEqual(
      expect.arrayContaining([
        { scope: 'instagram_manage_messages', targetIds: [shops.x.igAccountId] },
        { scope: 'instagram_basic', targetIds: [shops.x.igAccountId] },
        { scope: 'pages_manage_metadata', targetIds: [shops.x.pageId] },
        { scope: 'pages_show_list', targetIds: [shops.x.pageId] },
      ]),
    );
    const targets = info.granularScopes.flatMap((scope) => scope.targetIds ?? []);
    expect(targets).not.toContain(shops.y.igAccountId);
    expect(targets).not.toContain(shops.y.pageId);
  });

  it('refuses the subscriptions of the Page left out: (#200) pages_manage_metadata', async () => {
    const error = await rejection(h.client.listSubscribedApps(shops.y.pageId, shops.y.pageToken), PermissionDeniedError);
    expect(error.upstream).toMatchObject({ code: 200 });
    expect(error.message).toContain('pages_manage_metadata');
    await rejection(h.client.subscribeApp(shops.y.pageId, shops.y.pageToken, ['messages']), PermissionDeniedError);
    expect(await h.client.listSubscribedApps(shops.x.pageId, shops.x.pageToken)).toEqual([expect.objectContaining({ id: APP_ID })]);
  });

  it('refuses the profile and account reads of the account left out as objects it cannot load (100/33)', async () => {
    const profileError = await rejection(h.client.getUserProfile({ igsid: shops.y.customerIgsid, accessToken: shops.y.pageToken }), NotFoundError);
    expect(profileError.upstream).toMatchObject({ code: 100, subcode: 33 });
    await rejection(h.client.getInstagramAccount(shops.y.igAccountId, shops.y.pageToken), NotFoundError);
    expect(await h.client.getUserProfile({ igsid: shops.x.customerIgsid, accessToken: shops.x.pageToken })).toMatchObject({ name: 'Kim' });
    expect(await h.client.getInstagramAccount(shops.x.igAccountId, shops.x.pageToken)).toMatchObject({ username: 'shop.x' });
  });

  it('lists only the Page selected now in /me/accounts, for an older user token too', async () => {
    const olderUserToken = await login([shops.x]);
    // A token from a login that selected both, read after a login that selected one.
    const both = await login([shops.x, shops.y]);
    await login([shops.x]);
    for (const userToken of [olderUserToken, both]) {
      expect((await h.client.listPages(userToken)).map((page) => page.id)).toEqual([shops.x.pageId]);
    }
  });

  it('gives the old Page token back what a later login selects again', async () => {
    await login([shops.x, shops.y]);
    try {
      expect((await sendAs(shops.y, 'from Y, selected again')).recipientId).toBe(shops.y.customerIgsid);
      const info = await h.client.debugToken(shops.y.pageToken);
      expect(info.granularScopes).toEqual(expect.arrayContaining([{ scope: 'instagram_manage_messages', targetIds: [shops.x.igAccountId, shops.y.igAccountId] }]));
    } finally {
      await login([shops.x]);
    }
  });
});

describe('removing the app', () => {
  it('kills the old tokens for good (190/458), even once a new login grants the same accounts again', async () => {
    const user = (await h.control('GET', '/state')).body.users.find((candidate: Json) => candidate.email === OWNER.email);
    await h.control('POST', `/fb-users/${user.id}/remove-app`, { appId: APP_ID });
    await login([shops.x, shops.y]);
    const error = await rejection(sendAs(shops.x, 'after the app was removed'), TokenInvalidError);
    expect(error.upstream).toMatchObject({ code: 190, subcode: 458 });
    expect((await h.client.debugToken(shops.x.pageToken)).isValid).toBe(false);
  });
});
