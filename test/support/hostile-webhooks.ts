/**
 * Hostile webhook deliveries, generated with fast-check: unsigned, badly signed and well signed; entries of any
 * shape beside the ones Meta sends; the values that once could not be stored or were shown unsafely (a key with
 * NUL, arrays inside arrays, nesting thousands deep, ids of kilobytes, numbers where Meta sends strings, times of
 * 0, -0, 9e15 or ISO strings, attachment links with `javascript:`, `file:`, `data:` and `vbscript:`), and more
 * entries than Meta ever batches. Every text carries a canary, so the logs can be searched for it afterwards.
 */
import fc from 'fast-check';
import { serializeLikeMeta, signatureSha256 } from '../../emulator/meta-json';
import { nestedJson } from './hostile-requests';

export type Signing = 'unsigned' | 'bad-signature' | 'malformed-signature' | 'signed';

export interface HostileDelivery {
  signing: Signing;
  body: string;
  headers: Record<string, string>;
  /** Entries in the body (when it is an envelope at all). */
  entries: number;
}

export const CANARY = 'hostile-canary';

const UNSAFE_LINKS = ['javascript:alert(document.cookie)', 'file:///etc/passwd', 'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)'];

function oddTime(): fc.Arbitrary<unknown> {
  return fc.oneof(fc.constantFrom(0, -0, 9e15, -1, 1.5, '2026-12-01T10:00:00Z', '1764583200', null, true), fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }), fc.date({ noInvalidDate: true }).map((date) => date.getTime()));
}

function oddId(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[1-9][0-9]{14,16}$/) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 53 }) },
    { weight: 1, arbitrary: fc.integer({ min: 2_000, max: 10_000 }).map((length) => '7'.repeat(length)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: fc.constantFrom(null, {}, [], ['1'], '') },
  );
}

function attachment(): fc.Arbitrary<unknown> {
  return fc.record({ type: fc.constantFrom('image', 'video', 'audio', 'file', 'share', 'story_mention', 'ig_reel', 'made_up'), payload: fc.record({ url: fc.oneof(fc.constantFrom(...UNSAFE_LINKS), fc.webUrl()) }) });
}

/** A messaging item: mostly what Meta sends for a message, with odd fields in place of some. */
function messagingItem(igAccountId: string, serial: () => number): fc.Arbitrary<unknown> {
  return fc
    .record({
      sender: fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[1-9][0-9]{15}$/).map((id) => ({ id })) }, { weight: 1, arbitrary: oddId().map((id) => ({ id })) }),
      timestamp: fc.oneof({ weight: 3, arbitrary: fc.constant(Date.now()) }, { weight: 1, arbitrary: oddTime() }),
      text: fc.string({ unit: 'grapheme', maxLength: 80 }),
      attachments: fc.option(fc.array(attachment(), { maxLength: 3 }), { freq: 3 }),
      extra: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }), { freq: 3 }),
    })
    .map(({ sender, timestamp, text, attachments, extra }) => ({
      sender,
      recipient: { id: igAccountId },
      timestamp,
      message: { mid: `m_hostile_${serial()}`, text: `${CANARY} ${text}`, ...(attachments ? { attachments } : {}) },
      ...(extra ?? {}),
    }));
}

/** Raw JSON fragments no `JSON.stringify` of a plain object makes: a key with NUL, nesting thousands deep. */
function rawOddity(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant('{"bad\\u0000key":1,"$where":"1","a.b":2}'),
    fc.constant('[[1,[2,[3]]],[["x"]]]'),
    fc.constantFrom(3_000, 10_000).chain((depth) => fc.boolean().map((asArrays) => nestedJson(depth, asArrays))),
  );
}

function envelope(igAccountId: string, serial: () => number): fc.Arbitrary<{ body: string; entries: number }> {
  const entry = fc.record({ items: fc.array(messagingItem(igAccountId, serial), { minLength: 1, maxLength: 3 }), time: fc.oneof({ weight: 3, arbitrary: fc.constant(Date.now()) }, { weight: 1, arbitrary: oddTime() }), oddity: fc.option(rawOddity(), { freq: 3 }) });
  return fc.array(entry, { minLength: 1, maxLength: 5 }).map((entries) => {
    const parts = entries.map(({ items, time, oddity }) => {
      const plain = serializeLikeMeta({ id: igAccountId, time, messaging: items });
      // Spliced in as raw JSON: the oddities are what a serializer of ours would never write.
      return oddity === null ? plain : `${plain.slice(0, -1)},"oddity":${oddity}}`;
    });
    return { body: `{"object":"instagram","entry":[${parts.join(',')}]}`, entries: entries.length };
  });
}

/** More entries than Meta ever batches in one delivery. */
function oversizedBatch(igAccountId: string): fc.Arbitrary<{ body: string; entries: number }> {
  return fc.constantFrom(1_001, 5_000).map((entries) => {
    const entry = serializeLikeMeta({ id: igAccountId, time: Date.now(), messaging: [{ sender: { id: '1111111111111111' }, recipient: { id: igAccountId }, timestamp: Date.now(), message: { mid: 'm_oversized', text: `${CANARY} oversized` } }] });
    return { body: `{"object":"instagram","entry":[${Array.from({ length: entries }, () => entry).join(',')}]}`, entries };
  });
}

function anyBody(): fc.Arbitrary<{ body: string; entries: number }> {
  return fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)), fc.string({ maxLength: 200 }), fc.constant('{"object":"instagram","entry":"nope"}')).map((body) => ({ body, entries: 0 }));
}

export function hostileDelivery(appSecret: string, igAccountId: string): fc.Arbitrary<HostileDelivery> {
  let next = 0;
  const serial = (): number => (next += 1);
  const body = fc.oneof({ weight: 6, arbitrary: envelope(igAccountId, serial) }, { weight: 2, arbitrary: anyBody() }, { weight: 1, arbitrary: oversizedBatch(igAccountId) });
  const signing = fc.constantFrom<Signing>('unsigned', 'bad-signature', 'malformed-signature', 'signed', 'signed', 'signed');
  return fc.tuple(body, signing).map(([drawn, how]) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (how === 'signed') headers['x-hub-signature-256'] = signatureSha256(appSecret, drawn.body);
    if (how === 'bad-signature') headers['x-hub-signature-256'] = signatureSha256(`${appSecret}-not`, drawn.body);
    if (how === 'malformed-signature') headers['x-hub-signature-256'] = 'sha256=zz';
    return { signing: how, body: drawn.body, headers, entries: drawn.entries };
  });
}

/**
 * What is wrong with the answer to a delivery, or undefined: anything not signed is 401; a signed delivery is 200,
 * or 413 when larger than Meta ever sends, or 400 when it is not Meta's envelope at all; never 5xx (Meta would
 * deliver it again for an hour, then unsubscribe the app).
 */
export function judgeWebhookAnswer(delivery: HostileDelivery, status: number): string | undefined {
  if (delivery.signing !== 'signed') return status === 401 ? undefined : `an ${delivery.signing} delivery answered ${status}`;
  if (delivery.entries > 1_000) return status === 413 ? undefined : `a delivery of ${delivery.entries} entries answered ${status}, not 413`;
  if (status >= 500) return `a signed delivery answered ${status}`;
  return undefined;
}

/** Whether a link the API serves may be shown as a link. */
export function isSafeLink(url: string): boolean {
  return /^https?:\/\//i.test(url);
}
