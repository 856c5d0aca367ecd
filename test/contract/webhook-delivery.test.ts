/**
 * Webhook delivery from the emulator to a local receiver: Meta's envelope and shapes, the signature checked with
 * an independent HMAC over the exact bytes received, retries, give-up, duplicates, reordering and batches.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseWebhookPayload, type MessagingEvent } from '../../emulator/webhook-schema';
import { APP_ID, APP_SECRET, DEMO, type Harness, type Json, type ReceivedWebhook, startHarness } from './support/harness';

let h: Harness;
let igsid: string;

beforeAll(async () => {
  h = await startHarness({ webhookTimeoutMs: 300, retryDelaysMs: [20, 40] });
  await h.linkDemoAccount();
  igsid = (await h.customer({ kind: 'text', text: 'first' })).igsid;
  await h.emulator.webhooks.waitForIdle(2_000);
});

afterAll(async () => {
  await h.close();
});

beforeEach(async () => {
  await h.control('PUT', '/webhooks/switches', {
    duplicates: 0,
    reorder: false,
    batchSize: 1,
    batchWindowMs: 0,
    hold: false,
    delayMs: 0,
    options: { timeoutMs: 300, retryDelaysMs: [20, 40], giveUpAfterMs: 3_600_000 },
  });
  await h.emulator.webhooks.waitForIdle(2_000);
  await h.control('DELETE', '/deliveries');
  h.receiver.reset();
});

/** Independent of the emulator's helpers: node:crypto over the bytes as received. */
function signatureMatches(received: ReceivedWebhook, algorithm: 'sha256' | 'sha1', header: string): boolean {
  const sent = received.headers[header];
  if (typeof sent !== 'string') return false;
  const expected = Buffer.from(`${algorithm}=${createHmac(algorithm, APP_SECRET).update(received.raw).digest('hex')}`);
  return expected.length === Buffer.byteLength(sent) && timingSafeEqual(expected, Buffer.from(sent));
}

function eventsOf(received: ReceivedWebhook[]): MessagingEvent[] {
  return received.flatMap((delivery) => parseWebhookPayload(delivery.raw).entry).flatMap((entry) => entry.messaging ?? []);
}

async function deliveries(): Promise<Json[]> {
  return (await h.control('GET', '/deliveries')).body.data as Json[];
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('envelope, serialization and signature', () => {
  it('sends Meta escaped JSON and signs exactly the bytes sent', async () => {
    const text = 'héllo 😀 a/b 안녕';
    const sent = await h.customer({ kind: 'text', text });
    const [delivery] = await h.receiver.waitFor(1);
    const raw = delivery!.raw.toString('latin1');
    expect(raw).toContain('h\\u00e9llo \\ud83d\\ude00 a\\/b \\uc548\\ub155');
    expect([...delivery!.raw].every((byte) => byte < 0x80)).toBe(true);
    expect(delivery!.headers['content-type']).toBe('application/json');
    expect(signatureMatches(delivery!, 'sha256', 'x-hub-signature-256')).toBe(true);
    expect(signatureMatches(delivery!, 'sha1', 'x-hub-signature')).toBe(true);

    // A receiver that re-serializes before hashing would fail, as it does against Meta.
    const reserialized = JSON.stringify(JSON.parse(delivery!.raw.toString('utf8')));
    expect(`sha256=${createHmac('sha256', APP_SECRET).update(reserialized).digest('hex')}`).not.toBe(delivery!.headers['x-hub-signature-256']);

    const payload: Json = JSON.parse(delivery!.raw.toString('utf8'));
    expect(payload).toEqual({
      object: 'instagram',
      entry: [
        {
          id: DEMO.igAccount.id,
          time: expect.any(Number),
          messaging: [{ sender: { id: igsid }, recipient: { id: DEMO.igAccount.id }, timestamp: sent.timestamp, message: { mid: sent.mid, text } }],
        },
      ],
    });
    expect(payload.entry[0].time).toBeGreaterThanOrEqual(sent.timestamp);
    expect(String(payload.entry[0].time)).toHaveLength(13);
  });

  it('signs with the secret of the receiving app only', async () => {
    await h.customer({ kind: 'text', text: 'x' });
    const [delivery] = await h.receiver.waitFor(1);
    const wrong = createHmac('sha256', 'another-secret').update(delivery!.raw).digest('hex');
    expect(delivery!.headers['x-hub-signature-256']).not.toBe(`sha256=${wrong}`);
  });

  it('answers the verification handshake through the control API', async () => {
    expect((await h.control('POST', `/apps/${APP_ID}/verify-webhook`)).body).toMatchObject({ ok: true, status: 200 });
    await h.control('PATCH', `/apps/${APP_ID}`, { verifyToken: 'not-the-receivers-token' });
    expect((await h.control('POST', `/apps/${APP_ID}/verify-webhook`)).body).toMatchObject({ ok: false, status: 403 });
    await h.control('PATCH', `/apps/${APP_ID}`, { verifyToken: 'contract-verify-token' });
  });
});

describe('every customer action has Meta shape', () => {
  async function only(action: Record<string, unknown>): Promise<MessagingEvent> {
    // Deliveries of the test's own set-up must land before the receiver forgets them.
    await h.emulator.webhooks.waitForIdle(2_000);
    h.receiver.reset();
    await h.customer(action);
    const received = await h.receiver.waitFor(1);
    const [event] = eventsOf(received);
    expect(event).toBeDefined();
    return event!;
  }

  it('image, GIF (as image), video, audio and file carry a CDN URL that serves the media', async () => {
    const expected: Record<string, [string, RegExp]> = {
      image: ['image', /^image\/png/],
      gif: ['image', /^image\/gif/],
      video: ['video', /^video\//],
      audio: ['audio', /^audio\//],
      file: ['file', /^application\/pdf/],
    };
    for (const [kind, [type, contentType]] of Object.entries(expected)) {
      const event = await only({ kind });
      const attachment = event.message?.attachments?.[0];
      expect(attachment?.type).toBe(type);
      const response = await fetch(attachment!.payload!.url!);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(contentType);
    }
  });

  it('story reply: text with reply_to.story {url, id}', async () => {
    const story = await h.control('POST', `/ig-accounts/${DEMO.igAccount.id}/stories`);
    const event = await only({ kind: 'story_reply', text: 'love this', storyId: story.body.id });
    expect(event.message).toMatchObject({ text: 'love this', reply_to: { story: { id: story.body.id, url: story.body.url } } });
  });

  it('story mention: a story_mention attachment', async () => {
    const event = await only({ kind: 'story_mention' });
    expect(event.message?.attachments).toEqual([{ type: 'story_mention', payload: { url: expect.stringContaining('/_cdn/stories/') } }]);
  });

  it('post share: share and ig_post attachments', async () => {
    const event = await only({ kind: 'post_share', caption: 'new arrivals', postId: '17900000000000001' });
    expect(event.message?.attachments).toEqual([
      { type: 'share', payload: { url: expect.any(String) } },
      { type: 'ig_post', payload: { url: expect.any(String), title: 'new arrivals', ig_post_media_id: '17900000000000001' } },
    ]);
  });

  it('reel share: ig_reel with title and reel_video_id', async () => {
    const event = await only({ kind: 'reel_share', title: 'behind the scenes' });
    expect(event.message?.attachments?.[0]).toEqual({ type: 'ig_reel', payload: { url: expect.any(String), title: 'behind the scenes', reel_video_id: expect.any(String) } });
  });

  it('reaction and unreaction (no reaction or emoji on unreact)', async () => {
    const { mid } = await h.customer({ kind: 'text', text: 'react to me' });
    const react = await only({ kind: 'reaction', mid, reaction: 'love' });
    expect(react.reaction).toEqual({ mid, action: 'react', reaction: 'love', emoji: '\u2764\ufe0f' });
    const unreact = await only({ kind: 'reaction', mid, action: 'unreact' });
    expect(unreact.reaction).toEqual({ mid, action: 'unreact' });
  });

  it('unsend: the original mid with is_deleted and no text', async () => {
    const { mid } = await h.customer({ kind: 'text', text: 'oops' });
    const event = await only({ kind: 'unsend', mid });
    expect(event.message).toEqual({ mid, is_deleted: true });
  });

  it('edit: message_edit with the original mid, the new text and the edit number; at most 5 edits, never of an unsent message', async () => {
    const { mid } = await h.customer({ kind: 'text', text: 'see you at 5' });
    const first = await only({ kind: 'edit', mid, text: 'see you at 6' });
    expect(first.message_edit).toEqual({ mid, text: 'see you at 6', num_edit: 1 });
    expect(first.message).toBeUndefined();
    const second = await only({ kind: 'edit', mid, text: 'see you at 7' });
    expect(second.message_edit).toEqual({ mid, text: 'see you at 7', num_edit: 2 });
    for (let edit = 3; edit <= 5; edit += 1) await h.customer({ kind: 'edit', mid, text: `take ${edit}` });
    const sixth = await h.control('POST', `/ig-accounts/${DEMO.igAccount.id}/inbound`, { from: { igsid }, kind: 'edit', mid, text: 'too many' });
    expect(sixth.status).toBe(400);
    expect(sixth.body.error.message).toMatch(/at most 5 times/);

    const unsent = await h.customer({ kind: 'text', text: 'gone soon' });
    await h.customer({ kind: 'unsend', mid: unsent.mid });
    const refused = await h.control('POST', `/ig-accounts/${DEMO.igAccount.id}/inbound`, { from: { igsid }, kind: 'edit', mid: unsent.mid, text: 'back?' });
    expect(refused.status).toBe(400);
  });

  it('unsupported (vanish mode) message', async () => {
    const event = await only({ kind: 'unsupported' });
    expect(event.message).toEqual({ mid: expect.any(String), is_unsupported: true });
  });

  it('read receipt: read.mid', async () => {
    const sent = await h.client.sendMessage({ accessToken: (await h.linkDemoAccount()).pageToken, recipientId: igsid, message: { kind: 'text', text: 'seen?' } });
    await h.emulator.webhooks.waitForIdle(2_000);
    const event = await only({ kind: 'read', mid: sent.messageId });
    expect(event.read).toEqual({ mid: sent.messageId });
  });

  it('postback and ig.me referral', async () => {
    const postback = await only({ kind: 'postback', title: 'Track my order', payload: 'TRACK_ORDER' });
    expect(postback.postback).toEqual({ mid: expect.any(String), title: 'Track my order', payload: 'TRACK_ORDER' });
    const referral = await only({ kind: 'referral', ref: 'spring_sale' });
    expect(referral.referral).toEqual({ ref: 'spring_sale', source: 'SHORTLINK', type: 'OPEN_THREAD' });
  });

  it('a reply from the Instagram app is an echo without app_id', async () => {
    h.receiver.reset();
    const reply = await h.control('POST', `/ig-accounts/${DEMO.igAccount.id}/app-replies`, { to: { igsid }, text: 'answered from my phone' });
    const [event] = eventsOf(await h.receiver.waitFor(1));
    expect(event).toEqual({
      sender: { id: DEMO.igAccount.id },
      recipient: { id: igsid },
      timestamp: reply.body.timestamp,
      message: { mid: reply.body.mid, text: 'answered from my phone', is_echo: true },
    });
  });

  it('refuses an unknown kind in Meta error shape naming the field', async () => {
    const { status, body } = await h.control('POST', `/ig-accounts/${DEMO.igAccount.id}/inbound`, { from: { igsid }, kind: 'hologram' });
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/body\.kind/);
  });
});

describe('at-least-once delivery', () => {
  it('retries after non-2xx answers and stops at the first 2xx', async () => {
    h.receiver.respond = (_request, index) => ({ status: index < 2 ? 500 : 200 });
    await h.customer({ kind: 'text', text: 'retry me' });
    const received = await h.receiver.waitFor(3);
    expect(new Set(received.map((delivery) => delivery.raw.toString('latin1'))).size).toBe(1);
    expect(received.every((delivery) => signatureMatches(delivery, 'sha256', 'x-hub-signature-256'))).toBe(true);
    await waitUntil(async () => (await deliveries())[0]?.state === 'delivered');
    const [delivery] = await deliveries();
    expect((delivery.attempts as Array<{ status: number }>).map((attempt) => attempt.status)).toEqual([500, 500, 200]);
  });

  it('treats no answer within the timeout as a failure and retries', async () => {
    h.receiver.respond = (_request, index) => ({ status: 200, delayMs: index === 0 ? 1_000 : 0 });
    await h.customer({ kind: 'text', text: 'slow receiver' });
    await h.receiver.waitFor(2);
    await waitUntil(async () => (await deliveries())[0]?.state === 'delivered');
    const [delivery] = await deliveries();
    expect(delivery.attempts[0].error).toMatch(/no answer within 300 ms/);
    expect(delivery.attempts[1].status).toBe(200);
  });

  it('delays deliveries when asked', async () => {
    await h.control('PUT', '/webhooks/switches', { delayMs: 250 });
    const startedAt = Date.now();
    await h.customer({ kind: 'text', text: 'later' });
    const [delivery] = await h.receiver.waitFor(1);
    expect(delivery!.at - startedAt).toBeGreaterThanOrEqual(240);
  });

  it('duplicates deliveries byte for byte', async () => {
    await h.control('PUT', '/webhooks/switches', { duplicates: 2 });
    await h.customer({ kind: 'text', text: 'twice or more' });
    const received = await h.receiver.waitFor(3);
    expect(new Set(received.map((delivery) => delivery.raw.toString('latin1'))).size).toBe(1);
    const records = await deliveries();
    expect(records.filter((record: { copyOf: number | null }) => record.copyOf !== null)).toHaveLength(2);
  });

  it('reorders held events: newest first', async () => {
    await h.control('PUT', '/webhooks/switches', { hold: true, reorder: true });
    for (const text of ['one', 'two', 'three']) {
      await h.customer({ kind: 'text', text });
      h.emulator.clock.advance(1_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.receiver.received).toHaveLength(0);
    await h.control('POST', '/webhooks/flush');
    const events = eventsOf(await h.receiver.waitFor(3));
    expect(events.map((event) => event.message?.text)).toEqual(['three', 'two', 'one']);
    expect(events[0]!.timestamp).toBeGreaterThan(events[2]!.timestamp);
  });

  it('batches up to 1,000 entries in one signed POST', async () => {
    await h.control('PUT', '/webhooks/switches', { hold: true, batchSize: 1000 });
    const total = 1001;
    for (let start = 0; start < total; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, total - start) }, (_, offset) => h.customer({ kind: 'text', text: `message ${start + offset}` })),
      );
    }
    await h.control('POST', '/webhooks/flush');
    const received = await h.receiver.waitFor(2, 10_000);
    const [big, rest] = received.map((delivery) => parseWebhookPayload(delivery.raw));
    expect(big!.entry).toHaveLength(1000);
    expect(rest!.entry).toHaveLength(1);
    expect(received.every((delivery) => signatureMatches(delivery, 'sha256', 'x-hub-signature-256'))).toBe(true);
    const mids = new Set(eventsOf(received).map((event) => event.message?.mid));
    expect(mids.size).toBe(total);
  });

  it('sends nothing for an account whose Page the app has not subscribed', async () => {
    const linked = await h.linkDemoAccount();
    await h.client.unsubscribeApp(linked.pageId, linked.pageToken);
    const result = await h.customer({ kind: 'text', text: 'anyone?' });
    expect(result).toMatchObject({ queuedFor: 0 });
    await h.client.subscribeApp(linked.pageId, linked.pageToken, ['messages']);
  });

  it('gives up after the give-up period, unsubscribes the app and raises the alert', async () => {
    await h.control('PUT', '/webhooks/switches', { options: { giveUpAfterMs: 150, retryDelaysMs: [30] } });
    h.receiver.respond = () => ({ status: 503 });
    await h.customer({ kind: 'text', text: 'nobody home' });
    await waitUntil(async () => (await deliveries())[0]?.state === 'gave_up');
    const [delivery] = await deliveries();
    expect(delivery.attempts.length).toBeGreaterThan(1);
    const alerts = (await h.control('GET', '/webhooks/alerts')).body.data as Json[];
    expect(alerts).toEqual([expect.objectContaining({ appId: APP_ID, kind: 'webhooks_disabled', igAccountIds: [DEMO.igAccount.id] })]);
    const { body } = await h.control('GET', '/state');
    const page = (body.pages as Array<{ id: string; subscribedApps: Record<string, unknown> }>).find((candidate) => candidate.id === DEMO.page.id)!;
    expect(page.subscribedApps[APP_ID]).toBeUndefined();
    expect(await h.customer({ kind: 'text', text: 'still nobody' })).toMatchObject({ queuedFor: 0 });
  });
});
