/** Meta's documentation examples, as raw bytes, through the emulator's own webhook parser. */
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeLikeMeta, signatureSha256 } from '../../emulator/meta-json';
import { parseWebhookPayload, WebhookPayloadError } from '../../emulator/webhook-schema';

const fixtureDir = join(__dirname, '..', 'fixtures', 'meta');
const fixtures = readdirSync(fixtureDir).filter((name) => name.endsWith('.json'));
const raw = (name: string): Buffer => readFileSync(join(fixtureDir, name));

describe('Meta documentation fixtures', () => {
  it('there is a fixture for each messaging event kind the engine handles', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(12);
  });

  it.each(fixtures)('%s is accepted from its raw bytes', (name) => {
    const payload = parseWebhookPayload(raw(name));
    expect(payload.object).toBe('instagram');
    const event = payload.entry[0]?.messaging?.[0];
    expect(event?.sender.id).toEqual(expect.any(String));
    expect(event?.timestamp).toEqual(expect.any(Number));
  });

  it('parses the documented reaction, read, postback and referral shapes', () => {
    expect(parseWebhookPayload(raw('message-reactions.json')).entry[0]?.messaging?.[0]?.reaction).toEqual({
      mid: 'MESSAGE-ID',
      action: 'react',
      reaction: 'love',
      emoji: '\u2764\ufe0f',
    });
    expect(parseWebhookPayload(raw('messaging-seen.json')).entry[0]?.messaging?.[0]?.read).toEqual({ mid: 'LAST-MESSAGE-ID-READ' });
    expect(parseWebhookPayload(raw('messaging-postbacks.json')).entry[0]?.messaging?.[0]?.postback?.payload).toBe('CUSTOMER-RESPONSE-PAYLOAD');
    expect(parseWebhookPayload(raw('messaging-referral.json')).entry[0]?.messaging?.[0]?.referral?.type).toBe('OPEN_THREAD');
    expect(parseWebhookPayload(raw('messages-story-reply.json')).entry[0]?.messaging?.[0]?.message?.reply_to?.story?.id).toBe('STORY-ID');
  });

  it('re-serializes the wire fixture to exactly the same bytes, so its signature holds', () => {
    const bytes = raw('wire-escaped-text.json');
    const payload = parseWebhookPayload(bytes);
    const again = Buffer.from(serializeLikeMeta(JSON.parse(bytes.toString('utf8'))), 'utf8');
    expect(again.equals(bytes)).toBe(true);
    expect(payload.entry[0]?.messaging?.[0]?.message?.text).toBe('Grüße aus München 😀 https://example.com/a/b');
    const independent = `sha256=${createHmac('sha256', 'fixture-secret').update(bytes).digest('hex')}`;
    expect(signatureSha256('fixture-secret', again)).toBe(independent);
  });
});

describe('the parser refuses what Meta never sends', () => {
  const valid = JSON.parse(raw('messages-text.json').toString('utf8')) as { object: string; entry: Array<Record<string, unknown>> };

  it.each([
    ['another object', { ...valid, object: 'page' }, /object/],
    ['no entries', { ...valid, entry: [] }, /entry/],
    ['more than 1,000 entries', { ...valid, entry: Array.from({ length: 1001 }, () => valid.entry[0]) }, /entry/],
    ['a numeric id', { ...valid, entry: [{ ...valid.entry[0], id: 178414000001 }] }, /entry\.0\.id/],
    ['a time in seconds as a string', { ...valid, entry: [{ ...valid.entry[0], time: '1569262486' }] }, /time/],
    [
      'an event with no kind',
      { ...valid, entry: [{ ...valid.entry[0], messaging: [{ sender: { id: 'a' }, recipient: { id: 'b' }, timestamp: 1 }] }] },
      /messaging event carries one of/,
    ],
  ])('%s', (_label, payload, problem) => {
    expect(() => parseWebhookPayload(JSON.stringify(payload))).toThrow(problem);
  });

  it('bytes that are not JSON', () => {
    expect(() => parseWebhookPayload(Buffer.from('{"object":'))).toThrow(WebhookPayloadError);
  });
});
