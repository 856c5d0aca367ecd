/**
 * The webhook ingress as Meta meets it: the real API app in-process, against the real database (mongo-java-server
 * locally) and the real Temporal dev server of the harness. Bodies are signed here, independently of the code
 * under test, with HMAC-SHA256 of the exact bytes sent.
 */
import { createHmac, randomInt, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import { connectDatabase, createDatabaseConnection } from '../../src/db/connection';
import { createModels } from '../../src/db/models';
import { createInboundDispatcher } from '../../src/inbound/dispatcher';
import { createLogger } from '../../src/logger';
import { createApiMetrics, type ApiMetrics } from '../../src/metrics/engine-metrics';
import { createTemporalAccess } from '../../src/temporal/client';
import { makeConversationWorkflowId } from '../../src/temporal/names';
import { newLinkedAccount } from '../../src/db/models/linked-account';
import { startEngine, terminateIfRunning, testConfig, type RunningEngine } from '../support/engine';
import { signalledEventIds } from '../support/signals';
import { sampleValue, samplesOf, scrapeMetrics, type Sample } from '../support/metrics';
import { pollUntil } from '../support/poll';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers and stored documents, read field by field
type Json = any;

const TS = 1_795_305_599_000;

function signWith(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

async function postRaw(baseUrl: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: Json }> {
  const response = await fetch(`${baseUrl}/webhooks/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  let json: Json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // the 200 answer is plain text
  }
  return { status: response.status, text, json };
}

const eventually = <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> => pollUntil(probe, what, timeoutMs);

function messagingItem(igAccountId: string, igsid: string, event: Record<string, unknown>, timestamp = TS): Record<string, unknown> {
  return { sender: { id: igsid }, recipient: { id: igAccountId }, timestamp, ...event };
}

function webhookBody(entries: Array<{ id: string; time?: unknown; messaging?: unknown[]; changes?: unknown[] }>): Record<string, unknown> {
  return { object: 'instagram', entry: entries.map((entry) => ({ time: TS + 5_000, ...entry })) };
}

const uid = (): string => randomUUID().slice(0, 8);

/** A fresh Instagram account id as Meta writes ids: a string of 17 digits. */
const metaId = (): string => `1784${String(randomInt(1e12)).padStart(13, '0')}`;

/** A stored event's payload: the event's own JSON text, as Meta sent it. */
const payloadOf = (event: Json): Json => JSON.parse(event.payload as string);

/** How much a sample grew between two scrapes. */
const growth = (before: readonly Sample[], after: readonly Sample[], name: string, labels: Record<string, string>): number =>
  sampleValue(after, name, labels) - sampleValue(before, name, labels);

describe('webhook ingress', () => {
  let engine: RunningEngine;
  const startedWorkflows = new Set<string>();

  const sign = (body: string | Buffer): string => signWith(engine.config.meta.appSecret, body);
  const post = (body: string | Buffer, headers?: Record<string, string>) => postRaw(engine.baseUrl, body, headers);
  const postSigned = (body: string | Buffer, headers: Record<string, string> = {}) => post(body, { 'x-hub-signature-256': sign(body), ...headers });
  const countAll = () => engine.models.webhookEvents.countDocuments({});
  const stored = (filter: Record<string, unknown>) => engine.models.webhookEvents.find(filter).sort({ occurredAt: 1 }).lean<Json[]>();

  async function linkAccount(igAccountId: string, status: 'active' | 'unlinked' = 'active'): Promise<string> {
    const channelId = `channel-${uid()}`;
    const now = new Date();
    await engine.models.linkedAccounts.create({
      ...newLinkedAccount({ igAccountId, channelId, pageId: `page-${igAccountId}`, username: `shop_${igAccountId}`, pageToken: { keyId: 'test', iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' }, at: now }),
      status,
    });
    return channelId;
  }

  /** The event ids the workflow was signalled, in order. */
  async function signalsOf(workflowId: string): Promise<string[]> {
    startedWorkflows.add(workflowId);
    return signalledEventIds(await engine.temporal.workflow.getHandle(workflowId).fetchHistory());
  }

  /** The signals so far, or none while the workflow has not been started yet. */
  async function signalsOrNone(workflowId: string): Promise<string[]> {
    try {
      return await signalsOf(workflowId);
    } catch (error) {
      // fetchHistory answers a missing workflow with gRPC NOT_FOUND (5), not WorkflowNotFoundError.
      if (error instanceof WorkflowNotFoundError || (error as { code?: number }).code === 5) return [];
      throw error;
    }
  }

  beforeAll(async () => {
    // No worker: what is checked here is that events are stored and handed over (signalled), not processed.
    engine = await startEngine({ worker: false });
  });

  afterAll(async () => {
    for (const workflowId of startedWorkflows) await terminateIfRunning(engine.temporal, workflowId);
    await engine.stop();
  });

  describe('GET /webhooks/instagram: the subscription handshake', () => {
    const handshake = (query: Record<string, string>) => fetch(`${engine.baseUrl}/webhooks/instagram?${new URLSearchParams(query).toString()}`);

    it('answers the challenge as the raw body for the right verify token', async () => {
      const response = await handshake({ 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': engine.config.meta.webhookVerifyToken });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toBe('1158201444');
    });

    it('echoes the challenge as an opaque string', async () => {
      const challenge = 'abc-DEF_123.456~x';
      const response = await handshake({ 'hub.mode': 'subscribe', 'hub.challenge': challenge, 'hub.verify_token': engine.config.meta.webhookVerifyToken });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(challenge);
    });

    it.each([
      ['a wrong verify token', 'not-the-token'],
      ['no verify token', null],
    ])('answers 403 {error:{type,message}} for %s', async (_name, token) => {
      const query: Record<string, string> = { 'hub.mode': 'subscribe', 'hub.challenge': '42' };
      if (token !== null) query['hub.verify_token'] = token;
      const response = await handshake(query);
      expect(response.status).toBe(403);
      const body = (await response.json()) as Json;
      expect(body).toEqual({ error: { type: 'VerifyTokenMismatch', message: expect.any(String) } });
      expect(JSON.stringify(body)).not.toContain('42');
    });

    it.each([
      ['no hub.mode', { 'hub.challenge': '42' }],
      ['another hub.mode', { 'hub.mode': 'unsubscribe', 'hub.challenge': '42' }],
      ['no hub.challenge', { 'hub.mode': 'subscribe' }],
      ['an empty hub.challenge', { 'hub.mode': 'subscribe', 'hub.challenge': '' }],
    ])('answers 400 for %s', async (_name, query: Record<string, string>) => {
      const response = await handshake({ ...query, 'hub.verify_token': engine.config.meta.webhookVerifyToken });
      expect(response.status).toBe(400);
      expect(((await response.json()) as Json).error).toEqual({ type: 'InvalidHandshake', message: expect.stringContaining('hub.challenge') });
    });
  });

  describe('POST /webhooks/instagram: signature', () => {
    const ig = metaId();
    const body = JSON.stringify(webhookBody([{ id: ig, messaging: [messagingItem(ig, '1000000000000100', { message: { mid: `mid-sig-${uid()}`, text: 'hello' } })] }]));

    it.each<[string, () => Record<string, string>, RegExp]>([
      ['no signature', () => ({}), /missing/],
      ['an empty signature', () => ({ 'x-hub-signature-256': '' }), /missing/],
      ['only the legacy sha1 header', () => ({ 'x-hub-signature': `sha1=${createHmac('sha1', engine.config.meta.appSecret).update(body).digest('hex')}` }), /missing/],
      ['a signature that is not hex', () => ({ 'x-hub-signature-256': `sha256=${'z'.repeat(64)}` }), /not of the form/],
      ['a signature without the sha256= prefix', () => ({ 'x-hub-signature-256': sign(body).slice('sha256='.length) }), /not of the form/],
      ['a truncated signature', () => ({ 'x-hub-signature-256': sign(body).slice(0, -1) }), /not of the form/],
      ['a sha1 signature in the sha256 header', () => ({ 'x-hub-signature-256': `sha1=${createHmac('sha1', engine.config.meta.appSecret).update(body).digest('hex')}` }), /not of the form/],
      ['a signature made with another secret', () => ({ 'x-hub-signature-256': signWith('some-other-app-secret', body) }), /does not match/],
      ['the signature of another body', () => ({ 'x-hub-signature-256': sign(`${body} `) }), /does not match/],
    ])('answers 401 for %s and stores nothing', async (_name, headers, message) => {
      const before = await countAll();
      const response = await post(body, headers());
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ error: { type: 'InvalidSignature', message: expect.stringMatching(message) } });
      expect(await countAll()).toBe(before);
    });

    describe('the signature holds for the exact bytes, not for the same JSON written otherwise', () => {
      const mid = `mid-wire-${uid()}`;
      // As Meta puts it on the wire: compact, non-ASCII as lowercase \uXXXX, "/" as "\/" (META-API 1.2).
      const wire = `{"object":"instagram","entry":[{"id":"${ig}","time":${TS + 1},"messaging":[{"sender":{"id":"1000000000000102"},"recipient":{"id":"${ig}"},"timestamp":${TS},"message":{"mid":"${mid}","text":"Gr\\u00fc\\u00dfe \\ud83d\\ude00 https:\\/\\/example.com\\/a"}}]}]}`;

      it.each([
        ['re-serialized by JSON.stringify ("\\/" and \\u escapes undone)', () => JSON.stringify(JSON.parse(wire))],
        ['re-serialized with other spacing', () => JSON.stringify(JSON.parse(wire), null, 2)],
        ['with only "\\/" unescaped', () => wire.replaceAll('\\/', '/')],
        ['with a trailing newline', () => `${wire}\n`],
      ])('answers 401 for the body %s, signed as sent by Meta, and stores nothing', async (_name, rewrite) => {
        const sent = rewrite();
        expect(sent).not.toBe(wire);
        const before = await countAll();
        const response = await post(sent, { 'x-hub-signature-256': sign(wire) });
        expect(response.status).toBe(401);
        expect(response.json.error.type).toBe('InvalidSignature');
        expect(await countAll()).toBe(before);
      });

      it('accepts the wire bytes with their own signature and stores the text decoded', async () => {
        const response = await postSigned(wire);
        expect(response.status).toBe(200);
        expect(response.text).toBe('EVENT_RECEIVED');
        const [event] = await stored({ eventKey: `message:${mid}` });
        expect(payloadOf(event).message.text).toBe('Grüße 😀 https://example.com/a');
        // Kept byte for byte: the escapes as Meta wrote them.
        expect(wire).toContain(event.payload);
      });
    });

    it('accepts an upper-case hex signature and a body sent without a JSON content type', async () => {
      const mid = `mid-ct-${uid()}`;
      const plain = JSON.stringify(webhookBody([{ id: ig, messaging: [messagingItem(ig, '1000000000000101', { message: { mid, text: 'plain' } })] }]));
      const signature = sign(plain);
      const response = await post(plain, { 'content-type': 'text/plain', 'x-hub-signature-256': `sha256=${signature.slice(7).toUpperCase()}` });
      expect(response.status).toBe(200);
      expect(await engine.models.webhookEvents.countDocuments({ eventKey: `message:${mid}` })).toBe(1);
    });
  });

  describe('POST /webhooks/instagram: what Meta signed but the engine cannot read', () => {
    it('stores a body that is not JSON once, as one invalid event with its problem, and answers 200', async () => {
      const body = `{"object":"instagram","entry":[{"id":"x-${uid()}", "messaging": [`;
      const first = await postSigned(body);
      expect(first.status).toBe(200);
      const events = await stored({ payload: body });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ status: 'invalid', kind: 'unknown', igAccountId: null, problem: expect.stringMatching(/not JSON/) });
      expect(events[0].eventKey).toMatch(/^body:[0-9a-f]{64}$/);

      const again = await postSigned(body);
      expect(again.status).toBe(200);
      expect(await engine.models.webhookEvents.countDocuments({ payload: body })).toBe(1);
    });

    it('stores a signed empty body as one invalid event', async () => {
      const response = await postSigned('');
      expect(response.status).toBe(200);
      const events = await stored({ payload: '' });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ status: 'invalid', problem: expect.stringMatching(/not JSON/) });
      expect((await postSigned('')).status).toBe(200);
      expect(await engine.models.webhookEvents.countDocuments({ payload: '' })).toBe(1);
    });

    it.each([
      ['a Page webhook', { object: 'page', entry: [] }, /object is "page"/],
      ['a body without entry', { object: 'instagram' }, /entry/],
      ['entry that is not an array', { object: 'instagram', entry: { id: 'x' } }, /entry/],
    ])('stores %s whole, as one invalid event', async (_name, envelope, problem) => {
      const body = JSON.stringify({ ...envelope, nonce: uid() });
      const response = await postSigned(body);
      expect(response.status).toBe(200);
      const events = await stored({ payload: body });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ status: 'invalid', kind: 'unknown', problem: expect.stringMatching(problem) });
    });

    it('stores an unreadable messaging item as invalid with its problem, and its neighbours for dispatch', async () => {
      const ig = metaId();
      await linkAccount(ig);
      const good1 = `mid-good1-${uid()}`;
      const good2 = `mid-good2-${uid()}`;
      const bad = { recipient: { id: ig }, timestamp: TS, message: { mid: `mid-bad-${uid()}`, text: 'odd' } };
      const noEvent = messagingItem(ig, '1000000000000103', { messaging_optins: { ref: uid() } }, TS + 3);
      const body = JSON.stringify(
        webhookBody([{ id: ig, messaging: [messagingItem(ig, '1000000000000103', { message: { mid: good1, text: 'one' } }, TS + 1), bad, noEvent, messagingItem(ig, '1000000000000103', { message: { mid: good2, text: 'two' } }, TS + 2)] }]),
      );
      const response = await postSigned(body);
      expect(response.status).toBe(200);

      const events = await stored({ igAccountId: ig });
      expect(events).toHaveLength(4);
      const invalid = events.filter((event) => event.status === 'invalid');
      expect(invalid.map((event) => event.kind)).toEqual(['unknown', 'unknown']);
      expect(invalid.find((event) => payloadOf(event).sender === undefined).problem).toMatch(/sender/);
      expect(invalid.find((event) => payloadOf(event).messaging_optins).problem).toMatch(/no known event/);
      const valid = events.filter((event) => event.status !== 'invalid');
      expect(valid.map((event) => event.eventKey).sort()).toEqual([`message:${good1}`, `message:${good2}`].sort());
      for (const event of valid) expect(event.status).toBe('pending');

      // The valid ones reach their conversation; the invalid ones stay as they were.
      await eventually(async () => ((await signalsOrNone(makeConversationWorkflowId(ig, '1000000000000103'))).length === 2 ? true : undefined), 'the valid events signalled');
      expect((await signalsOf(makeConversationWorkflowId(ig, '1000000000000103'))).sort()).toEqual([`message:${good1}`, `message:${good2}`].sort());
      expect(await engine.models.webhookEvents.countDocuments({ igAccountId: ig, status: 'invalid' })).toBe(2);
    });

    it.each([
      ['an ISO 8601 string', '2019-09-23T18:14:46.134Z', /read as a date string/],
      ['in seconds', 1569262486, /read as seconds/],
    ])('stores the message of an entry whose time is %s for dispatch, at its own time, with the odd value noted', async (_name, time, note) => {
      const ig = metaId();
      await linkAccount(ig);
      const mid = `mid-odd-time-${uid()}`;
      const response = await postSigned(JSON.stringify(webhookBody([{ id: ig, time, messaging: [messagingItem(ig, '1000000000000104', { message: { mid, text: 'still here' } }, TS + 1)] }])));
      expect(response.status).toBe(200);
      const [event] = await stored({ eventKey: `message:${mid}` });
      expect(event).toMatchObject({ kind: 'message', occurredAt: new Date(TS + 1), problem: expect.stringMatching(note) });
      expect(payloadOf(event)).toMatchObject({ message: { mid, text: 'still here' } });
      expect(event.status).not.toBe('invalid');
      await eventually(async () => ((await signalsOrNone(makeConversationWorkflowId(ig, '1000000000000104'))).length === 1 ? true : undefined), 'the message signalled');
    });

    it.each<[string, Record<string, unknown>]>([
      ['a key starting with $', { $type: 'new', nested: [{ $x: 1 }] }],
      ['a dotted key', { 'a.b': { 'c.d': 1 } }],
      ['an empty key', { '': 1 }],
    ])('stores an event whose payload has %s (which the database refuses as a key) as sent, and answers 200', async (_name, extra) => {
      const ig = metaId();
      const mid = `mid-keys-${uid()}`;
      const body = JSON.stringify(webhookBody([{ id: ig, messaging: [messagingItem(ig, '1000000000000105', { message: { mid, text: 'odd keys', ...extra } })] }]));
      const response = await postSigned(body);
      expect(response.status).toBe(200);
      const events = await stored({ eventKey: `message:${mid}` });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'message', status: expect.stringMatching(/^(pending|unlinked)$/) });
      expect(payloadOf(events[0])).toMatchObject({ message: { mid, text: 'odd keys', ...extra } });
      // Delivered again: recognised, not refused.
      expect((await postSigned(body)).status).toBe(200);
      expect(await engine.models.webhookEvents.countDocuments({ eventKey: `message:${mid}` })).toBe(1);
    });

    it('records a comment (an entry changes item) as skipped, and never dispatches it', async () => {
      const ig = metaId();
      await linkAccount(ig);
      const comment = { field: 'comments', value: { id: `comment-${uid()}`, from: { id: 'c-comment', username: 'anna' }, text: 'love it #shoes', media: { id: 'media-1', media_product_type: 'FEED' } } };
      const body = JSON.stringify(webhookBody([{ id: ig, changes: [comment] }]));
      const response = await postSigned(body);
      expect(response.status).toBe(200);
      const events = await stored({ igAccountId: ig });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'change', status: 'skipped', problem: null, customerIgsid: null });
      expect(payloadOf(events[0])).toEqual(comment);
      expect(events[0].eventKey).toMatch(new RegExp(`^change:${ig}:`));

      expect((await postSigned(body)).status).toBe(200);
      expect(await engine.models.webhookEvents.countDocuments({ igAccountId: ig })).toBe(1);
    });
  });

  describe('POST /webhooks/instagram: whatever Meta signs is stored, never answered 503', () => {
    const customer = '1000000000000300';
    /** A signed message item written by hand, with `extra` JSON text inside its message. */
    const itemText = (ig: string, mid: string, extra: string, timestamp = String(TS), sender = `"${customer}"`) =>
      `{"sender":{"id":${sender}},"recipient":{"id":"${ig}"},"timestamp":${timestamp},"message":{"mid":"${mid}","text":"hi"${extra}}}`;
    const deliveryText = (ig: string, items: string[], entryTime = String(TS + 5_000)) => `{"object":"instagram","entry":[{"id":"${ig}","time":${entryTime},"messaging":[${items.join(',')}]}]}`;

    it.each([
      ['a key holding NUL', ',"a\\u0000b":{"c\\u0000":1}'],
      ['an array inside an array', ',"attachments":[[{"type":"image"}],[[1,[2]]]]'],
    ])('stores a message with %s as sent, reads it with what it has, and delivered again adds nothing', async (_name, extra) => {
      const ig = metaId();
      await linkAccount(ig);
      const mid = `mid-hostile-${uid()}`;
      const item = itemText(ig, mid, extra);
      const body = deliveryText(ig, [item]);
      const response = await postSigned(body);
      expect(response.status).toBe(200);
      const [event] = await stored({ eventKey: `message:${mid}` });
      expect(event).toMatchObject({ kind: 'message', payload: item, problem: null });
      await eventually(async () => ((await signalsOrNone(makeConversationWorkflowId(ig, customer))).length === 1 ? true : undefined), 'the message signalled');
      expect((await postSigned(body)).status).toBe(200);
      expect(await engine.models.webhookEvents.countDocuments({ igAccountId: ig })).toBe(1);
    });

    it('stores an item nested 10,000 deep inside an entry as an invalid event with the reason and its text; its neighbour goes on', async () => {
      const ig = metaId();
      await linkAccount(ig);
      const deep = itemText(ig, `mid-deep-${uid()}`, `,"deep":${'['.repeat(10_000)}${']'.repeat(10_000)}`);
      const neighbour = `mid-next-${uid()}`;
      const body = deliveryText(ig, [deep, itemText(ig, neighbour, '', String(TS + 1))]);
      const response = await postSigned(body);
      expect(response.status).toBe(200);
      const events = await stored({ igAccountId: ig });
      expect(events.map((event) => [event.kind, event.status]).sort()).toEqual([
        ['message', 'pending'],
        ['unknown', 'invalid'],
      ]);
      const invalid = events.find((event) => event.kind === 'unknown');
      expect(invalid).toMatchObject({ payload: deep, problem: 'entry[0].messaging[0] nests 10002 levels deep; an event may nest at most 32' });
      await eventually(async () => ((await signalsOrNone(makeConversationWorkflowId(ig, customer))).length === 1 ? true : undefined), 'the neighbour signalled');
      expect((await postSigned(body)).status).toBe(200);
      expect(await engine.models.webhookEvents.countDocuments({ igAccountId: ig })).toBe(2);
    });

    it('stores an entry nested 10,000 deep in its id as one invalid event with its text', async () => {
      const entry = `{"id":${'['.repeat(10_000)}${']'.repeat(10_000)},"nonce":"${uid()}"}`;
      expect((await postSigned(`{"object":"instagram","entry":[${entry}]}`)).status).toBe(200);
      const events = await stored({ payload: entry });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'unknown', status: 'invalid', igAccountId: null, problem: 'entry[0]: id: expected an id as a string of digits, not an array' });
    });
  });

  describe('POST /webhooks/instagram: values as Meta defines them', () => {
    const customer = '1000000000000400';

    it.each([
      ['a sender id that is a number', '{"id":1234567890123456}', /sender\.id: expected an id as a string of digits, not a number/],
      ['a sender id of 5 KB', `{"id":"${'1'.repeat(5 * 1024)}"}`, /sender\.id: expected an id of 1 to 32 digits/],
      ['a sender id that is not digits', '{"id":"c-42"}', /sender\.id: expected an id of 1 to 32 digits/],
    ])('stores a message with %s as invalid, with the reason, and hands it to no conversation', async (_name, sender, problem) => {
      const ig = metaId();
      await linkAccount(ig);
      const item = `{"sender":${sender},"recipient":{"id":"${ig}"},"timestamp":${TS},"message":{"mid":"mid-id-${uid()}","text":"hi"}}`;
      const response = await postSigned(`{"object":"instagram","entry":[{"id":"${ig}","time":${TS},"messaging":[${item}]}]}`);
      expect(response.status).toBe(200);
      const [event] = await stored({ igAccountId: ig });
      expect(event).toMatchObject({ kind: 'unknown', status: 'invalid', customerIgsid: null, payload: item, problem: expect.stringMatching(problem) });
      expect(event.problem.length).toBeLessThan(300);
    });

    it('stores an entry whose account id is a number as invalid, with the reason', async () => {
      const entry = `{"id":17841400000000555,"time":${TS},"nonce":"${uid()}","messaging":[]}`;
      expect((await postSigned(`{"object":"instagram","entry":[${entry}]}`)).status).toBe(200);
      const [event] = await stored({ payload: entry });
      expect(event).toMatchObject({ kind: 'unknown', status: 'invalid', igAccountId: null, problem: expect.stringMatching(/entry\[0\]: id: expected an id as a string of digits, not a number/) });
    });

    it.each([['0'], ['-0'], ['9e15']])('dates a message whose timestamp is %s at the entry time, keeps the value as sent, and hands it over', async (timestamp) => {
      const ig = metaId();
      await linkAccount(ig);
      const mid = `mid-ts-${uid()}`;
      const item = `{"sender":{"id":"${customer}"},"recipient":{"id":"${ig}"},"timestamp":${timestamp},"message":{"mid":"${mid}","text":"when?"}}`;
      const entryTime = Date.now() - 1_000;
      expect((await postSigned(`{"object":"instagram","entry":[{"id":"${ig}","time":${entryTime},"messaging":[${item}]}]}`)).status).toBe(200);
      const [event] = await stored({ eventKey: `message:${mid}` });
      expect(event).toMatchObject({ kind: 'message', occurredAt: new Date(entryTime), payload: item, problem: expect.stringMatching(/^timestamp \S+ is out of range \(.+\): the entry's time is used$/) });
      await eventually(async () => ((await signalsOrNone(makeConversationWorkflowId(ig, customer))).length === 1 ? true : undefined), 'the message signalled');
    });

    it('dates a message at its receipt when its entry time is out of range too', async () => {
      const ig = metaId();
      const mid = `mid-ts-${uid()}`;
      const before = Date.now();
      const body = `{"object":"instagram","entry":[{"id":"${ig}","time":0,"messaging":[{"sender":{"id":"${customer}"},"recipient":{"id":"${ig}"},"timestamp":-0,"message":{"mid":"${mid}","text":"when?"}}]}]}`;
      expect((await postSigned(body)).status).toBe(200);
      const [event] = await stored({ eventKey: `message:${mid}` });
      expect(event.occurredAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(event.occurredAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect(event.problem).toMatch(/timestamp -0 is out of range.*; entry\[0\]\.time 0 is out of range \(1970-01-01T00:00:00\.000Z\): the time of receipt is used/);
    });
  });

  describe('POST /webhooks/instagram: more entries than Meta ever batches', () => {
    const entries = (ig: string, count: number, run: string) =>
      Array.from({ length: count }, (_, index) => ({ id: ig, messaging: [messagingItem(ig, `${1000000000010000 + index}`, { message: { mid: `mid-many-${run}-${index}`, text: `message ${index}` } })] }));

    it('refuses 1,001 entries with 413, naming the count and the limit, and stores nothing', async () => {
      const ig = metaId();
      const before = await countAll();
      const response = await postSigned(JSON.stringify(webhookBody(entries(ig, 1001, uid()))));
      expect(response.status).toBe(413);
      expect(response.json).toEqual({ error: { type: 'TooManyEntries', message: expect.stringMatching(/1001 entries.*at most 1000/) } });
      expect(await countAll()).toBe(before);
    });

    it('accepts 1,000 entries and stores every event', async () => {
      const ig = metaId();
      const response = await postSigned(JSON.stringify(webhookBody(entries(ig, 1000, uid()))));
      expect(response.status).toBe(200);
      expect(await engine.models.webhookEvents.countDocuments({ igAccountId: ig })).toBe(1000);
    });
  });

  describe('POST /webhooks/instagram: batches', () => {
    it('stores every event of every entry before the 200, once, with unique keys; a second delivery adds nothing', async () => {
      const run = uid();
      const accounts = [metaId(), metaId(), metaId()];
      for (const ig of accounts) await linkAccount(ig);
      const entries = accounts.map((ig, a) => ({
        id: ig,
        messaging: [
          messagingItem(ig, `10000000000002${a}1`, { message: { mid: `mid-${run}-${a}-1`, text: `first ${a}` } }, TS + a * 10 + 1),
          messagingItem(ig, `10000000000002${a}2`, { message: { mid: `mid-${run}-${a}-2`, attachments: [{ type: 'image', payload: { url: 'https://cdn.example/x.jpg' } }] } }, TS + a * 10 + 2),
          messagingItem(ig, `10000000000002${a}1`, { reaction: { mid: `mid-${run}-${a}-1`, action: 'react', reaction: 'love', emoji: '\u2764\ufe0f' } }, TS + a * 10 + 3),
          { sender: { id: ig }, recipient: { id: `10000000000002${a}1` }, timestamp: TS + a * 10 + 4, message: { mid: `mid-${run}-${a}-echo`, text: 'from the app', is_echo: true } },
        ],
      }));
      const body = JSON.stringify(webhookBody(entries));
      const expectedKeys = accounts.flatMap((ig, a) => [`message:mid-${run}-${a}-1`, `message:mid-${run}-${a}-2`, `reaction:10000000000002${a}1:mid-${run}-${a}-1:react:${TS + a * 10 + 3}`, `echo:mid-${run}-${a}-echo`]);

      const response = await postSigned(body);
      expect(response.status).toBe(200);
      // Right after the answer, before any dispatch could matter: all twelve are there.
      const events = await stored({ igAccountId: { $in: accounts } });
      expect(events.map((event) => event.eventKey).sort()).toEqual([...expectedKeys].sort());
      expect(new Set(events.map((event) => event.eventKey)).size).toBe(12);
      for (const event of events) {
        expect(event.status).toBe('pending');
        expect(event.occurredAt).toBeInstanceOf(Date);
        expect(event.receivedAt).toBeInstanceOf(Date);
      }
      const echo = events.find((event) => event.eventKey === `echo:mid-${run}-0-echo`);
      expect(echo).toMatchObject({ kind: 'echo', igAccountId: accounts[0], customerIgsid: '1000000000000201', mid: `mid-${run}-0-echo` });

      await eventually(async () => {
        const counts = await Promise.all(accounts.flatMap((ig, a) => [signalsOrNone(makeConversationWorkflowId(ig, `10000000000002${a}1`)), signalsOrNone(makeConversationWorkflowId(ig, `10000000000002${a}2`))]));
        return counts.reduce((sum, signals) => sum + signals.length, 0) === 12 ? true : undefined;
      }, 'all twelve signalled');

      // Delivered again, whole and in reverse order: nothing new is stored and nothing is signalled twice.
      const before = await countAll();
      expect((await postSigned(body)).status).toBe(200);
      const reversed = JSON.stringify(webhookBody([...entries].reverse().map((entry) => ({ ...entry, messaging: [...entry.messaging].reverse() }))));
      expect((await postSigned(reversed)).status).toBe(200);
      expect(await countAll()).toBe(before);
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const [a, ig] of accounts.entries()) {
        // The first customer: message, reaction, echo; the second: message.
        expect(await signalsOf(makeConversationWorkflowId(ig, `10000000000002${a}1`))).toHaveLength(3);
        expect(await signalsOf(makeConversationWorkflowId(ig, `10000000000002${a}2`))).toHaveLength(1);
      }
    });

    it('stores an event that appears twice in one batch once', async () => {
      const ig = metaId();
      const item = messagingItem(ig, '1000000000000106', { message: { mid: `mid-twice-${uid()}`, text: 'twice' } });
      const response = await postSigned(JSON.stringify(webhookBody([{ id: ig, messaging: [item, item] }, { id: ig, messaging: [item] }])));
      expect(response.status).toBe(200);
      expect(await engine.models.webhookEvents.countDocuments({ igAccountId: ig })).toBe(1);
    });

    it('stores the new events of a delivery that repeats some old ones', async () => {
      const ig = metaId();
      const first = messagingItem(ig, '1000000000000107', { message: { mid: `mid-p1-${uid()}`, text: 'one' } }, TS + 1);
      const second = messagingItem(ig, '1000000000000107', { message: { mid: `mid-p2-${uid()}`, text: 'two' } }, TS + 2);
      expect((await postSigned(JSON.stringify(webhookBody([{ id: ig, messaging: [first] }])))).status).toBe(200);
      expect((await postSigned(JSON.stringify(webhookBody([{ id: ig, messaging: [first, second] }])))).status).toBe(200);
      expect((await stored({ igAccountId: ig })).map((event) => payloadOf(event).message.text)).toEqual(['one', 'two']);
    });
  });

  describe('dispatch', () => {
    it('marks the events of an Instagram account that is not linked unlinked, and signals nothing', async () => {
      const ig = metaId();
      const body = JSON.stringify(
        webhookBody([{ id: ig, messaging: [messagingItem(ig, '1000000000000108', { message: { mid: `mid-u1-${uid()}`, text: 'anyone?' } }), messagingItem(ig, '1000000000000109', { postback: { mid: `mid-u2-${uid()}`, title: 'Start', payload: 'GO' } }, TS + 1)] }]),
      );
      const response = await postSigned(body);
      expect(response.status).toBe(200);
      const events = await eventually(async () => {
        const found = await stored({ igAccountId: ig });
        return found.length === 2 && found.every((event) => event.status === 'unlinked') ? found : undefined;
      }, 'the events marked unlinked');
      expect(events.map((event) => event.kind)).toEqual(['message', 'postback']);
      for (const igsid of ['1000000000000108', '1000000000000109']) {
        await expect(engine.temporal.workflow.getHandle(makeConversationWorkflowId(ig, igsid)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      }
    });

    it('treats an account whose link was removed as not linked', async () => {
      const ig = metaId();
      await linkAccount(ig, 'unlinked');
      const mid = `mid-was-${uid()}`;
      expect((await postSigned(JSON.stringify(webhookBody([{ id: ig, messaging: [messagingItem(ig, '1000000000000110', { message: { mid, text: 'hello?' } })] }])))).status).toBe(200);
      await eventually(async () => ((await engine.models.webhookEvents.findOne({ eventKey: `message:${mid}` }).lean<Json>())?.status === 'unlinked' ? true : undefined), 'the event marked unlinked');
      await expect(engine.temporal.workflow.getHandle(makeConversationWorkflowId(ig, '1000000000000110')).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    });
  });

  describe('GET /metrics: the ingress as operators see it', () => {
    it('counts a signed delivery as stored, with its new events by kind, and an unsigned one as refused; no ids or text', async () => {
      const before = await scrapeMetrics(engine.baseUrl);
      expect(before.status).toBe(200);
      const ig = metaId();
      const mid = `mid-metrics-${uid()}`;
      const body = JSON.stringify(
        webhookBody([{ id: ig, messaging: [messagingItem(ig, '1000000000000111', { message: { mid, text: 'words only the inbox may read' } }), messagingItem(ig, '1000000000000111', { read: { mid } }, TS + 1)] }]),
      );
      expect((await postSigned(body)).status).toBe(200);
      expect((await post(body)).status).toBe(401);
      // Meta's second delivery of the same events: acknowledged again, nothing new stored.
      expect((await postSigned(body)).status).toBe(200);

      const after = await scrapeMetrics(engine.baseUrl);
      expect(after.status).toBe(200);
      expect(after.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      const grew = (name: string, labels: Record<string, string>) => growth(before.samples, after.samples, name, labels);
      expect(grew('igdm_webhook_ack_duration_seconds_count', { outcome: 'stored' })).toBe(2);
      expect(grew('igdm_webhook_ack_duration_seconds_count', { outcome: 'refused' })).toBe(1);
      expect(grew('igdm_webhook_ack_duration_seconds_count', { outcome: 'unavailable' })).toBe(0);
      expect(grew('igdm_webhook_ack_duration_seconds_sum', { outcome: 'stored' })).toBeGreaterThan(0);
      // Both answers came within Meta's 5 s.
      expect(grew('igdm_webhook_ack_duration_seconds_bucket', { outcome: 'stored', le: '5' })).toBe(2);
      expect(grew('igdm_webhook_events_stored_total', { kind: 'message' })).toBe(1);
      expect(grew('igdm_webhook_events_stored_total', { kind: 'read' })).toBe(1);
      expect(sampleValue(after.samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      for (const secret of [ig, mid, '1000000000000111', 'words only the inbox may read', engine.config.meta.appSecret]) expect(after.text).not.toContain(secret);
    });
  });
});

describe('webhook ingress with a small body limit', () => {
  let engine: RunningEngine;
  const limit = 2048;
  const sign = (body: string): string => signWith(engine.config.meta.appSecret, body);

  /** A valid, signed webhook body of exactly `size` bytes. */
  function bodyOfSize(size: number, ig: string): string {
    const base = (pad: string) => JSON.stringify(webhookBody([{ id: ig, messaging: [messagingItem(ig, '1000000000000112', { message: { mid: `mid-size-${size}-${ig}`, text: pad } })] }]));
    const body = base('x'.repeat(size - Buffer.byteLength(base(''))));
    expect(Buffer.byteLength(body)).toBe(size);
    return body;
  }

  const metricsToken = `metrics-token-${randomUUID()}`;

  beforeAll(async () => {
    engine = await startEngine({ config: testConfig({ WEBHOOK_MAX_BODY_BYTES: String(limit), METRICS_TOKEN: metricsToken }), worker: false });
  });

  afterAll(async () => {
    await engine.stop();
  });

  it('answers 413 for a signed body over the limit and stores nothing', async () => {
    expect(engine.config.api.webhookMaxBodyBytes).toBe(limit);
    const body = bodyOfSize(limit + 1, metaId());
    const response = await postRaw(engine.baseUrl, body, { 'x-hub-signature-256': sign(body) });
    expect(response.status).toBe(413);
    expect(response.json).toEqual({ error: { type: 'PayloadTooLarge', message: expect.stringContaining(String(limit)) } });
    expect(await engine.models.webhookEvents.countDocuments({})).toBe(0);
  });

  it('answers 413 for a body over the limit sent without a Content-Length (chunked)', async () => {
    const body = bodyOfSize(limit * 4, metaId());
    const bytes = Buffer.from(body);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 512) controller.enqueue(bytes.subarray(offset, offset + 512));
        controller.close();
      },
    });
    const response = await fetch(`${engine.baseUrl}/webhooks/instagram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) },
      body: stream,
      // A streamed request body needs half duplex in Node's fetch.
      duplex: 'half',
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as Json).error.type).toBe('PayloadTooLarge');
    expect(await engine.models.webhookEvents.countDocuments({})).toBe(0);
  });

  it('times a body refused for its size as refused, and serves /metrics only to the metrics token', async () => {
    const before = await samplesOf(engine.metrics.api.registry);
    const body = bodyOfSize(limit + 1, metaId());
    expect((await postRaw(engine.baseUrl, body, { 'x-hub-signature-256': sign(body) })).status).toBe(413);
    expect((await scrapeMetrics(engine.baseUrl)).status).toBe(401);
    expect((await scrapeMetrics(engine.baseUrl, { authorization: 'Bearer not-the-metrics-token' })).status).toBe(401);
    const after = await scrapeMetrics(engine.baseUrl, { authorization: `Bearer ${metricsToken}` });
    expect(after.status).toBe(200);
    expect(growth(before, after.samples, 'igdm_webhook_ack_duration_seconds_count', { outcome: 'refused' })).toBe(1);
    expect(growth(before, after.samples, 'igdm_webhook_events_stored_total', { kind: 'message' })).toBe(0);
    expect(after.text).not.toContain(metricsToken);
  });

  it('accepts a body of exactly the limit', async () => {
    const ig = metaId();
    const body = bodyOfSize(limit, ig);
    const response = await postRaw(engine.baseUrl, body, { 'x-hub-signature-256': sign(body) });
    expect(response.status).toBe(200);
    expect(await engine.models.webhookEvents.countDocuments({ igAccountId: ig })).toBe(1);
  });
});

describe('webhook ingress when the database does not answer', () => {
  const config = testConfig();
  const logger = createLogger({ write: () => undefined });
  const body = JSON.stringify(webhookBody([{ id: '17841400000009999', messaging: [messagingItem('17841400000009999', '1000000000000113', { message: { mid: `mid-down-${uid()}`, text: 'is anyone storing this?' } })] }]));

  async function serve(database: ReturnType<typeof createDatabaseConnection>): Promise<{ baseUrl: string; metrics: ApiMetrics; close(): Promise<void> }> {
    const temporal = createTemporalAccess(config.temporal);
    const models = createModels(database);
    const metrics = createApiMetrics();
    const dispatcher = createInboundDispatcher({ models, temporal: temporal.client, taskQueue: config.temporal.taskQueue, logger, metrics });
    const app = createApp({ config, logger, temporal, database, models, dispatcher, metrics });
    const server: Server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    return {
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      metrics,
      async close() {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await temporal.close();
      },
    };
  }

  /** A TCP proxy to the database that can be told to stop passing bytes on: a database that hangs. */
  async function startStallableProxy(target: URL): Promise<{ uri: string; stall(): void; close(): Promise<void> }> {
    const sockets = new Set<Socket>();
    let stalled = false;
    const server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        sockets.add(from);
        from.on('data', (chunk: Buffer) => {
          if (!stalled) to.write(chunk);
        });
        from.on('close', end);
        from.on('error', end);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const uri = new URL(target.toString());
    uri.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      uri: uri.toString(),
      stall: () => {
        stalled = true;
      },
      async close() {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  it('answers 503 before Meta gives up when the database stops answering mid-way', async () => {
    const proxy = await startStallableProxy(new URL(config.mongodb.uri));
    const database = await connectDatabase({ uri: proxy.uri });
    const server = await serve(database);
    try {
      proxy.stall();
      const started = Date.now();
      const response = await postRaw(server.baseUrl, body, { 'x-hub-signature-256': signWith(config.meta.appSecret, body) });
      const elapsed = Date.now() - started;
      expect(response.status).toBe(503);
      expect(response.json.error.type).toBe('StorageUnavailable');
      expect(elapsed).toBeLessThan(5_000);
    } finally {
      await server.close();
      await proxy.close();
      await database.close(true);
    }
  });

  it.each([
    ['never opened', async () => createDatabaseConnection()],
    [
      'closed',
      async () => {
        const database = await connectDatabase({ uri: config.mongodb.uri });
        await database.close();
        return database;
      },
    ],
  ])('answers 503 StorageUnavailable when the connection is %s, so Meta delivers again', async (_name, makeDatabase) => {
    const server = await serve(await makeDatabase());
    try {
      const started = Date.now();
      const response = await postRaw(server.baseUrl, body, { 'x-hub-signature-256': signWith(config.meta.appSecret, body) });
      expect(response.status).toBe(503);
      expect(response.json).toEqual({ error: { type: 'StorageUnavailable', message: expect.any(String) } });
      // Meta wants an answer within 5 seconds; a slower one counts as a failure anyway, but should not happen.
      expect(Date.now() - started).toBeLessThan(5_000);
      // Operators see it: an answer that makes Meta deliver again, and nothing stored.
      const samples = (await scrapeMetrics(server.baseUrl)).samples;
      expect(sampleValue(samples, 'igdm_webhook_ack_duration_seconds_count', { outcome: 'unavailable' })).toBe(1);
      expect(sampleValue(samples, 'igdm_webhook_ack_duration_seconds_count', { outcome: 'stored' })).toBe(0);
      expect(sampleValue(samples, 'igdm_webhook_events_stored_total', { kind: 'message' })).toBe(0);
    } finally {
      await server.close();
    }
  });
});
