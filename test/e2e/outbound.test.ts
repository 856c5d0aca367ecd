/**
 * Replies end to end: an inbox client POSTs to the real API, the conversation workflow sends through the real
 * Graph client to the Meta emulator, and the emulator's records say what Meta received. Faults are the
 * emulator's switches (transient errors, refusals, rate limits, slow and unknown outcomes).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO, startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';
import { readableHistory } from '../support/history-text';
import { permanentSendRefusals } from '../support/refusals';
import { createWorkerProcesses } from '../support/worker-processes';

jest.setTimeout(180_000);

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** A 2 × 2 24-bit BMP (bottom-up rows padded to 4 bytes), as an old screenshot tool would save it. */
function tinyBmp(): Buffer {
  const rows = Buffer.from([0, 0, 255, 0, 255, 0, 0, 0, 255, 0, 0, 255, 255, 255, 0, 0]);
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'ascii');
  header.writeUInt32LE(54 + rows.length, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(2, 18);
  header.writeInt32LE(2, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(rows.length, 34);
  return Buffer.concat([header, rows]);
}

/** Shared by both worlds below: calls on the engine's API with the world's manager key. */
function apiOf(world: InboundWorld) {
  return async (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${world.engine.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${world.apiKey}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };
}

/** What the emulator (Meta) received for this customer, in order. */
async function receivedBy(world: InboundWorld, igsid: string): Promise<Json[]> {
  const { body } = await world.control('GET', `/sent-messages?igsid=${igsid}`);
  return body.data as Json[];
}

describe('replies from the inbox', () => {
  let world: InboundWorld;
  let media: Server;
  let mediaUrl = '';
  let customers = 0;

  beforeAll(async () => {
    world = await startInboundWorld();
    // Images for the URL route: what each path answers (bytes), as a web server a manager links to would.
    const files: Record<string, Buffer> = {
      '/photo.png': Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]),
      '/anim.gif': Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(64, 1)]),
      '/clip.mp4': Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), Buffer.alloc(64, 1)]),
      '/huge.jpg': Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(8_000_001, 1)]),
    };
    media = createServer((req, res) => {
      const body = files[req.url ?? ''];
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => media.listen(0, '127.0.0.1', resolve));
    mediaUrl = `http://127.0.0.1:${(media.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => media?.close(() => resolve()));
    await world?.close();
  });

  afterEach(async () => {
    await world.control('DELETE', '/faults/send-api');
  });

  const api = (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) => apiOf(world)(method, path, options);

  /** A new customer who wrote once: their open conversation. */
  async function newConversation(): Promise<{ igsid: string; conversationId: string; username: string }> {
    customers += 1;
    const username = `reply.customer.${customers}.${Date.now()}`;
    const created = await world.control('POST', '/ig-users', { username, name: `Customer ${customers}` });
    expect(created.status).toBe(201);
    const { igsid } = await world.customer({ kind: 'text', text: 'Hello, a question please' }, username);
    const conversation = await world.conversationOf(igsid);
    await world.messagesOf(igsid, 1);
    return { igsid, conversationId: conversation.conversationId as string, username };
  }

  const reply = (conversationId: string, body: Record<string, unknown>, options: { wait?: boolean; key?: string } = {}) =>
    api('POST', `/v1/conversations/${conversationId}/messages${options.wait ? '?wait=sent' : ''}`, { body, ...(options.key ? { headers: { 'idempotency-key': options.key } } : {}) });

  const received = (igsid: string): Promise<Json[]> => receivedBy(world, igsid);

  async function receivedTexts(igsid: string, count: number): Promise<string[]> {
    return world.eventually(async () => {
      const messages = await received(igsid);
      return messages.length >= count ? messages.map((message) => message.text as string) : undefined;
    }, 60_000, `${count} messages at the emulator`);
  }

  async function messageStatus(conversationId: string, messageId: string, wanted: string[]): Promise<Json> {
    return world.eventually(async () => {
      const { body } = await api('GET', `/v1/conversations/${conversationId}/messages/${messageId}`);
      return wanted.includes(body.message?.status) ? body.message : undefined;
    }, 90_000, `message ${messageId} to be ${wanted.join(' or ')}`);
  }

  it('answers 202 at once with the queued message; it is then sent, with Meta’s id', async () => {
    const { igsid, conversationId } = await newConversation();
    const accepted = await reply(conversationId, { text: 'Yes, the blue one is in stock 👍' });
    expect(accepted.status).toBe(202);
    expect(accepted.body.messages).toHaveLength(1);
    expect(accepted.body.messages[0]).toMatchObject({ direction: 'outbound', senderType: 'manager', kind: 'text', text: 'Yes, the blue one is in stock 👍' });
    expect(['queued', 'sending', 'sent']).toContain(accepted.body.messages[0].status);
    const sent = await messageStatus(conversationId, accepted.body.messages[0].messageId, ['sent']);
    const atMeta = await received(igsid);
    expect(atMeta).toHaveLength(1);
    expect(sent.mid).toBe(atMeta[0].mid);
    // Its own echo never shows a second time in the conversation.
    await world.eventually(async () => ((await world.engine.models.webhookEvents.countDocuments({ mid: sent.mid, status: 'recorded' })) === 1 ? true : undefined));
    const { body } = await api('GET', `/v1/conversations/${conversationId}/messages`);
    expect(body.messages.filter((message: Json) => message.text === 'Yes, the blue one is in stock 👍')).toHaveLength(1);
    // The conversation's history names the reply by its id only: its text stays in the database.
    const history = await readableHistory(world.engine.temporal.workflow.getHandle((await world.conversationOf(igsid)).workflowId));
    expect(history).toContain(`"messageIds":["${accepted.body.messages[0].messageId}"]`);
    for (const secret of ['Yes, the blue one is in stock', world.pageToken]) expect(history).not.toContain(secret);
  });

  it('sends 50 messages accepted at once in the order accepted', async () => {
    const { igsid, conversationId } = await newConversation();
    const texts = Array.from({ length: 50 }, (_, index) => `reply number ${index + 1}`);
    for (const text of texts) expect((await reply(conversationId, { text })).status).toBe(202);
    expect(await receivedTexts(igsid, 50)).toEqual(texts);
  });

  it('waits for the outcome with ?wait=sent; three transient failures, then sent once', async () => {
    const { igsid, conversationId } = await newConversation();
    await world.control('PUT', '/faults/send-api', { mode: 'transient_1', count: 3 });
    const answer = await reply(conversationId, { text: 'after three failures' }, { wait: true });
    expect(answer.status).toBe(200);
    expect(answer.body.messages[0].status).toBe('sent');
    expect((await received(igsid)).map((message) => message.text)).toEqual(['after three failures']);
    const stored = await world.engine.models.messages.findOne({ _id: answer.body.messages[0].messageId }).lean();
    expect(stored?.outbound?.attempts).toBe(4);
  });

  it('sends a burst past the rate limit, every message once', async () => {
    await world.control('PATCH', `/ig-accounts/${world.igAccountId}`, { sendRateLimitPerSecond: 3 });
    try {
      const conversations = [await newConversation(), await newConversation(), await newConversation()];
      const expected = new Map<string, string[]>();
      for (let round = 0; round < 6; round += 1) {
        for (const conversation of conversations) {
          const text = `burst ${round} to ${conversation.username}`;
          expected.set(conversation.igsid, [...(expected.get(conversation.igsid) ?? []), text]);
          expect((await reply(conversation.conversationId, { text })).status).toBe(202);
        }
      }
      for (const conversation of conversations) expect(await receivedTexts(conversation.igsid, 6)).toEqual(expected.get(conversation.igsid));
    } finally {
      await world.control('PATCH', `/ig-accounts/${world.igAccountId}`, { sendRateLimitPerSecond: 100 });
    }
  });

  it.each(permanentSendRefusals)('a %s refusal (Meta %i/%s) fails that message with its reason, and the next one goes', async (refusal, code, subcode, type) => {
    const { igsid, conversationId } = await newConversation();
    await world.control('PUT', '/faults/send-api', { mode: 'refusal', refusal, count: 1 });
    const failed = await reply(conversationId, { text: 'this one is refused' }, { wait: true });
    expect(failed.status).toBe(200);
    expect(failed.body.messages[0]).toMatchObject({ status: 'failed', error: { type, code, ...(subcode === undefined ? {} : { subcode }) } });
    expect(failed.body.messages[0].error.message).toMatch(/Meta/);
    const next = await reply(conversationId, { text: 'this one goes' }, { wait: true });
    expect(next.body.messages[0].status).toBe('sent');
    expect((await received(igsid)).map((message) => message.text)).toEqual(['this one goes']);
  });

  it('Meta refusing for the window closes the conversation; a later send is refused', async () => {
    const { conversationId } = await newConversation();
    await world.control('PUT', '/faults/send-api', { mode: 'refusal', refusal: 'window_closed', count: 1 });
    const failed = await reply(conversationId, { text: 'too late?' }, { wait: true });
    expect(failed.body.messages[0]).toMatchObject({ status: 'failed', error: { type: 'WindowClosed', code: 10, subcode: 2534022 } });
    await world.eventually(async () => ((await api('GET', `/v1/conversations/${conversationId}`)).body.conversation?.state === 'closed' ? true : undefined));
    const refused = await reply(conversationId, { text: 'and now?' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.type).toBe('ConversationClosed');
  });

  it('the same Idempotency-Key twice sends once and answers the first answer', async () => {
    const { igsid, conversationId } = await newConversation();
    const first = await reply(conversationId, { text: 'only once, please' }, { key: 'order-1234-reply' });
    const second = await reply(conversationId, { text: 'only once, please' }, { key: 'order-1234-reply' });
    expect(first.status).toBe(202);
    expect(second).toEqual(first);
    const other = await reply(conversationId, { text: 'something else' }, { key: 'order-1234-reply' });
    expect(other.status).toBe(422);
    expect(other.body.error.type).toBe('IdempotencyKeyReused');
    await receivedTexts(igsid, 1);
    await messageStatus(conversationId, first.body.messages[0].messageId, ['sent']);
    expect((await received(igsid)).map((message) => message.text)).toEqual(['only once, please']);
  });

  it('refuses a text over 1,000 bytes with the count and the limit; split sends it in order, each part within the limit', async () => {
    const { igsid, conversationId } = await newConversation();
    const korean = '안녕하세요 고객님, 주문하신 상품은 내일 발송됩니다. '.repeat(30) + '👩‍👩‍👧‍👦👍🏽 https://shop.example/orders/12345?ref=dm';
    const bytes = utf8Bytes(korean);
    const refused = await reply(conversationId, { text: korean });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ type: 'TextTooLong', details: { bytes, limit: 1000 } });
    expect(refused.body.error.message).toContain(String(bytes));
    expect(refused.body.error.message).toMatch(/split/);
    expect(await received(igsid)).toHaveLength(0);

    const split = await reply(conversationId, { text: korean, split: true });
    expect(split.status).toBe(202);
    const count = split.body.messages.length;
    expect(count).toBeGreaterThan(1);
    const parts = await receivedTexts(igsid, count);
    expect(parts.join('')).toBe(korean);
    for (const part of parts) expect(utf8Bytes(part)).toBeLessThanOrEqual(1000);
    expect(parts[parts.length - 1]).toContain('https://shop.example/orders/12345?ref=dm');
  });

  it('sends an image by URL, checked by its bytes; refuses GIF, video, over 8 MB and unreachable, naming what was found', async () => {
    const { igsid, conversationId } = await newConversation();
    const sent = await reply(conversationId, { image: { url: `${mediaUrl}/photo.png` } }, { wait: true });
    expect(sent.status).toBe(200);
    expect(sent.body.messages[0]).toMatchObject({ kind: 'image', status: 'sent' });
    expect((await received(igsid))[0].attachments[0].type).toBe('image');

    const gif = await reply(conversationId, { image: { url: `${mediaUrl}/anim.gif` } });
    expect(gif.status).toBe(422);
    expect(gif.body.error).toMatchObject({ type: 'MediaRejected' });
    expect(gif.body.error.message).toMatch(/GIF/);
    const video = await reply(conversationId, { image: { url: `${mediaUrl}/clip.mp4` } });
    expect(video.status).toBe(422);
    expect(video.body.error.message).toMatch(/video/i);
    const huge = await reply(conversationId, { image: { url: `${mediaUrl}/huge.jpg` } });
    expect(huge.status).toBe(422);
    expect(huge.body.error.message).toMatch(/8,000,000/);
    const missing = await reply(conversationId, { image: { url: `${mediaUrl}/nothing.png` } });
    expect(missing.status).toBe(422);
    expect(missing.body.error.message).toMatch(/404/);
    expect(await received(igsid)).toHaveLength(1);
  });

  it('sends an uploaded image (multipart); a file that is not an image is refused', async () => {
    const { igsid, conversationId } = await newConversation();
    const upload = async (bytes: Buffer, filename: string) => {
      const form = new FormData();
      form.set('sender', 'manager');
      form.set('image', new Blob([bytes], { type: 'image/png' }), filename);
      const response = await fetch(`${world.engine.baseUrl}/v1/conversations/${conversationId}/messages?wait=sent`, { method: 'POST', headers: { authorization: `Bearer ${world.apiKey}` }, body: form });
      return { status: response.status, body: (await response.json()) as Json };
    };
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(32, 2)]);
    const sent = await upload(png, 'receipt.png');
    expect(sent.status).toBe(200);
    expect(sent.body.messages[0]).toMatchObject({ kind: 'image', status: 'sent' });
    const pdf = await upload(Buffer.from('%PDF-1.7 not an image at all'), 'looks-like.png');
    expect(pdf.status).toBe(422);
    expect(pdf.body.error.message).toMatch(/PDF/);
    expect(await received(igsid)).toHaveLength(1);
    // A BMP goes out as a PNG (Meta takes PNG and JPEG): the emulator, which refuses BMP, accepts it.
    const bmp = await upload(tinyBmp(), 'screenshot.bmp');
    expect(bmp.status).toBe(200);
    expect(bmp.body.messages[0]).toMatchObject({ kind: 'image', status: 'sent' });
    const served = await fetch(bmp.body.messages[0].attachments[0].url as string);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await served.arrayBuffer()).slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(await received(igsid)).toHaveLength(2);
  });

  it('refuses a closed conversation, an account that is not active, and a customer who never wrote', async () => {
    const closedOne = await newConversation();
    const closed = await api('POST', `/v1/conversations/${closedOne.conversationId}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body.conversation.state).toBe('closed');
    const toClosed = await reply(closedOne.conversationId, { text: 'hello?' });
    expect(toClosed.status).toBe(409);
    expect(toClosed.body.error.type).toBe('ConversationClosed');

    const open = await newConversation();
    try {
      for (const [status, advice] of [['reauth_required', /re-authenticate/], ['unlinked', /unlinked/], ['messages_access_off', /Allow access to messages/]] as const) {
        await world.engine.models.linkedAccounts.updateOne({ _id: world.igAccountId }, { $set: { status } });
        const refused = await reply(open.conversationId, { text: 'hello?' });
        expect(refused.status).toBe(409);
        expect(refused.body.error.type).toBe('AccountNotActive');
        expect(refused.body.error.message).toMatch(advice);
      }
    } finally {
      await world.engine.models.linkedAccounts.updateOne({ _id: world.igAccountId }, { $set: { status: 'active' } });
    }

    customers += 1;
    const username = `never.wrote.${customers}.${Date.now()}`;
    await world.control('POST', '/ig-users', { username, name: 'Silent' });
    const appReply = await world.control('POST', `/ig-accounts/${world.igAccountId}/app-replies`, { to: { username }, text: 'Hi from the shop app' });
    // Only the shop wrote: the conversation is listed (the customer has no profile yet).
    const conversation = await world.eventually(async () => {
      const { body } = await api('GET', `/v1/channels/${world.channelId}/conversations?igAccountId=${world.igAccountId}&igsid=${appReply.body.igsid}`);
      return body.conversations?.[0];
    }, 20_000, 'the conversation the app reply opened');
    const never = await reply(conversation.conversationId, { text: 'anyone?' });
    expect(never.status).toBe(409);
    expect(never.body.error.type).toBe('CustomerNeverWrote');
    expect((await received(appReply.body.igsid)).filter((message) => message.source === 'send_api')).toHaveLength(0);
  });

  it("sends a bot's reply within 24 hours as a standard reply (after 24 hours the conversation refuses it: see the workflow tests)", async () => {
    const { igsid, conversationId } = await newConversation();
    const answer = await reply(conversationId, { text: 'Automated: we got your message', sender: 'bot' }, { wait: true });
    expect(answer.body.messages[0]).toMatchObject({ senderType: 'bot', status: 'sent' });
    expect((await received(igsid))[0].tag ?? null).toBeNull();
  });

  it('an unknown outcome is settled by the echo: sent once, never twice', async () => {
    const { igsid, conversationId } = await newConversation();
    await world.control('PUT', '/faults/send-api', { mode: 'unknown_outcome', count: 1 });
    const accepted = await reply(conversationId, { text: 'did this go?' });
    const settled = await messageStatus(conversationId, accepted.body.messages[0].messageId, ['sent', 'unknown']);
    expect(settled.status).toBe('sent');
    const atMeta = await received(igsid);
    expect(atMeta.map((message) => message.text)).toEqual(['did this go?']);
    expect(settled.mid).toBe(atMeta[0].mid);
  });

  it('an Instagram-app reply during a send is shown once, as the bot’s; the engine’s own message once too', async () => {
    const { igsid, conversationId, username } = await newConversation();
    await world.control('PUT', '/faults/send-api', { mode: 'slow', count: 1, hangMs: 1_500 });
    const accepted = await reply(conversationId, { text: 'from the inbox' });
    await world.eventually(async () => ((await world.engine.models.messages.findOne({ _id: accepted.body.messages[0].messageId }).lean())?.status === 'sending' ? true : undefined));
    await world.control('POST', `/ig-accounts/${world.igAccountId}/app-replies`, { to: { username }, text: 'from the Instagram app' });
    await messageStatus(conversationId, accepted.body.messages[0].messageId, ['sent']);
    const messages = await world.eventually(async () => {
      const { body } = await api('GET', `/v1/conversations/${conversationId}/messages`);
      const outbound = (body.messages as Json[]).filter((message) => message.direction === 'outbound');
      return outbound.length >= 2 ? outbound : undefined;
    }, 30_000, 'both replies in the conversation');
    // Held echoes are settled after the send: give any duplicate the time to appear before counting.
    await world.eventually(async () => ((await world.engine.models.webhookEvents.countDocuments({ kind: 'echo', customerIgsid: igsid, status: { $in: ['recorded', 'skipped'] } })) >= 2 ? true : undefined));
    const { body } = await api('GET', `/v1/conversations/${conversationId}/messages`);
    const outbound = (body.messages as Json[]).filter((message) => message.direction === 'outbound');
    expect(outbound.map((message) => [message.senderType, message.text])).toEqual([
      ['manager', 'from the inbox'],
      ['bot', 'from the Instagram app'],
    ]);
    expect(messages.length).toBe(2);
  });
});

describe('a token error seen by a send', () => {
  let world: InboundWorld;

  beforeAll(async () => {
    world = await startInboundWorld();
  });

  afterAll(async () => {
    await world?.close();
  });

  it('fails the message with Meta’s code, stops the account, and refuses the next send with what to do', async () => {
    const api = apiOf(world);
    const { igsid } = await world.customer({ kind: 'text', text: 'Hello before the password change' });
    const conversation = await world.conversationOf(igsid);
    await world.messagesOf(igsid, 1);
    // The owner changes the Facebook password: Meta invalidates the Page token (190/460).
    const changed = await world.control('POST', `/fb-users/${DEMO.user.id}/password`, { password: 'a-new-password' });
    expect(changed.status).toBe(200);
    const failed = await api('POST', `/v1/conversations/${conversation.conversationId}/messages?wait=sent`, { body: { text: 'are you there?' } });
    expect(failed.body.messages[0]).toMatchObject({ status: 'failed', error: { type: 'TokenInvalid', code: 190, subcode: 460, reason: 'password_changed' } });
    // The account was stopped before the message was marked failed.
    const account = await world.engine.models.linkedAccounts.findOne({ _id: world.igAccountId }).lean();
    expect(account).toMatchObject({ status: 'reauth_required', statusReason: { type: 'TokenInvalid', reason: 'password_changed' } });
    const refused = await api('POST', `/v1/conversations/${conversation.conversationId}/messages`, { body: { text: 'and now?' } });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ type: 'AccountNotActive' });
    expect(refused.body.error.message).toMatch(/re-authenticate/);
    expect((await receivedBy(world, igsid)).filter((message) => message.source === 'send_api')).toHaveLength(0);
  });
});

describe('the worker killed during sends', () => {
  let world: InboundWorld;
  const workers = createWorkerProcesses(() => world.env, 'igdm-send-kill');

  beforeAll(async () => {
    world = await startInboundWorld({ worker: false });
  });

  afterAll(async () => {
    await workers.stopAll();
    await world?.close();
  });

  it('sends every message exactly once or marks it unknown, never twice, in order', async () => {
    const api = apiOf(world);
    const first = workers.start();
    const conversations: Array<{ igsid: string; conversationId: string; texts: string[] }> = [];
    for (let index = 0; index < 3; index += 1) {
      const username = `killed.sender.${index}.${Date.now()}`;
      await world.control('POST', '/ig-users', { username, name: `Killed ${index}` });
      const { igsid } = await world.customer({ kind: 'text', text: 'Hi' }, username);
      const conversation = await world.conversationOf(igsid);
      conversations.push({ igsid, conversationId: conversation.conversationId, texts: [] });
    }
    // Each send is held a little at Meta, so the kill lands while sends are in flight.
    await world.control('PUT', '/faults/send-api', { mode: 'slow', rate: 1, hangMs: 150 });
    const ids: string[] = [];
    for (let round = 0; round < 10; round += 1) {
      for (const conversation of conversations) {
        const text = `kill round ${round} for ${conversation.igsid}`;
        conversation.texts.push(text);
        const accepted = await api('POST', `/v1/conversations/${conversation.conversationId}/messages`, { body: { text } });
        expect(accepted.status).toBe(202);
        ids.push(accepted.body.messages[0].messageId);
      }
    }
    await world.eventually(async () => ((await world.control('GET', '/sent-messages')).body.data.length >= 6 ? true : undefined), 60_000, 'the first sends');
    first.child.kill('SIGKILL');
    await first.exited;
    workers.start();
    await world.control('DELETE', '/faults/send-api');

    const settled = await world.eventually(
      async () => {
        const messages = await world.engine.models.messages.find({ _id: { $in: ids } }).lean();
        return messages.every((message) => ['sent', 'failed', 'unknown'].includes(message.status)) ? messages : undefined;
      },
      150_000,
      'every message to reach its outcome',
      500,
    );
    const statuses = new Map<string, number>();
    for (const message of settled) statuses.set(message.status, (statuses.get(message.status) ?? 0) + 1);
    process.stdout.write(`worker killed during sends: ${JSON.stringify(Object.fromEntries(statuses))} of ${ids.length}\n`);
    expect(statuses.get('failed') ?? 0).toBe(0);
    for (const conversation of conversations) {
      const atMeta = (await receivedBy(world, conversation.igsid)).map((message) => message.text as string);
      // Never twice.
      expect(new Set(atMeta).size).toBe(atMeta.length);
      // In the order accepted.
      expect(atMeta).toEqual(conversation.texts.filter((text) => atMeta.includes(text)));
      for (const message of settled.filter((candidate) => candidate.igsid === conversation.igsid)) {
        const times = atMeta.filter((text) => text === message.text).length;
        // Sent means Meta has it once; unknown means a human must look, and Meta has it at most once.
        if (message.status === 'sent') expect({ text: message.text, times }).toEqual({ text: message.text, times: 1 });
        else expect(times).toBeLessThanOrEqual(1);
      }
    }
  });
});
