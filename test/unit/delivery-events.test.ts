/**
 * A webhook delivery as the ingress stores it, before any database: one document per event, the status it starts
 * in, the claim of a pending one, and the keys the database would refuse made storable.
 */
import { sha256Hex } from '../../src/domain/webhook-events';
import { storedEventsOf } from '../../src/inbound/delivery-events';

const RECEIVED_AT = new Date(1_800_000_000_000);
const IG = '17841400000000101';
const CUSTOMER = '1234567890123456';

function delivery(entries: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ object: 'instagram', entry: entries }));
}

function message(mid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sender: { id: CUSTOMER }, recipient: { id: IG }, timestamp: 1_700_000_000_000, message: { mid, text: 'hi' }, ...extra };
}

describe('storedEventsOf', () => {
  it('stores a message pending under its dedupe key, claimed for the dispatch that follows the answer', () => {
    const [event] = storedEventsOf(delivery([{ id: IG, time: 1_700_000_000_000, messaging: [message('m-1')] }]), RECEIVED_AT);
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
      payload: message('m-1'),
      problem: null,
      dispatchedAt: RECEIVED_AT,
      dispatchAttempts: 1,
    });
  });

  it('stores a change skipped and an unreadable item invalid, neither claimed', () => {
    const events = storedEventsOf(delivery([{ id: IG, time: 1_700_000_000_000, changes: [{ field: 'comments', value: {} }], messaging: [{ nonsense: true }] }]), RECEIVED_AT);
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
    const events = storedEventsOf(raw, RECEIVED_AT);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ eventKey: `body:${sha256Hex(raw)}`, status: 'invalid', payload: raw.toString('utf8'), occurredAt: RECEIVED_AT });
    expect(events[0]!.problem).toMatch(problem);
  });

  it('replaces a leading "$" and every "." in the keys of the payload, at any depth, and leaves values alone', () => {
    const item = message('m-2', { $type: 'a.b', nested: [{ 'x.y.z': '$v', $$k: 1 }] });
    const [event] = storedEventsOf(delivery([{ id: IG, time: 1_700_000_000_000, messaging: [item] }]), RECEIVED_AT);
    expect(event!.payload).toMatchObject({ '\uff04type': 'a.b', nested: [{ 'x\uff0ey\uff0ez': '$v', '\uff04$k': 1 }] });
  });
});
