/**
 * The pure half of the inbound path: a webhook body split into events with their dedupe keys, a message event
 * projected into what the inbox shows, and which kinds move the 7-day window. Meta's documentation examples
 * (test/fixtures/meta) are read from their raw bytes, the way the ingress reads them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAX_EVENT_CHARS,
  MAX_EVENT_DEPTH,
  STORY_LIFETIME_MS,
  editNumberOf,
  movesWindow,
  projectMessage,
  readStoredPayload,
  sha256Hex,
  splitWebhookDelivery,
  type InboundEventKind,
  type SplitEvent,
} from '../../src/domain/webhook-events';

/** Meta's example times (ms): when the event happened, and when the notification was sent. */
const TS = 1569262485349;
const ENTRY_TIME = 1569262486134;
const RECEIVED_AT = 1_800_000_000_000;

const IG = '17841400000000101';
const CUSTOMER = '1234567890123456';

const fixtureDir = join(__dirname, '..', 'fixtures', 'meta');
const fixtureNames = readdirSync(fixtureDir).filter((name) => name.endsWith('.json'));
/** Meta's placeholders for ids, written as the strings of digits Meta sends: an id of other characters is refused. */
const placeholderIds: Record<string, string> = { IGID: IG, IGSID: CUSTOMER };
const fixtureText = (name: string): string => readFileSync(join(fixtureDir, name), 'utf8').replace(/"(IGID|IGSID)"/g, (_, id: string) => `"${placeholderIds[id]}"`);
const fixture = (name: string): unknown => JSON.parse(fixtureText(name));

/** A body written as JSON split as the ingress splits the bytes it receives; a body that is no webhook is its problem. */
function splitWebhookPayload(body: unknown, receivedAt: number): { events: SplitEvent[]; envelopeProblem: string | null } {
  const result = splitWebhookDelivery(JSON.stringify(body), receivedAt);
  if (result.outcome === 'too-many-entries') throw new Error(`refused: ${result.entries} entries`);
  return result.outcome === 'events' ? { events: result.events, envelopeProblem: null } : { events: [], envelopeProblem: result.problem };
}

/** The event's stored text, parsed. */
const parsedPayload = (event: SplitEvent): unknown => JSON.parse(event.payload);

function only(events: SplitEvent[]): SplitEvent {
  expect(events).toHaveLength(1);
  return events[0]!;
}

function envelope(entries: unknown[]): unknown {
  return { object: 'instagram', entry: entries };
}

function entry(messaging: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: IG, time: ENTRY_TIME, messaging, ...extra };
}

/** A customer's messaging item (sender = customer, recipient = the business). */
function fromCustomer(event: Record<string, unknown>, timestamp = TS, sender = CUSTOMER): Record<string, unknown> {
  return { sender: { id: sender }, recipient: { id: IG }, timestamp, ...event };
}

function splitOne(item: unknown): SplitEvent {
  const result = splitWebhookPayload(envelope([entry([item])]), RECEIVED_AT);
  expect(result.envelopeProblem).toBeNull();
  return only(result.events);
}

describe('splitWebhookPayload: Meta documentation fixtures', () => {
  type Expected = { kind: InboundEventKind; igAccountId: string; customerIgsid: string; mid: string | null; occurredAt: number; eventKey: string };
  const docs = (kind: InboundEventKind, mid: string | null, eventKey: string): Expected => ({ kind, igAccountId: IG, customerIgsid: CUSTOMER, mid, occurredAt: TS, eventKey });
  const expected: Record<string, Expected> = {
    'message-reactions.json': docs('reaction', 'MESSAGE-ID', `reaction:${CUSTOMER}:MESSAGE-ID:react:${TS}`),
    'messages-attachments.json': docs('message', 'MESSAGE-ID', 'message:MESSAGE-ID'),
    'messages-deleted.json': docs('deleted', 'MESSAGE-ID', 'deleted:MESSAGE-ID'),
    // An echo is sent by the business: the customer is its recipient.
    'messages-echo.json': docs('echo', 'MESSAGE-ID', 'echo:MESSAGE-ID'),
    'messages-quick-reply.json': docs('message', 'MESSAGE-ID', 'message:MESSAGE-ID'),
    'messages-reply-to.json': docs('message', 'MESSAGE-ID', 'message:MESSAGE-ID'),
    'messages-story-mention.json': docs('message', 'MESSAGE-ID', 'message:MESSAGE-ID'),
    'messages-story-reply.json': docs('message', 'MESSAGE-ID', 'message:MESSAGE-ID'),
    'messages-text.json': docs('message', 'MESSAGE-ID', 'message:MESSAGE-ID'),
    'messages-unsupported.json': docs('message', 'MESSAGE-ID', 'message:MESSAGE-ID'),
    'messaging-postbacks.json': docs('postback', 'MESSAGE-ID', 'postback:MESSAGE-ID'),
    'messaging-referral.json': docs('referral', null, `referral:${CUSTOMER}:${TS}`),
    'messaging-seen.json': docs('read', 'LAST-MESSAGE-ID-READ', `read:${CUSTOMER}:LAST-MESSAGE-ID-READ`),
    'wire-escaped-text.json': {
      kind: 'message',
      igAccountId: IG,
      customerIgsid: CUSTOMER,
      mid: 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMTAxOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI3NjExMjAzNDY0MDM0MjIxMg',
      occurredAt: 1795305599871,
      eventKey: 'message:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMTAxOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI3NjExMjAzNDY0MDM0MjIxMg',
    },
  };

  it('knows what every fixture in the folder should split into', () => {
    expect([...fixtureNames].sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(fixtureNames)('%s splits into one event of the documented kind, keyed for dedupe', (name) => {
    const text = fixtureText(name);
    const result = splitWebhookDelivery(text, RECEIVED_AT);
    if (result.outcome !== 'events') throw new Error(`not split: ${result.outcome}`);
    const event = only(result.events);
    expect(event.kind).not.toBe('unknown');
    expect(event.problem).toBeNull();
    expect(event).toMatchObject(expected[name]!);
    // The stored payload is the messaging item's own text, byte for byte as Meta sent it.
    expect(text).toContain(event.payload);
    expect(parsedPayload(event)).toEqual((JSON.parse(text) as { entry: Array<{ messaging: unknown[] }> }).entry[0]!.messaging[0]);
  });

  it('splits a fixture to the same keys every time (a second delivery is recognised)', () => {
    for (const name of fixtureNames) {
      const first = splitWebhookPayload(fixture(name), RECEIVED_AT).events.map((e) => e.eventKey);
      const second = splitWebhookPayload(fixture(name), RECEIVED_AT + 60_000).events.map((e) => e.eventKey);
      expect(second).toEqual(first);
    }
  });

  it('projects the documentation messages into the kinds the inbox shows', () => {
    const project = (name: string) => {
      const event = only(splitWebhookPayload(fixture(name), RECEIVED_AT).events);
      return projectMessage(parsedPayload(event), event.occurredAt);
    };
    expect(project('messages-text.json')).toMatchObject({ kind: 'text', text: 'MESSAGE-TEXT', attachments: [] });
    expect(project('messages-attachments.json')).toMatchObject({ kind: 'image', attachments: [{ type: 'image', url: 'IMAGE-CDN-URL' }] });
    expect(project('messages-quick-reply.json')).toMatchObject({ kind: 'text', text: 'TEXT-FOR-QUICK-REPLY', quickReplyPayload: 'DEVELOPER-DEFINED-PAYLOAD' });
    expect(project('messages-reply-to.json')).toMatchObject({ kind: 'text', text: 'MESSAGE-TEXT', replyToMid: 'MID-OF-THE-MESSAGE-REPLIED-TO' });
    expect(project('messages-story-mention.json')).toMatchObject({ kind: 'story_mention', story: { url: '<CDN_URL>', expiresAt: TS + STORY_LIFETIME_MS } });
    expect(project('messages-story-reply.json')).toMatchObject({
      kind: 'story_reply',
      text: 'MESSAGE-TEXT',
      story: { id: 'STORY-ID', url: 'CDN-URL-OF-THE-STORY', expiresAt: TS + STORY_LIFETIME_MS },
    });
    expect(project('messages-unsupported.json')).toMatchObject({ kind: 'unsupported' });
    expect(project('messages-echo.json')).toMatchObject({ kind: 'text', text: 'MESSAGE-TEXT' });
    expect(project('wire-escaped-text.json')).toMatchObject({ kind: 'text', text: 'Grüße aus München 😀 https://example.com/a/b' });
  });
});

describe('splitWebhookPayload: kinds beyond the fixtures', () => {
  it('keys an unreact apart from the react it undoes', () => {
    const react = splitOne(fromCustomer({ reaction: { mid: 'm.1', action: 'react', reaction: 'love', emoji: '\u2764\ufe0f' } }, TS));
    const unreact = splitOne(fromCustomer({ reaction: { mid: 'm.1', action: 'unreact' } }, TS + 5));
    expect(react).toMatchObject({ kind: 'reaction', mid: 'm.1', eventKey: `reaction:${CUSTOMER}:m.1:react:${TS}` });
    expect(unreact).toMatchObject({ kind: 'reaction', mid: 'm.1', eventKey: `reaction:${CUSTOMER}:m.1:unreact:${TS + 5}` });
  });

  it('keys each edit of a message by its edit number, as a number or as the docs\' string', () => {
    const first = splitOne(fromCustomer({ message_edit: { mid: 'm.2', text: 'fixed', num_edit: 1 } }));
    const second = splitOne(fromCustomer({ message_edit: { mid: 'm.2', text: 'fixed again', num_edit: '2' } }, TS + 10));
    expect(first).toMatchObject({ kind: 'edit', mid: 'm.2', customerIgsid: CUSTOMER, eventKey: 'edit:m.2:1', occurredAt: TS });
    expect(second).toMatchObject({ kind: 'edit', eventKey: 'edit:m.2:2', occurredAt: TS + 10 });
  });

  it('keys a postback without a mid (before v11) by sender and time', () => {
    expect(splitOne(fromCustomer({ postback: { title: 'Start', payload: 'GET_STARTED' } }))).toMatchObject({
      kind: 'postback',
      mid: null,
      eventKey: `postback:${CUSTOMER}:${TS}`,
    });
  });

  it('reads a postback that also carries an ig.me referral as a postback', () => {
    const event = splitOne(fromCustomer({ postback: { mid: 'm.3', title: 'Hi', payload: 'P' }, referral: { ref: 'campaign', source: 'SHORTLINK', type: 'OPEN_THREAD' } }));
    expect(event).toMatchObject({ kind: 'postback', eventKey: 'postback:m.3' });
  });

  it('refuses numeric ids, which Meta sends as strings (past 2^53 a number is another id already)', () => {
    const item = { sender: { id: 123456 }, recipient: { id: IG }, timestamp: TS, message: { mid: 'm.4', text: 'hi' } };
    const fromNumber = splitOne(item);
    expect(fromNumber).toMatchObject({ kind: 'unknown', igAccountId: IG, problem: expect.stringMatching(/sender\.id: expected an id as a string of digits, not a number/) });
    const [entryEvent] = splitWebhookPayload(envelope([{ id: 178414001, time: ENTRY_TIME, messaging: [{ ...item, sender: { id: CUSTOMER } }] }]), RECEIVED_AT).events;
    expect(entryEvent).toMatchObject({ kind: 'unknown', igAccountId: null, problem: expect.stringMatching(/entry\[0\]: id: expected an id as a string of digits, not a number/) });
  });

  it.each<[string, unknown, RegExp]>([
    ['letters', 'c1', /sender\.id: expected an id of 1 to 32 digits/],
    ['empty', '', /sender\.id: expected an id of 1 to 32 digits/],
    ['5 KB of digits', '1'.repeat(5 * 1024), /sender\.id: expected an id of 1 to 32 digits/],
  ])('refuses a sender id of %s, naming the rule, without echoing it', (_name, id, problem) => {
    const event = splitOne({ sender: { id }, recipient: { id: IG }, timestamp: TS, message: { mid: 'm.5', text: 'hi' } });
    expect(event).toMatchObject({ kind: 'unknown', problem: expect.stringMatching(problem) });
    expect(event.problem!.length).toBeLessThan(200);
  });

  it('refuses a mid longer than any Meta gives, and keys an event only by bounded values', () => {
    const event = splitOne(fromCustomer({ message: { mid: 'm'.repeat(513), text: 'hi' } }));
    expect(event).toMatchObject({ kind: 'unknown', problem: expect.stringMatching(/message\.mid/) });
    expect(splitOne(fromCustomer({ message: { mid: 'm'.repeat(512), text: 'hi' } })).kind).toBe('message');
    expect(splitOne(fromCustomer({ reaction: { mid: 'm.6', action: 'a'.repeat(33) } })).kind).toBe('unknown');
  });

  it('records a comment (an entry `changes` item) as a change of the account, at the entry time', () => {
    const comment = { field: 'comments', value: { id: 'c.1', from: { id: CUSTOMER, username: 'anna' }, text: 'nice #shoes', media: { id: 'media.1', media_product_type: 'FEED' } } };
    const result = splitWebhookPayload(envelope([{ id: IG, time: ENTRY_TIME, changes: [comment] }]), RECEIVED_AT);
    const event = only(result.events);
    expect(event).toMatchObject({ kind: 'change', igAccountId: IG, customerIgsid: null, mid: null, occurredAt: ENTRY_TIME, problem: null });
    expect(parsedPayload(event)).toEqual(comment);
    expect(event.eventKey).toMatch(new RegExp(`^change:${IG}:[0-9a-f]{64}$`));
    // The same comment delivered again has the same key; another comment has another.
    const again = only(splitWebhookPayload(envelope([{ id: IG, time: ENTRY_TIME + 1, changes: [comment] }]), RECEIVED_AT).events);
    expect(again.eventKey).toBe(event.eventKey);
    const other = only(splitWebhookPayload(envelope([{ id: IG, time: ENTRY_TIME, changes: [{ ...comment, value: { ...comment.value, id: 'c.2' } }] }]), RECEIVED_AT).events);
    expect(other.eventKey).not.toBe(event.eventKey);
  });

  it('marks a change without a field', () => {
    const event = only(splitWebhookPayload(envelope([{ id: IG, time: ENTRY_TIME, changes: [{ value: {} }] }]), RECEIVED_AT).events);
    expect(event).toMatchObject({ kind: 'change', problem: 'change without a field' });
  });

  it('uses the time of receipt for an entry without a time', () => {
    const event = only(splitWebhookPayload(envelope([{ id: IG, changes: [{ field: 'mentions', value: {} }] }]), RECEIVED_AT).events);
    expect(event.occurredAt).toBe(RECEIVED_AT);
  });
});

describe('splitWebhookPayload: batches', () => {
  const OTHER_IG = '17841400000000202';

  it('splits every messaging item of every entry, in order, with its own account and customer', () => {
    const [c1, c2, c3] = ['1000000000000001', '1000000000000002', '1000000000000003'];
    const body = envelope([
      entry([
        fromCustomer({ message: { mid: 'a.1', text: 'one' } }, TS + 1, c1),
        fromCustomer({ message: { mid: 'a.2', text: 'two' } }, TS + 2, c2),
        { sender: { id: IG }, recipient: { id: c1 }, timestamp: TS + 3, message: { mid: 'a.3', text: 'reply', is_echo: true } },
      ]),
      {
        id: OTHER_IG,
        time: ENTRY_TIME,
        messaging: [
          { sender: { id: c3 }, recipient: { id: OTHER_IG }, timestamp: TS + 4, read: { mid: 'b.0' } },
          { sender: { id: c3 }, recipient: { id: OTHER_IG }, timestamp: TS + 5, message: { mid: 'b.1', is_deleted: true } },
        ],
      },
    ]);
    const result = splitWebhookPayload(body, RECEIVED_AT);
    expect(result.envelopeProblem).toBeNull();
    expect(result.events.map((e) => [e.kind, e.igAccountId, e.customerIgsid, e.mid, e.occurredAt, e.eventKey])).toEqual([
      ['message', IG, c1, 'a.1', TS + 1, 'message:a.1'],
      ['message', IG, c2, 'a.2', TS + 2, 'message:a.2'],
      ['echo', IG, c1, 'a.3', TS + 3, 'echo:a.3'],
      ['read', OTHER_IG, c3, 'b.0', TS + 4, `read:${c3}:b.0`],
      ['deleted', OTHER_IG, c3, 'b.1', TS + 5, 'deleted:b.1'],
    ]);
    expect(new Set(result.events.map((e) => e.eventKey)).size).toBe(result.events.length);
  });

  it('splits standby items (handover) like messaging items, alongside them', () => {
    const result = splitWebhookPayload(
      envelope([
        {
          id: IG,
          time: ENTRY_TIME,
          messaging: [fromCustomer({ message: { mid: 's.1', text: 'primary' } })],
          standby: [fromCustomer({ message: { mid: 's.2', text: 'on standby' } }, TS + 1), fromCustomer({ read: { mid: 's.2' } }, TS + 2)],
        },
        { id: IG, time: ENTRY_TIME, standby: [fromCustomer({ message: { mid: 's.3', text: 'standby only' } }, TS + 3)] },
      ]),
      RECEIVED_AT,
    );
    expect(result.events.map((e) => [e.kind, e.eventKey, e.customerIgsid])).toEqual([
      ['message', 'message:s.1', CUSTOMER],
      ['message', 'message:s.2', CUSTOMER],
      ['read', `read:${CUSTOMER}:s.2`, CUSTOMER],
      ['message', 'message:s.3', CUSTOMER],
    ]);
  });

  it('gives the same event the same key wherever it appears, so the store keeps one', () => {
    const item = fromCustomer({ message: { mid: 'dup.1', text: 'twice' } });
    const result = splitWebhookPayload(envelope([entry([item, item]), entry([item])]), RECEIVED_AT);
    expect(result.events).toHaveLength(3);
    expect(new Set(result.events.map((e) => e.eventKey))).toEqual(new Set(['message:dup.1']));
  });
});

describe('splitWebhookPayload: what it cannot read is kept and marked', () => {
  it.each<[string, unknown, RegExp]>([
    ['a Page webhook', { object: 'page', entry: [] }, /object is "page", expected "instagram"/],
    ['a body without entry', { object: 'instagram' }, /entry/],
    ['entry that is not an array', { object: 'instagram', entry: { id: IG } }, /entry/],
    ['a body without object', { entry: [] }, /object/],
    ['null', null, /not an Instagram webhook/],
    ['a string', 'hello', /not an Instagram webhook/],
    ['an array of envelopes', [{ object: 'instagram', entry: [] }], /not an Instagram webhook/],
  ])('%s: envelope problem, no events', (_name, body, problem) => {
    const result = splitWebhookPayload(body, RECEIVED_AT);
    expect(result.events).toEqual([]);
    expect(result.envelopeProblem).toMatch(problem);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no sender', { recipient: { id: IG }, timestamp: TS, message: { mid: 'x', text: 'hi' } }, 'sender'],
    ['a sender without id', { sender: {}, recipient: { id: IG }, timestamp: TS, message: { mid: 'x', text: 'hi' } }, 'sender.id'],
    ['no recipient', { sender: { id: CUSTOMER }, timestamp: TS, message: { mid: 'x', text: 'hi' } }, 'recipient'],
    ['a message without mid', { sender: { id: CUSTOMER }, recipient: { id: IG }, timestamp: TS, message: { text: 'hi' } }, 'message.mid'],
    ['text that is not a string', { sender: { id: CUSTOMER }, recipient: { id: IG }, timestamp: TS, message: { mid: 'x', text: 42 } }, 'message.text'],
    ['a reaction without mid', { sender: { id: CUSTOMER }, recipient: { id: IG }, timestamp: TS, reaction: { action: 'react' } }, 'reaction.mid'],
    ['no known event', { sender: { id: CUSTOMER }, recipient: { id: IG }, timestamp: TS, messaging_optins: { ref: 'x' } }, 'no known event'],
  ])('a messaging item with %s becomes one unknown event naming the problem; its neighbours still split', (_name, bad, field) => {
    const good1 = fromCustomer({ message: { mid: 'ok.1', text: 'before' } }, TS - 1);
    const good2 = fromCustomer({ reaction: { mid: 'ok.1', action: 'react', reaction: 'like' } }, TS + 1);
    const result = splitWebhookPayload(envelope([entry([good1, bad, good2])]), RECEIVED_AT);
    expect(result.envelopeProblem).toBeNull();
    expect(result.events.map((e) => e.kind)).toEqual(['message', 'unknown', 'reaction']);
    const [first, unknown, third] = result.events as [SplitEvent, SplitEvent, SplitEvent];
    expect(first).toMatchObject({ eventKey: 'message:ok.1', problem: null });
    expect(third).toMatchObject({ eventKey: `reaction:${CUSTOMER}:ok.1:react:${TS + 1}`, problem: null });
    expect(unknown).toMatchObject({ kind: 'unknown', igAccountId: IG, customerIgsid: null, mid: null });
    expect(parsedPayload(unknown)).toEqual(bad);
    expect(unknown.problem).toContain(field);
    expect(unknown.eventKey).toMatch(/^unknown:[0-9a-f]{64}$/);
    expect(typeof unknown.occurredAt).toBe('number');
  });

  it('gives the same unknown item the same key, and a different one another', () => {
    const bad = { recipient: { id: IG }, timestamp: TS, message: { mid: 'x' } };
    const first = splitOne(bad);
    const second = splitOne(JSON.parse(JSON.stringify(bad)));
    const other = splitOne({ ...bad, timestamp: TS + 1 });
    expect(first.kind).toBe('unknown');
    expect(second.eventKey).toBe(first.eventKey);
    expect(other.eventKey).not.toBe(first.eventKey);
  });

  it('marks an entry it cannot read, and still splits the next one', () => {
    const result = splitWebhookPayload(
      envelope([{ time: ENTRY_TIME, messaging: [] }, { id: IG, time: ENTRY_TIME, messaging: 'nope' }, null, entry([fromCustomer({ message: { mid: 'e.1', text: 'fine' } })])]),
      RECEIVED_AT,
    );
    expect(result.events.map((e) => e.kind)).toEqual(['unknown', 'unknown', 'unknown', 'message']);
    expect(result.events[0]!.problem).toMatch(/entry\[0\].*id/);
    expect(result.events[1]!.problem).toMatch(/entry\[1\].*messaging/);
    expect(result.events[2]!.problem).toMatch(/entry\[2\]/);
    expect(new Set(result.events.map((e) => e.eventKey)).size).toBe(4);
  });

  it('marks an entry with nothing in it', () => {
    const event = only(splitWebhookPayload(envelope([{ id: IG, time: ENTRY_TIME }]), RECEIVED_AT).events);
    expect(event).toMatchObject({ kind: 'unknown', igAccountId: IG, occurredAt: ENTRY_TIME });
    expect(event.problem).toMatch(/no messaging, standby or changes/);
  });

  it('splits an empty batch into no events and no problem', () => {
    expect(splitWebhookPayload(envelope([]), RECEIVED_AT)).toEqual({ events: [], envelopeProblem: null });
  });

  it('refuses more entries than Meta ever batches (1,000), and splits 1,000', () => {
    const entries = (count: number) => JSON.stringify(envelope(Array.from({ length: count }, (_, index) => entry([fromCustomer({ message: { mid: `n.${index}`, text: 'hi' } })]))));
    expect(splitWebhookDelivery(entries(1001), RECEIVED_AT)).toEqual({ outcome: 'too-many-entries', entries: 1001, limit: 1000 });
    const accepted = splitWebhookDelivery(entries(1000), RECEIVED_AT);
    expect(accepted.outcome === 'events' && accepted.events.length).toBe(1000);
  });
});

describe('splitWebhookPayload: an odd time costs its own field only', () => {
  const ENTRY_ISO = '2019-09-23T18:14:46.134Z';
  const message = (mid: string, timestamp: unknown = TS): Record<string, unknown> => ({ sender: { id: CUSTOMER }, recipient: { id: IG }, timestamp, message: { mid, text: 'hello' } });

  it.each<[string, unknown, RegExp]>([
    ['an ISO 8601 string', ENTRY_ISO, /entry\[0\]\.time "2019-09-23T18:14:46\.134Z" is not ms since the epoch: read as a date string \(2019-09-23T18:14:46\.134Z\)/],
    ['seconds', 1569262486, /entry\[0\]\.time 1569262486 is not ms since the epoch: read as seconds \(2019-09-23T18:14:46\.000Z\)/],
    ['seconds with a fraction', 1569262486.134, /read as seconds \(2019-09-23T18:14:46\.134Z\)/],
    ['a string of digits', String(ENTRY_TIME), /read as a string of digits \(2019-09-23T18:14:46\.134Z\)/],
    ['a word', 'now', /entry\[0\]\.time "now" is not a time: the time of receipt is used/],
    ['null', null, /entry\[0\]\.time null is not a time/],
    ['an object', { ms: ENTRY_TIME }, /is not a time/],
  ])('an entry whose time is %s still yields its message, at the message\'s own time, with the odd value noted', (_name, time, note) => {
    const item = message('odd.1');
    const result = splitWebhookPayload(envelope([{ id: IG, time, messaging: [item] }]), RECEIVED_AT);
    expect(result.envelopeProblem).toBeNull();
    const event = only(result.events);
    expect(event).toMatchObject({ kind: 'message', mid: 'odd.1', eventKey: 'message:odd.1', igAccountId: IG, customerIgsid: CUSTOMER, occurredAt: TS });
    // What Meta sent is kept as it came: the item whole, and the odd entry value in the note.
    expect(parsedPayload(event)).toEqual(item);
    expect(event.problem).toMatch(note);
  });

  it('reads an entry time in seconds or as a date where the entry time is what counts (a change)', () => {
    const change = { field: 'comments', value: { id: 'c.9' } };
    const inSeconds = only(splitWebhookPayload(envelope([{ id: IG, time: 1569262486, changes: [change] }]), RECEIVED_AT).events);
    expect(inSeconds).toMatchObject({ kind: 'change', occurredAt: 1569262486000 });
    const asDate = only(splitWebhookPayload(envelope([{ id: IG, time: ENTRY_ISO, changes: [change] }]), RECEIVED_AT).events);
    expect(asDate).toMatchObject({ kind: 'change', occurredAt: ENTRY_TIME });
    // Unreadable: the time of receipt, as for an entry with no time.
    const unreadable = only(splitWebhookPayload(envelope([{ id: IG, time: 'soon', changes: [change] }]), RECEIVED_AT).events);
    expect(unreadable.occurredAt).toBe(RECEIVED_AT);
  });

  it('reads every event of such an entry, and leaves the entries around it untouched', () => {
    const result = splitWebhookPayload(
      envelope([
        entry([message('n.1', TS - 1)]),
        { id: IG, time: ENTRY_ISO, messaging: [message('n.2'), fromCustomer({ reaction: { mid: 'n.2', action: 'react', reaction: 'love' } }, TS + 1)] },
        entry([message('n.3', TS + 2)]),
      ]),
      RECEIVED_AT,
    );
    expect(result.events.map((e) => [e.kind, e.eventKey, e.occurredAt, e.problem === null])).toEqual([
      ['message', 'message:n.1', TS - 1, true],
      ['message', 'message:n.2', TS, false],
      ['reaction', `reaction:${CUSTOMER}:n.2:react:${TS + 1}`, TS + 1, false],
      ['message', 'message:n.3', TS + 2, true],
    ]);
  });

  it.each<[string, unknown, number, RegExp]>([
    ['in seconds', 1569262485, 1569262485000, /timestamp 1569262485 is not ms since the epoch: read as seconds/],
    ['a string of digits', String(TS), TS, /timestamp "1569262485349" is not ms since the epoch: read as a string of digits/],
    ['an ISO 8601 string', '2019-09-23T18:14:45.349Z', TS, /read as a date string/],
    ['a word', 'yesterday', ENTRY_TIME, /timestamp "yesterday" is not a time: the entry's time is used/],
    ['missing', undefined, ENTRY_TIME, /timestamp is missing: the entry's time is used/],
  ])('a messaging item whose timestamp is %s is read, at the best time it has, with a note', (_name, timestamp, expected, note) => {
    const item: Record<string, unknown> = { sender: { id: CUSTOMER }, recipient: { id: IG }, message: { mid: 't.1', text: 'hi' } };
    if (timestamp !== undefined) item.timestamp = timestamp;
    const event = splitOne(item);
    expect(event).toMatchObject({ kind: 'message', eventKey: 'message:t.1', occurredAt: expected });
    expect(parsedPayload(event)).toEqual(item);
    expect(event.problem).toMatch(note);
  });

  it('keys a time-keyed event without a usable timestamp by its content, so a redelivery is still recognised', () => {
    const reaction = { sender: { id: CUSTOMER }, recipient: { id: IG }, timestamp: 'n/a', reaction: { mid: 'k.1', action: 'react', reaction: 'like' } };
    const first = only(splitWebhookPayload(envelope([entry([reaction])]), RECEIVED_AT).events);
    // Redelivered later: another entry time, the same event.
    const again = only(splitWebhookPayload(envelope([entry([reaction], { time: ENTRY_TIME + 60_000 })]), RECEIVED_AT + 60_000).events);
    expect(first.kind).toBe('reaction');
    expect(first.eventKey).toMatch(new RegExp(`^reaction:${CUSTOMER}:k\\.1:react:sha256-[0-9a-f]{64}$`));
    expect(again.eventKey).toBe(first.eventKey);
    expect(again.occurredAt).toBe(ENTRY_TIME + 60_000);
  });

  it('keys the same event the same way whether its time came as ms or as seconds-precise ms', () => {
    const inMs = splitOne(fromCustomer({ reaction: { mid: 'k.2', action: 'react', reaction: 'like' } }, 1569262485000));
    const inSeconds = splitOne(fromCustomer({ reaction: { mid: 'k.2', action: 'react', reaction: 'like' } }, 1569262485));
    expect(inSeconds.eventKey).toBe(inMs.eventKey);
  });
});

describe('splitWebhookDelivery: times out of range', () => {
  it.each<[string, string, string]>([
    ['0', '0', '0'],
    ['-0', '-0', '-0'],
    ['9e15', '9e15', '9000000000000000'],
    ['before Instagram began (2001, in seconds)', '1000000000', '1000000000'],
    ['two years after its receipt', String(RECEIVED_AT + 2 * 366 * 24 * 3600 * 1000), String(RECEIVED_AT + 2 * 366 * 24 * 3600 * 1000)],
  ])('a timestamp of %s falls back to the entry time, keeps the value as sent in the note and the text', (_name, written, shown) => {
    const text = `{"object":"instagram","entry":[{"id":"${IG}","time":${ENTRY_TIME},"messaging":[{"sender":{"id":"${CUSTOMER}"},"recipient":{"id":"${IG}"},"timestamp":${written},"message":{"mid":"r.1","text":"hi"}}]}]}`;
    const result = splitWebhookDelivery(text, RECEIVED_AT);
    if (result.outcome !== 'events') throw new Error(result.outcome);
    const event = only(result.events);
    expect(event).toMatchObject({ kind: 'message', eventKey: 'message:r.1', occurredAt: ENTRY_TIME });
    expect(event.problem).toMatch(new RegExp(`^timestamp ${shown.replace('-', '\\-')} is out of range \\((.*Z|not a date)\\): the entry's time is used$`));
    expect(event.payload).toContain(`"timestamp":${written}`);
  });

  it('falls back to the time of receipt when the entry time is out of range as well', () => {
    const event = splitOne(fromCustomer({ message: { mid: 'r.2', text: 'hi' } }, 0));
    expect(event.occurredAt).toBe(ENTRY_TIME);
    const result = splitWebhookPayload(envelope([entry([fromCustomer({ message: { mid: 'r.3', text: 'hi' } }, 0)], { time: 9e15 })]), RECEIVED_AT);
    expect(only(result.events)).toMatchObject({ occurredAt: RECEIVED_AT, problem: expect.stringMatching(/entry\[0\]\.time 9000000000000000 is out of range \(not a date\): the time of receipt is used/) });
  });

  it('keys a time-keyed event by its time as sent even out of range, so a redelivery is recognised', () => {
    const first = splitOne(fromCustomer({ reaction: { mid: 'r.4', action: 'react' } }, 0));
    expect(first.eventKey).toBe(`reaction:${CUSTOMER}:r.4:react:0`);
  });
});

describe('splitWebhookDelivery: whatever Meta signs is kept as its own text', () => {
  const itemText = (extra: string) => `{"sender":{"id":"${CUSTOMER}"},"recipient":{"id":"${IG}"},"timestamp":${TS},"message":{"mid":"h.1","text":"hi"${extra}}}`;
  const delivery = (items: string) => `{"object":"instagram","entry":[{"id":"${IG}","time":${ENTRY_TIME},"messaging":[${items}]}]}`;
  const split = (text: string): SplitEvent[] => {
    const result = splitWebhookDelivery(text, RECEIVED_AT);
    if (result.outcome !== 'events') throw new Error(result.outcome);
    return result.events;
  };

  it.each<[string, string]>([
    ['a key holding NUL', ',"a\\u0000b":1,"$x.y":{"c\\u0000":[1]}'],
    ['arrays in arrays', ',"grid":[[1,[2,[3]]],[]]'],
    ['spacing and escapes', ' , "note" : "\\/ \\"quoted\\" \\\\" '],
  ])('reads a message with %s and keeps its text byte for byte', (_name, extra) => {
    const item = itemText(extra);
    const event = only(split(delivery(item)));
    expect(event).toMatchObject({ kind: 'message', eventKey: 'message:h.1', problem: null });
    expect(event.payload).toBe(item);
  });

  it('keeps an item nested 10,000 deep unread, as an unknown event that says why, and reads its neighbours', () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const item = itemText(`,"deep":${deep}`);
    const events = split(delivery(`${item},${itemText('').replace('h.1', 'h.2')}`));
    expect(events.map((event) => event.kind)).toEqual(['unknown', 'message']);
    expect(events[0]).toMatchObject({ igAccountId: IG, payload: item, problem: 'entry[0].messaging[0] nests 10002 levels deep; an event may nest at most 32' });
    expect(events[0]!.eventKey).toBe(`unknown:${sha256Hex(item)}`);
  });

  it('keeps an entry whose id nests 10,000 deep as one unknown event with its text', () => {
    const entryText = `{"id":${'['.repeat(10_000)}${']'.repeat(10_000)},"messaging":[]}`;
    const [event] = split(`{"object":"instagram","entry":[${entryText}]}`);
    expect(event).toMatchObject({ kind: 'unknown', payload: entryText, problem: 'entry[0]: id: expected an id as a string of digits, not an array' });
    expect(event!.eventKey).toBe(`unknown:${sha256Hex(entryText)}`);
  });

  it('keeps an item larger than an event may be unread', () => {
    const item = itemText(`,"pad":"${'x'.repeat(MAX_EVENT_CHARS)}"`);
    expect(only(split(delivery(item)))).toMatchObject({ kind: 'unknown', problem: expect.stringMatching(/is \d+ characters long; an event may be at most/) });
  });

  it('takes the last of repeated keys, as JSON.parse does', () => {
    const text = `{"object":"instagram","entry":[],"entry":[{"id":"${IG}","messaging":[{"x":1}],"messaging":[${itemText('')}]}]}`;
    expect(only(split(text))).toMatchObject({ kind: 'message', payload: itemText('') });
  });
});

describe('readStoredPayload', () => {
  it('reads the text stored now and the object stored before, and nothing beyond the bounds', () => {
    expect(readStoredPayload('{"message":{"mid":"x"}}')).toEqual({ message: { mid: 'x' } });
    expect(readStoredPayload({ message: { mid: 'x', '\uff04type': 1 } })).toEqual({ message: { mid: 'x', '\uff04type': 1 } });
    expect(readStoredPayload(`{"a":${'['.repeat(MAX_EVENT_DEPTH)}${']'.repeat(MAX_EVENT_DEPTH)}}`)).toBeNull();
    expect(readStoredPayload('{not json')).toBeNull();
    expect(readStoredPayload('[1]')).toBeNull();
    expect(readStoredPayload(null)).toBeNull();
  });
});

describe('editNumberOf', () => {
  it.each<[unknown, number]>([
    [1, 1],
    [4, 4],
    ['2', 2],
    [' 3 ', 3],
    // Absent or unreadable: the first edit.
    [undefined, 1],
    [null, 1],
    ['two', 1],
    [0, 1],
    [-2, 1],
    [1.5, 1],
    ['', 1],
  ])('reads num_edit %p as %p', (value, expected) => {
    expect(editNumberOf(value)).toBe(expected);
  });
});

describe('projectMessage', () => {
  const project = (message: Record<string, unknown>, occurredAt = TS) => projectMessage(fromCustomer({ message: { mid: 'm.p', ...message } }), occurredAt);
  const link = (type: string, url: string | null, extra: Record<string, unknown> = {}) => ({ type, url, title: null, mediaId: null, ...extra });

  it('keeps text with @mentions and #hashtags verbatim, non-ASCII and emoji included', () => {
    const text = '@anna.b_92 look at #SummerSale 🌞 — #café @josé_ü 👩🏽‍💻 ¿qué? 日本語 #タグ';
    expect(project({ text })).toEqual({ kind: 'text', text, attachments: [], story: null, replyToMid: null, quickReplyPayload: null });
  });

  it('keeps the quick-reply payload alongside the button title', () => {
    expect(project({ text: 'Yes please', quick_reply: { payload: 'CONFIRM_ORDER_42' } })).toMatchObject({ kind: 'text', text: 'Yes please', quickReplyPayload: 'CONFIRM_ORDER_42' });
  });

  it('keeps the mid a message replies to', () => {
    expect(project({ text: 'this one', reply_to: { mid: 'm.original' } })).toMatchObject({ kind: 'text', replyToMid: 'm.original', story: null });
  });

  it.each([
    ['an image', { type: 'image', payload: { url: 'https://cdn.example/p.jpg' } }, 'image', link('image', 'https://cdn.example/p.jpg')],
    ['a GIF (sent as an image)', { type: 'image', payload: { url: 'https://cdn.example/a.gif' } }, 'image', link('image', 'https://cdn.example/a.gif')],
    ['a sticker (sent as an image)', { type: 'image', payload: { url: 'https://cdn.example/s.png', sticker_id: 369239263222822 } }, 'image', link('image', 'https://cdn.example/s.png')],
    ['a video', { type: 'video', payload: { url: 'https://cdn.example/v.mp4' } }, 'video', link('video', 'https://cdn.example/v.mp4')],
    ['a voice message', { type: 'audio', payload: { url: 'https://cdn.example/voice.mp4' } }, 'audio', link('audio', 'https://cdn.example/voice.mp4')],
    ['a file', { type: 'file', payload: { url: 'https://cdn.example/doc.pdf' } }, 'file', link('file', 'https://cdn.example/doc.pdf')],
    ['a reel (ig_reel)', { type: 'ig_reel', payload: { url: 'https://cdn.example/r', title: 'funny #cats', reel_video_id: '1789' } }, 'reel_share', link('reel', 'https://cdn.example/r', { title: 'funny #cats', mediaId: '1789' })],
    ['a reel (reel)', { type: 'reel', payload: { url: 'https://cdn.example/r2', title: 'dance', reel_video_id: 1790 } }, 'reel_share', link('reel', 'https://cdn.example/r2', { title: 'dance', mediaId: '1790' })],
    ['a shared story (ig_story)', { type: 'ig_story', payload: { story_media_id: '1801', story_media_url: 'https://cdn.example/st' } }, 'story_share', link('story', 'https://cdn.example/st', { mediaId: '1801' })],
    ['a legacy post share', { type: 'share', payload: { url: 'https://cdn.example/post' } }, 'post_share', link('post', 'https://cdn.example/post')],
    ['a link share (fallback) with no payload', { type: 'fallback' }, 'link', link('link', null)],
    ['a media attachment', { type: 'media', payload: { url: 'https://cdn.example/m' } }, 'link', link('link', 'https://cdn.example/m')],
  ])('shows %s as a link of its kind', (_name, attachment, kind, expected) => {
    const projection = project({ attachments: [attachment] });
    expect(projection.kind).toBe(kind);
    expect(projection.attachments).toEqual([expected]);
    expect(projection.story).toBeNull();
  });

  it('keeps a caption sent with an image', () => {
    expect(project({ text: 'look #new', attachments: [{ type: 'image', payload: { url: 'u' } }] })).toMatchObject({ kind: 'image', text: 'look #new' });
  });

  it('keeps every image of a multi-image message, the kind following the first attachment', () => {
    const projection = project({
      attachments: [
        { type: 'image', payload: { url: 'u1' } },
        { type: 'image', payload: { url: 'u2' } },
        { type: 'video', payload: { url: 'u3' } },
      ],
    });
    expect(projection.kind).toBe('image');
    expect(projection.attachments.map((a) => [a.type, a.url])).toEqual([
      ['image', 'u1'],
      ['image', 'u2'],
      ['video', 'u3'],
    ]);
  });

  it('shows a story mention as a story reference that expires 24 hours after the event', () => {
    const occurredAt = 1_795_305_599_871;
    const projection = project({ attachments: [{ type: 'story_mention', payload: { url: 'https://cdn.example/story' } }] }, occurredAt);
    expect(projection.kind).toBe('story_mention');
    expect(projection.attachments).toEqual([link('story', 'https://cdn.example/story')]);
    expect(projection.story).toEqual({ id: null, url: 'https://cdn.example/story', expiresAt: occurredAt + 24 * 60 * 60 * 1000 });
  });

  it('shows a story reply with the story link, its id and its expiry, and the reply text', () => {
    const occurredAt = 1_795_305_599_871;
    const projection = project({ text: 'love this 😍', reply_to: { story: { url: 'https://cdn.example/s/9', id: 'story.9' } } }, occurredAt);
    expect(projection).toEqual({
      kind: 'story_reply',
      text: 'love this 😍',
      attachments: [],
      story: { id: 'story.9', url: 'https://cdn.example/s/9', expiresAt: occurredAt + STORY_LIFETIME_MS },
      replyToMid: null,
      quickReplyPayload: null,
    });
  });

  it('takes a numeric story id as a string', () => {
    expect(project({ text: 'hi', reply_to: { story: { url: 'u', id: 179000001 } } }).story?.id).toBe('179000001');
  });

  describe('a post share (share + ig_post since 2025-11-03) is ONE post', () => {
    const url = 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18139494541428835';
    const share = { type: 'share', payload: { url } };
    const igPost = { type: 'ig_post', payload: { url, title: 'New #collection by @studio', ig_post_media_id: '18139494541428835' } };
    const expected = [{ type: 'post', url, title: 'New #collection by @studio', mediaId: '18139494541428835' }];

    it('share then ig_post: one attachment with the caption and media id of the ig_post', () => {
      const projection = project({ attachments: [share, igPost] });
      expect(projection.kind).toBe('post_share');
      expect(projection.attachments).toEqual(expected);
    });

    it('ig_post then share: the same one attachment', () => {
      expect(project({ attachments: [igPost, share] }).attachments).toEqual(expected);
    });

    it('both carrying the metadata (as in Meta\'s example): one attachment', () => {
      expect(project({ attachments: [{ type: 'share', payload: igPost.payload }, igPost] }).attachments).toEqual(expected);
    });

    it('the pair told apart by media id when the links differ', () => {
      const projection = project({ attachments: [{ type: 'share', payload: { url: `${url}&sig=a`, ig_post_media_id: '18139494541428835' } }, igPost] });
      expect(projection.attachments).toHaveLength(1);
      expect(projection.attachments[0]).toMatchObject({ type: 'post', title: 'New #collection by @studio', mediaId: '18139494541428835' });
    });

    it('the pair told apart by their types when the signed links differ and the share has no media id', () => {
      const projection = project({ attachments: [{ type: 'share', payload: { url: `${url}&sig=a` } }, { type: 'ig_post', payload: { ...igPost.payload, url: `${url}&sig=b` } }] });
      expect(projection.attachments).toEqual([{ type: 'post', url: `${url}&sig=a`, title: 'New #collection by @studio', mediaId: '18139494541428835' }]);
    });

    it('a pair pairs once: a further ig_post is another post', () => {
      const other = { type: 'ig_post', payload: { url: 'https://cdn.example/other', title: 'other', ig_post_media_id: '999' } };
      expect(project({ attachments: [share, igPost, other] }).attachments.map((a) => a.mediaId)).toEqual(['18139494541428835', '999']);
    });

    it('two different posts stay two', () => {
      const other = { type: 'ig_post', payload: { url: 'https://cdn.example/other', title: 'other', ig_post_media_id: '999' } };
      expect(project({ attachments: [igPost, other] }).attachments).toHaveLength(2);
    });
  });

  it('shows disappearing (ephemeral) media as unsupported', () => {
    expect(project({ attachments: [{ type: 'ephemeral' }] })).toMatchObject({ kind: 'unsupported', attachments: [] });
  });

  it('shows a message Meta flags is_unsupported as unsupported', () => {
    expect(project({ is_unsupported: true })).toMatchObject({ kind: 'unsupported', story: null });
  });

  it('keeps an attachment of a type it does not know as a link, never drops it', () => {
    const projection = project({ attachments: [{ type: 'avatar_sticker_v2', payload: { url: 'https://cdn.example/new' } }] });
    expect(projection.kind).toBe('link');
    expect(projection.attachments).toEqual([link('link', 'https://cdn.example/new')]);
  });

  it('reads a type named like an Object member as an unknown type', () => {
    expect(project({ attachments: [{ type: 'constructor', payload: { url: 'u' } }] })).toMatchObject({ kind: 'link', attachments: [link('link', 'u')] });
  });

  it('keeps an attachment whose payload has unexpected values as an attachment, never drops it', () => {
    const projection = project({
      attachments: [
        { type: 'ig_reel', payload: { url: 'https://cdn.example/r', title: null, reel_video_id: '17' } },
        { type: 'image', payload: 'not an object' },
        'not even an object',
      ],
    });
    expect(projection.attachments).toHaveLength(3);
    expect(projection.kind).toBe('reel_share');
    expect(projection.attachments[0]).toEqual(link('reel', 'https://cdn.example/r', { mediaId: '17' }));
    expect(projection.attachments[1]).toMatchObject({ type: 'image', url: null });
    expect(projection.attachments[2]).toEqual(link('link', null));
  });

  it('keeps the text of a message whose quick reply or reply_to it cannot read', () => {
    expect(project({ text: 'still here', quick_reply: { title: 'no payload' }, reply_to: 'x' })).toMatchObject({ kind: 'text', text: 'still here', quickReplyPayload: null, replyToMid: null });
  });

  it('projects an echo like a message', () => {
    const echo = { sender: { id: IG }, recipient: { id: CUSTOMER }, timestamp: TS, message: { mid: 'e.9', text: 'from the app', is_echo: true } };
    expect(projectMessage(echo, TS)).toMatchObject({ kind: 'text', text: 'from the app' });
  });

  it('answers unsupported for a payload without a message', () => {
    expect(projectMessage({ sender: { id: CUSTOMER } }, TS)).toMatchObject({ kind: 'unsupported', text: null, attachments: [] });
    expect(projectMessage(null, TS)).toMatchObject({ kind: 'unsupported' });
  });
});

describe('movesWindow', () => {
  it.each<[InboundEventKind, boolean]>([
    ['message', true],
    ['postback', true],
    ['referral', true],
    ['echo', false],
    ['deleted', false],
    ['reaction', false],
    ['read', false],
    ['edit', false],
    ['change', false],
    ['unknown', false],
  ])('%s → %s', (kind, moves) => {
    expect(movesWindow(kind)).toBe(moves);
  });
});
