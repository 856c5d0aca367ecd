/**
 * A webhook delivery as the ingress stores it, before any database: one document per event, the status it starts
 * in, the claim of a pending one, and each event's own JSON text (never an object whose keys the database would
 * have to take).
 */
import { sha256Hex } from '../../src/domain/webhook-events';
import { storedEventsOf, type StoredEvent } from '../../src/inbound/delivery-events';

const RECEIVED_AT = new Date(1_800_000_000_000);
const IG = '17841400000000101';
const CUSTOMER = '1234567890123456';

function delivery(entries: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ object: 'instagram', entry: entries }));
}

function message(mid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sender: { id: CUSTOMER }, recipient: { id: IG }, timestamp: 1_700_000_000_000, message: { mid, text: 'hi' }, ...extra };
}

function eventsOf(raw: Buffer): StoredEvent[] {
  const stored = storedEventsOf(raw, RECEIVED_AT);
  if (stored.outcome !== 'events') throw new Error(`refused: ${stored.entries} entries`);
  return stored.events;
}

describe('storedEventsOf', () => {
  it('stores a message pending under its dedupe key, claimed for the dispatch that follows the answer', () => {
    const [event] = eventsOf(delivery([{ id: IG, time: 1_700_000_000_000, messaging: [message('m-1')] }]));
    expect(event).toEqual({
      _id: 'message:m-1',
      eventKey: 'message:m-1',
      status: 'pending',
      kind: 'message',
      igAccountId: IG,
      customerIgsid: CUSTOMER,
      mid: 'm-1',
      occurredAt: new Date(1_700_000_000_000),
      receivedAt: RECEIVED_AT,
      payload: JSON.stringify(message('m-1')),
      problem: null,
      dispatchedAt: RECEIVED_AT,
      dispatchAttempts: 1,
    });
  });

  it('stores a change skipped and an unreadable item invalid, neither claimed', () => {
    const events = eventsOf(delivery([{ id: IG, time: 1_700_000_000_000, changes: [{ field: 'comments', value: {} }], messaging: [{ nonsense: true }] }]));
    expect(events.map((event) => [event.kind, event.status, event.dispatchAttempts, event.dispatchedAt])).toEqual([
      ['unknown', 'invalid', 0, undefined],
      ['change', 'skipped', 0, undefined],
    ]);
  });

  it.each([
    ['not JSON', Buffer.from('{not json'), /^body is not JSON: /],
    ['empty', Buffer.alloc(0), /^body is not JSON: /],
    ['a Page webhook', Buffer.from(JSON.stringify({ object: 'page', entry: [] })), /^object is "page"/],
  ])('keeps a body that is %s whole, as one invalid event keyed by its hash', (_, raw, problem) => {
    const events = eventsOf(raw);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ eventKey: `body:${sha256Hex(raw)}`, status: 'invalid', payload: raw.toString('utf8'), occurredAt: RECEIVED_AT });
    expect(events[0]!.problem).toMatch(problem);
  });

  it('keeps a body that is not UTF-8 whole, in base64, since as text its bytes would be lost', () => {
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const [event] = eventsOf(raw);
    expect(event).toMatchObject({ eventKey: `body:${sha256Hex(raw)}`, status: 'invalid', payload: raw.toString('base64'), problem: 'body is not UTF-8 (kept as base64)' });
  });

  it('keeps keys the database refuses (a leading "$", ".", NUL) in the text, never as database keys', () => {
    const item = message('m-2', { $type: 'a.b', 'n\u0000ul': 1, nested: [{ 'x.y.z': '$v', $$k: [[1]] }] });
    const [event] = eventsOf(delivery([{ id: IG, time: 1_700_000_000_000, messaging: [item] }]));
    expect(event).toMatchObject({ kind: 'message', status: 'pending', payload: JSON.stringify(item) });
  });

  it('refuses a delivery of more than 1,000 entries whole', () => {
    const entries = Array.from({ length: 1001 }, (_, index) => ({ id: IG, time: 1_700_000_000_000, messaging: [message(`m-${index}`)] }));
    expect(storedEventsOf(delivery(entries), RECEIVED_AT)).toEqual({ outcome: 'too-many-entries', entries: 1001, limit: 1000 });
  });
});
