/** The webhook sender's batching window and shutdown, with a recording fetch standing in for the receiver. */
import { createClock } from '../../emulator/clock';
import { EmulatorState } from '../../emulator/state';
import { parseWebhookPayload, type MessagingEvent } from '../../emulator/webhook-schema';
import { createWebhookSender } from '../../emulator/webhook-sender';
import { createLogger } from '../../emulator/logger';

function world() {
  const clock = createClock();
  const state = new EmulatorState(clock);
  state.addApp({ id: '1', secret: 'secret-1', callbackUrl: 'http://receiver.test/webhooks' });
  const { pages, igAccounts } = state.seedBusiness({
    user: { name: 'Owner', email: 'owner@example.com', password: 'pw' },
    business: { name: 'Shop' },
    pages: [{ name: 'Shop', igAccount: { username: 'shop', name: 'Shop' } }],
  });
  pages[0]!.subscribedApps.set('1', ['messages']);
  const posts: string[] = [];
  const fetchImpl = (async (_url: unknown, init?: { body?: unknown }) => {
    posts.push(String(init?.body));
    return new Response('ok', { status: 200 });
  }) as typeof fetch;
  const sender = createWebhookSender({ clock, state, logger: createLogger({ write: () => undefined }), fetchImpl });
  const igAccountId = igAccounts[0]!.id;
  const event = (text: string): MessagingEvent => ({
    sender: { id: '555' },
    recipient: { id: igAccountId },
    timestamp: clock.now(),
    message: { mid: `mid-${text}`, text },
  });
  return { sender, posts, igAccountId, event };
}

describe('createWebhookSender', () => {
  it('collects events published within the batch window into one POST', async () => {
    const { sender, posts, igAccountId, event } = world();
    sender.setSwitches({ batchSize: 10, batchWindowMs: 30 });
    for (const text of ['a', 'b', 'c']) expect(sender.publish({ igAccountId, field: 'messages', event: event(text) })).toBe(1);
    expect(await sender.waitForIdle(2_000)).toBe(true);
    expect(posts).toHaveLength(1);
    expect(parseWebhookPayload(posts[0]!).entry.map((entry) => entry.messaging?.[0]?.message?.text)).toEqual(['a', 'b', 'c']);
    await sender.close();
  });

  it('queues nothing for a field the app did not choose', async () => {
    const { sender, igAccountId, event } = world();
    expect(sender.publish({ igAccountId, field: 'messaging_optins', event: event('x') })).toBe(0);
    await sender.close();
  });

  it('closes promptly with deliveries still delayed, and sends nothing afterwards', async () => {
    const { sender, posts, igAccountId, event } = world();
    sender.setSwitches({ delayMs: 60_000 });
    sender.publish({ igAccountId, field: 'messages', event: event('late') });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    await sender.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(posts).toHaveLength(0);
    expect(sender.publish({ igAccountId, field: 'messages', event: event('after') })).toBe(0);
  });
});
