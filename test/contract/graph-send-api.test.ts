/** The Send API and Profile API calls of the Graph client against the emulator, one test per documented code. */
import {
  ConsentRequiredError,
  MediaRejectedError,
  MessagesAccessOffError,
  NotFoundError,
  RateLimitedError,
  RecipientUnavailableError,
  TextTooLongError,
  TransientUpstreamError,
  UnknownOutcomeError,
  WindowClosedError,
} from '../../src/domain/errors';
import { parseWebhookPayload } from '../../emulator/webhook-schema';
import { permanentSendRefusals } from '../support/refusals';
import { APP_ID, DEMO, type Harness, type Json, makeClient, startHarness, startMediaServer, rejection } from './support/harness';

const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF'), Buffer.alloc(64)]);
const ico = Buffer.concat([Buffer.from([0x00, 0x00, 0x01, 0x00, 0x01, 0x00]), Buffer.alloc(40)]);
const bmp = Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]);
const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

let h: Harness;
let media: { url: string; close(): Promise<void> };
let pageToken: string;
let customerIgsid: string;

beforeAll(async () => {
  h = await startHarness();
  media = await startMediaServer({
    '/photo.png': { contentType: 'image/png', body: png },
    '/photo.jpg': { contentType: 'image/jpeg', body: jpeg },
    '/favicon.ico': { contentType: 'image/x-icon', body: ico },
    '/picture.bmp': { contentType: 'image/bmp', body: bmp },
    '/jpeg-behind-wrong-header': { contentType: 'text/html', body: jpeg },
    '/animation.gif': { contentType: 'image/gif', body: gif },
    '/not-really.png': { contentType: 'image/png', body: Buffer.from('<html>this is a web page</html>') },
    '/huge.jpg': { contentType: 'image/jpeg', body: Buffer.concat([jpeg, Buffer.alloc(8_000_001)]) },
    '/clip.mp4': { contentType: 'video/mp4', body: Buffer.from('0000001c667479706d703432', 'hex') },
  });
  ({ pageToken } = await h.linkDemoAccount());
  customerIgsid = (await h.customer({ kind: 'text', text: 'hello' })).igsid;
});

afterAll(async () => {
  await media.close();
  await h.close();
});

beforeEach(async () => {
  await h.control('DELETE', '/faults/send-api');
  await h.control('PATCH', `/ig-accounts/${DEMO.igAccount.id}`, { messagesAccess: true, sendRateLimitPerSecond: 100, throttleMinutes: 0 });
  // Each test starts inside a fresh 24-hour window.
  await h.customer({ kind: 'text', text: 'a new question' });
});

const sendText = (text: string, extra: { tag?: 'HUMAN_AGENT'; recipientId?: string } = {}) =>
  h.client.sendMessage({ accessToken: pageToken, recipientId: extra.recipientId ?? customerIgsid, message: { kind: 'text', text }, ...(extra.tag ? { tag: extra.tag } : {}) });
const sendImage = (path: string) =>
  h.client.sendMessage({ accessToken: pageToken, recipientId: customerIgsid, message: { kind: 'image', url: `${media.url}${path}` } });

type SentMessage = { mid: string; attachments?: Array<{ type: string; payload: { url: string } }> };
async function sentMessages(): Promise<SentMessage[]> {
  const { body } = await h.control('GET', `/sent-messages?igsid=${customerIgsid}`);
  return body.data as SentMessage[];
}

async function rawSend(body: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${h.baseUrl}/v25.0/me/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${pageToken}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

describe('sending text', () => {
  it('answers recipient_id and message_id, and the echo webhook carries the same mid and the app id', async () => {
    h.receiver.reset();
    const sent = await sendText('Thanks for writing! 감사합니다');
    expect(sent.recipientId).toBe(customerIgsid);
    expect(sent.messageId).toMatch(/^[A-Za-z0-9+/]+$/);
    await h.emulator.webhooks.waitForIdle(2_000);
    const echoes = h.receiver.received
      .flatMap((delivery) => parseWebhookPayload(delivery.raw).entry)
      .flatMap((entry) => entry.messaging ?? [])
      .filter((event) => event.message?.is_echo === true);
    expect(echoes).toHaveLength(1);
    expect(echoes[0]).toMatchObject({
      sender: { id: DEMO.igAccount.id },
      recipient: { id: customerIgsid },
      message: { mid: sent.messageId, text: 'Thanks for writing! 감사합니다', is_echo: true, app_id: Number(APP_ID) },
    });
    expect((await sentMessages()).map((message) => message.mid)).toContain(sent.messageId);
  });

  it('also sends through /{ig-account-id}/messages and /{page-id}/messages', async () => {
    for (const senderId of [DEMO.igAccount.id, DEMO.page.id]) {
      const sent = await h.client.sendMessage({ accessToken: pageToken, senderId, recipientId: customerIgsid, message: { kind: 'text', text: 'hi' } });
      expect(sent.recipientId).toBe(customerIgsid);
    }
  });

  it('accepts exactly 1,000 UTF-8 bytes and refuses 1,001 (100/2534015 → TextTooLong)', async () => {
    await expect(sendText('가'.repeat(333) + 'a')).resolves.toHaveProperty('messageId');
    const error = await rejection(sendText('가'.repeat(333) + 'ab'), TextTooLongError);
    expect(error).toMatchObject({ bytes: 1001, limit: 1000 });
    expect(error.upstream).toMatchObject({ code: 100, subcode: 2534015 });
  });

  it('refuses an unknown recipient (100/2534014)', async () => {
    const error = await rejection(sendText('hi', { recipientId: '1234567890123456' }), RecipientUnavailableError);
    expect(error.reason).toBe('no_matching_user');
    expect(error.upstream).toMatchObject({ code: 100, subcode: 2534014 });
  });

  it('refuses when "Allow access to messages" is off (200/2534041)', async () => {
    await h.control('PATCH', `/ig-accounts/${DEMO.igAccount.id}`, { messagesAccess: false });
    const error = await rejection(sendText('hi'), MessagesAccessOffError);
    expect(error.upstream).toMatchObject({ code: 200, subcode: 2534041 });
  });
});

describe('messaging windows', () => {
  it('closes the standard window after 24 hours (10/2534022) and HUMAN_AGENT opens it until 7 days', async () => {
    h.emulator.clock.advance(25 * 60 * 60 * 1000);
    const error = await rejection(sendText('late reply'), WindowClosedError);
    expect(error.upstream).toMatchObject({ code: 10, subcode: 2534022 });
    await expect(sendText('human agent reply', { tag: 'HUMAN_AGENT' })).resolves.toHaveProperty('messageId');
    h.emulator.clock.advance(6 * 24 * 60 * 60 * 1000);
    const closed = await rejection(sendText('too late', { tag: 'HUMAN_AGENT' }), WindowClosedError);
    expect(closed.upstream).toMatchObject({ code: 10, subcode: 2534022 });
  });

  it('has no window for a user who never messaged', async () => {
    const newcomer = await h.control('POST', '/ig-users', { username: 'never.wrote' });
    const { body } = await h.control('POST', `/ig-users/${newcomer.body.id}/scoped-id`, { igAccountId: DEMO.igAccount.id });
    await rejection(sendText('hello?', { recipientId: body.igsid }), WindowClosedError);
  });

  it('moves the window with customer messages only, not with reactions or read receipts', async () => {
    const message = await h.customer({ kind: 'text', text: 'question' });
    h.emulator.clock.advance(23 * 60 * 60 * 1000);
    const sent = await sendText('answer');
    await h.customer({ kind: 'reaction', mid: sent.messageId, reaction: 'like' });
    await h.customer({ kind: 'read', mid: sent.messageId });
    h.emulator.clock.advance(2 * 60 * 60 * 1000);
    await rejection(sendText('follow-up'), WindowClosedError);
    expect(message.mid).toBeDefined();
  });
});

describe('rate limits', () => {
  it('answers 613/2534040 beyond the per-second limit, with a retry after about a second', async () => {
    await h.control('PATCH', `/ig-accounts/${DEMO.igAccount.id}`, { sendRateLimitPerSecond: 2 });
    // Start a fresh one-second window: earlier tests sent within the last second.
    h.emulator.clock.advance(1_001);
    await sendText('one');
    await sendText('two');
    const error = await rejection(sendText('three'), RateLimitedError);
    expect(error).toMatchObject({ scope: 'account', retryAfterMs: 1_000, retryable: true });
    expect(error.upstream).toMatchObject({ code: 613, subcode: 2534040 });
  });

  it('answers 80002 for a throttled account and takes the wait from X-Business-Use-Case-Usage', async () => {
    await h.control('PATCH', `/ig-accounts/${DEMO.igAccount.id}`, { throttleMinutes: 3 });
    const error = await rejection(sendText('hi'), RateLimitedError);
    expect(error.retryAfterMs).toBe(180_000);
    expect(error.upstream).toMatchObject({ code: 80002 });
  });
});

describe('images by URL (fetched for real)', () => {
  it.each(['/photo.png', '/photo.jpg', '/jpeg-behind-wrong-header'])('accepts %s', async (path) => {
    const sent = await sendImage(path);
    const attachment = (await sentMessages()).find((message) => message.mid === sent.messageId)?.attachments?.[0];
    expect(attachment?.type).toBe('image');
    // The echo points at the emulator's CDN copy, which serves the bytes it fetched.
    const copy = await fetch(attachment!.payload.url);
    expect(copy.status).toBe(200);
    expect(Buffer.from(await copy.arrayBuffer()).subarray(0, 2)).toEqual((path.endsWith('.png') ? png : jpeg).subarray(0, 2));
  });

  // Meta names PNG and JPEG only (META-API 2.3); the product's promise of ICO and BMP goes beyond what Meta takes.
  it.each(['/animation.gif', '/favicon.ico', '/picture.bmp'])('refuses %s (100/2018047)', async (path) => {
    const error = await rejection(sendImage(path), MediaRejectedError);
    expect(error.reason).toBe('unsupported_type');
    expect(error.upstream).toMatchObject({ code: 100, subcode: 2018047 });
  });

  it('judges by the bytes, not the Content-Type header (100/2018047)', async () => {
    const error = await rejection(sendImage('/not-really.png'), MediaRejectedError);
    expect(error.upstream).toMatchObject({ code: 100, subcode: 2018047 });
  });

  it('refuses more than 8 MB (100/2018109)', async () => {
    const error = await rejection(sendImage('/huge.jpg'), MediaRejectedError);
    expect(error.reason).toBe('too_large');
    expect(error.upstream).toMatchObject({ code: 100, subcode: 2018109 });
  });

  it('reports a URL it cannot fetch (100/2018008)', async () => {
    const error = await rejection(sendImage('/missing.png'), MediaRejectedError);
    expect(error.reason).toBe('fetch_failed');
    expect(error.upstream).toMatchObject({ code: 100, subcode: 2018008 });
  });

  it('refuses video attachments in Meta error shape', async () => {
    const { status, body } = await rawSend({ recipient: { id: customerIgsid }, message: { attachment: { type: 'video', payload: { url: `${media.url}/clip.mp4` } } } });
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ type: 'OAuthException', code: 100, error_subcode: 2018047, is_transient: false });
    expect(typeof body.error.fbtrace_id).toBe('string');
  });
});

describe('bad input gets Meta errors, never a 500', () => {
  it('names a missing recipient', async () => {
    const { status, body } = await rawSend({ message: { text: 'hi' } });
    expect(status).toBe(400);
    expect(body.error.code).toBe(100);
    expect(body.error.message).toMatch(/recipient/);
  });

  it('refuses a body that is not JSON', async () => {
    const { status, body } = await rawSend('{"recipient": ');
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 100, type: 'OAuthException' });
  });

  it('refuses a tag other than HUMAN_AGENT (100)', async () => {
    const { status, body } = await rawSend({ recipient: { id: customerIgsid }, message: { text: 'hi' }, messaging_type: 'MESSAGE_TAG', tag: 'ACCOUNT_UPDATE' });
    expect(status).toBe(400);
    expect(body.error.code).toBe(100);
  });

  it('answers an unknown object id with 100/33', async () => {
    const response = await fetch(`${h.baseUrl}/v25.0/999999/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pageToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ recipient: { id: customerIgsid }, message: { text: 'hi' } }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as Json).error).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('accepts sender actions and answers only recipient_id', async () => {
    await expect(h.client.sendSenderAction({ accessToken: pageToken, recipientId: customerIgsid, action: 'typing_on' })).resolves.toBeUndefined();
    const { body } = await rawSend({ recipient: { id: customerIgsid }, sender_action: 'mark_seen' });
    expect(body).toEqual({ recipient_id: customerIgsid });
  });
});

describe('fault switches', () => {
  it('transient error code 1 with is_transient → TransientUpstream, then success once the count is used', async () => {
    await h.control('PUT', '/faults/send-api', { mode: 'transient_1', count: 1 });
    const error = await rejection(sendText('hi'), TransientUpstreamError);
    expect(error.retryable).toBe(true);
    expect(error.upstream).toMatchObject({ code: 1, httpStatus: 500 });
    await expect(sendText('hi again')).resolves.toHaveProperty('messageId');
  });

  it('transient error code 2 → TransientUpstream', async () => {
    await h.control('PUT', '/faults/send-api', { mode: 'transient_2', rate: 1 });
    const error = await rejection(sendText('hi'), TransientUpstreamError);
    expect(error.upstream).toMatchObject({ code: 2 });
    await rejection(sendText('hi'), TransientUpstreamError);
  });

  it('a 5xx without a Graph body → TransientUpstream', async () => {
    await h.control('PUT', '/faults/send-api', { mode: 'server_error', count: 1, status: 502 });
    const error = await rejection(sendText('hi'), TransientUpstreamError);
    expect(error.upstream).toMatchObject({ httpStatus: 502 });
  });

  it.each([...permanentSendRefusals, ['window_closed', 10, 2534022, 'WindowClosed'] as const])('a %s refusal answers Meta %i/%s, which the client maps to %s; nothing is sent', async (refusal, code, subcode, type) => {
    await h.control('PUT', '/faults/send-api', { mode: 'refusal', refusal, count: 1 });
    const before = (await sentMessages()).length;
    const error = await sendText('refused?').then(
      () => undefined,
      (failure: unknown) => failure as { type?: string; upstream?: { code?: number; subcode?: number } },
    );
    expect(error?.type).toBe(type);
    expect(error?.upstream).toMatchObject({ code, subcode });
    expect((await sentMessages()).length).toBe(before);
    await expect(sendText('and now it goes')).resolves.toHaveProperty('messageId');
  });

  it('a slow fault holds the call, then serves it: the message is sent once', async () => {
    await h.control('PUT', '/faults/send-api', { mode: 'slow', count: 1, hangMs: 300 });
    const before = (await sentMessages()).length;
    const started = Date.now();
    await expect(sendText('slowly')).resolves.toHaveProperty('messageId');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect((await sentMessages()).length).toBe(before + 1);
  });

  it('a refusal fault without the refusal to answer is refused by the control API', async () => {
    const { status, body } = await h.control('PUT', '/faults/send-api', { mode: 'refusal', count: 1 });
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toMatch(/refusal/);
  });

  it('1/1357046 → UnknownOutcome, and the message was in fact sent', async () => {
    await h.control('PUT', '/faults/send-api', { mode: 'unknown_outcome', count: 1 });
    const before = (await sentMessages()).length;
    const error = await rejection(sendText('did it go?'), UnknownOutcomeError);
    expect(error.retryable).toBe(false);
    expect(error.upstream).toMatchObject({ code: 1, subcode: 1357046 });
    const after = (await sentMessages()).length;
    expect(after).toBe(before + 1);
  });

  it('a send that times out → UnknownOutcome (Meta may have acted)', async () => {
    await h.control('PUT', '/faults/send-api', { mode: 'timeout', count: 1, hangMs: 5_000 });
    const impatient = makeClient(h.baseUrl, { timeoutMs: 300 });
    const error = await rejection(
      impatient.sendMessage({ accessToken: pageToken, recipientId: customerIgsid, message: { kind: 'text', text: 'hi' } }),
      UnknownOutcomeError,
    );
    expect(error.message).toMatch(/timed out/);
    expect(error.message).not.toContain(pageToken);
  });

  it('refuses a fault rule with neither count nor rate, naming the problem', async () => {
    const { status, body } = await h.control('PUT', '/faults/send-api', { mode: 'timeout' });
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/count or rate/);
  });
});

describe('Profile API', () => {
  it('returns name, username and picture', async () => {
    const profile = await h.client.getUserProfile({ igsid: customerIgsid, accessToken: pageToken });
    expect(profile).toMatchObject({ id: customerIgsid, username: DEMO.customers[0].username, name: DEMO.customers[0].name });
    expect(profile.profilePic).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_cdn\/media\//);
    expect((await fetch(profile.profilePic!)).status).toBe(200);
  });

  it('returns null name and picture for a user who set none', async () => {
    const { igsid } = await h.customer({ kind: 'text', text: 'hi' }, { username: DEMO.customers[1].username });
    const profile = await h.client.getUserProfile({ igsid, accessToken: pageToken });
    expect(profile).toMatchObject({ username: DEMO.customers[1].username, name: null, profilePic: null });
  });

  it('follows a username change', async () => {
    const user = await h.control('POST', '/ig-users', { username: 'old.name', name: 'Renamer' });
    const { igsid } = await h.customer({ kind: 'text', text: 'hi' }, { igUserId: user.body.id });
    await h.control('PATCH', `/ig-users/${user.body.id}`, { username: 'new.name' });
    const profile = await h.client.getUserProfile({ igsid, accessToken: pageToken });
    expect(profile.username).toBe('new.name');
  });

  it('refuses a user who never messaged the account (230)', async () => {
    const user = await h.control('POST', '/ig-users', { username: 'only.commented' });
    const { body } = await h.control('POST', `/ig-users/${user.body.id}/scoped-id`, { igAccountId: DEMO.igAccount.id });
    const error = await rejection(h.client.getUserProfile({ igsid: body.igsid, accessToken: pageToken }), ConsentRequiredError);
    expect(error.upstream).toMatchObject({ code: 230 });
    expect(error.upstream.metaMessage).toContain('User consent is required to access user profile');
  });

  it('does not show an IGSID of another account (100/33)', async () => {
    const other = await h.control('POST', '/businesses', {
      user: { name: 'Other Owner', email: 'other@example.com', password: 'x' },
      business: { name: 'Other' },
      pages: [{ name: 'Other Page', igAccount: { username: 'other.shop', name: 'Other Shop' } }],
    });
    const otherAccount = other.body.igAccounts[0].id as string;
    const { body } = await h.control('POST', `/ig-accounts/${otherAccount}/inbound`, { from: { username: DEMO.customers[0].username }, kind: 'text', text: 'hi other' });
    await rejection(h.client.getUserProfile({ igsid: body.igsid, accessToken: pageToken }), NotFoundError);
  });
});

describe('stories', () => {
  it('a story mention link works for 24 hours, then the CDN refuses it and the mid has no story', async () => {
    const mention = await h.customer({ kind: 'story_mention' });
    const story = await h.client.getStoryMention(mention.mid!, pageToken);
    expect(story).toBeDefined();
    expect((await fetch(story!.link)).status).toBe(200);
    h.emulator.clock.advance(24 * 60 * 60 * 1000 + 1);
    expect((await fetch(story!.link)).status).toBe(404);
    expect(await h.client.getStoryMention(mention.mid!, pageToken)).toBeUndefined();
  });
});
