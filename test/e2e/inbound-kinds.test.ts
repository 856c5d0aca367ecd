/**
 * Every kind of inbound event, end to end: the emulator's customers act on Instagram, the emulator delivers
 * Meta's signed webhooks to the real API, the conversation workflow records them on the real Temporal server,
 * and the inbox API shows the result (B1–B11).
 */
import { readableHistory } from '../support/history-text';
import { DEMO, startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';

jest.setTimeout(120_000);

const MINA = DEMO.customers[0].username;
const ANON = DEMO.customers[1].username;

describe('inbound events become conversations', () => {
  let world: InboundWorld;

  beforeAll(async () => {
    // Every message refreshes the profile, so a changed username shows on the very next one (B10).
    world = await startInboundWorld({ engineEnv: { PROFILE_STALE_AFTER_SECONDS: '0' } });
  });

  afterAll(async () => {
    await world?.close();
  });

  /** Sends one action and waits until the inbox shows `count` messages for that customer. */
  async function act(action: Record<string, unknown>, count: number, username: string = MINA): Promise<{ sent: { igsid: string; mid?: string; timestamp: number }; messages: Json[] }> {
    const sent = await world.customer(action, username);
    const messages = await world.messagesOf(sent.igsid, count);
    return { sent, messages };
  }

  /** The customer as the inbox shows it, once the profile (fetched beside the message) has arrived. */
  function profileOf(igsid: string, username: string): Promise<Json> {
    return world.eventually(async () => {
      const { body } = await world.inbox(`/v1/customers/${DEMO.igAccount.id}/${igsid}`);
      return body.customer.username === username ? body.customer : undefined;
    }, 20_000, `the profile of ${username}`);
  }

  let minaIgsid = '';
  let count = 0;

  it('a text message opens a conversation with the customer profile, keeping @mentions and #hashtags', async () => {
    const text = 'Hi @demo.shop, is the #blue dress in stock? 안녕하세요 👋';
    const { sent, messages } = await act({ kind: 'text', text }, ++count);
    minaIgsid = sent.igsid;
    expect(messages[0]).toMatchObject({ mid: sent.mid, direction: 'inbound', senderType: 'customer', kind: 'text', text, deleted: false });
    expect(messages[0].sentAt).toBe(new Date(sent.timestamp).toISOString());

    const conversation = await world.conversationOf(sent.igsid);
    expect(conversation).toMatchObject({ state: 'open', igAccountId: DEMO.igAccount.id, igsid: sent.igsid });
    expect(Date.parse(conversation.windowClosesAt)).toBe(sent.timestamp + 7 * 24 * 3600 * 1000);

    const customer = await profileOf(sent.igsid, MINA);
    expect(customer).toMatchObject({ username: MINA, name: DEMO.customers[0].name, anonymous: false, displayName: DEMO.customers[0].name });
    expect(customer.profilePicUrl).toMatch(/^http/);
    expect(customer.usernameHistory.map((entry: Json) => entry.username)).toEqual([MINA]);

    const list = await world.inbox(`/v1/channels/${world.channelId}/conversations?state=open&igAccountId=${DEMO.igAccount.id}`);
    expect(list.body.conversations.map((c: Json) => c.igsid)).toContain(sent.igsid);
    expect(list.body.conversations.find((c: Json) => c.igsid === sent.igsid).customer.username).toBe(MINA);
  });

  it('a customer without name or picture is anonymous', async () => {
    const { sent } = await act({ kind: 'text', text: 'hello' }, 1, ANON);
    expect(await profileOf(sent.igsid, ANON)).toMatchObject({ username: ANON, anonymous: true, displayName: 'Anonymous' });
  });

  it.each([
    ['image', 'image', 'image'],
    ['gif', 'image', 'image'],
    ['video', 'video', 'video'],
    ['audio', 'audio', 'audio'],
    ['file', 'file', 'file'],
  ])('%s arrives as a link (%s)', async (action, kind, attachmentType) => {
    const { sent, messages } = await act({ kind: action }, ++count);
    const message = messages.find((m) => m.mid === sent.mid);
    expect(message).toMatchObject({ kind, text: null });
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0].type).toBe(attachmentType);
    expect(message.attachments[0].url).toMatch(/^http/);
  });

  it('a story reply carries the story link and its 24-hour expiry', async () => {
    const story = await world.control('POST', `/ig-accounts/${DEMO.igAccount.id}/stories`, {});
    const { sent, messages } = await act({ kind: 'story_reply', text: 'Love this!', storyId: story.body.id }, ++count);
    const message = messages.find((m) => m.mid === sent.mid);
    expect(message).toMatchObject({ kind: 'story_reply', text: 'Love this!', placeholder: null });
    expect(message.story).toMatchObject({ id: story.body.id, available: true });
    expect(message.story.url).toMatch(/^http/);
    expect(Date.parse(message.story.expiresAt)).toBe(sent.timestamp + 24 * 3600 * 1000);
  });

  it('says when a story is no longer available (24 hours after)', async () => {
    const story = await world.control('POST', `/ig-accounts/${DEMO.igAccount.id}/stories`, {});
    const { sent } = await act({ kind: 'story_reply', text: 'still there?', storyId: story.body.id }, ++count);
    // The story's 24 hours are over: what the inbox shows is decided by the expiry it stored, read at request time.
    await world.engine.models.messages.updateOne({ _id: sent.mid }, { $set: { 'story.expiresAt': Date.now() - 1000 } });
    const messages = await world.messagesOf(sent.igsid, count);
    expect(messages.find((m) => m.mid === sent.mid)).toMatchObject({ kind: 'story_reply', text: 'still there?', story: { available: false }, placeholder: 'This story is no longer available.' });
  });

  it('a story mention, a post share and a reel share arrive as messages', async () => {
    const mention = await act({ kind: 'story_mention' }, ++count);
    expect(mention.messages.find((m) => m.mid === mention.sent.mid)).toMatchObject({ kind: 'story_mention', story: { available: true } });

    const post = await act({ kind: 'post_share', caption: 'this one' }, ++count);
    const postMessage = post.messages.find((m) => m.mid === post.sent.mid);
    expect(postMessage.kind).toBe('post_share');
    expect(postMessage.attachments).toHaveLength(1);
    expect(postMessage.attachments[0]).toMatchObject({ type: 'post' });

    const reel = await act({ kind: 'reel_share', title: 'funny' }, ++count);
    expect(reel.messages.find((m) => m.mid === reel.sent.mid)).toMatchObject({ kind: 'reel_share', attachments: [expect.objectContaining({ type: 'reel' })] });
  });

  it('skips story mentions and shared posts when the account says so, recording the skip (A11)', async () => {
    await world.engine.models.linkedAccounts.updateOne({ _id: DEMO.igAccount.id }, { $set: { settings: { openOnStoryMention: false, openOnPostShare: false } } });
    // The worker keeps an account's link for up to 5 s.
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    const mention = await world.customer({ kind: 'story_mention' });
    const post = await world.customer({ kind: 'post_share', caption: 'look' });
    for (const mid of [mention.mid, post.mid]) {
      const event = await world.eventually(async () => {
        const stored = await world.engine.models.webhookEvents.findOne({ _id: `message:${mid}` }).lean();
        return stored?.status === 'skipped' ? stored : undefined;
      }, 20_000, 'the skip to be recorded');
      expect(event.skipReason).toMatch(/do not open conversations for this account \(A11\)/);
    }
    expect(await world.engine.models.messages.countDocuments({ _id: { $in: [mention.mid, post.mid] } })).toBe(0);
    await world.engine.models.linkedAccounts.updateOne({ _id: DEMO.igAccount.id }, { $set: { settings: { openOnStoryMention: true, openOnPostShare: true } } });
    await new Promise((resolve) => setTimeout(resolve, 5_100));
  });

  it('an unsupported (vanish mode) message is shown as a placeholder, not lost', async () => {
    const { sent, messages } = await act({ kind: 'unsupported' }, ++count);
    const message = messages.find((m) => m.mid === sent.mid);
    expect(message.kind).toBe('unsupported');
    expect(message.placeholder).toMatch(/cannot be shown/);
  });

  it('a postback (button tap) shows as the customer message it is', async () => {
    const { sent, messages } = await act({ kind: 'postback', title: 'Track my order', payload: 'TRACK' }, ++count);
    expect(messages.find((m) => m.mid === sent.mid)).toMatchObject({ kind: 'postback', text: 'Track my order' });
  });

  it('reactions and read receipts are recorded, not shown as messages', async () => {
    const { sent: target } = await act({ kind: 'text', text: 'react to me' }, ++count);
    await world.customer({ kind: 'reaction', mid: target.mid, reaction: 'love', emoji: '❤️' });
    const reacted = await world.eventually(async () => {
      const messages = await world.messagesOf(minaIgsid, count);
      const message = messages.find((m) => m.mid === target.mid);
      return message.reaction ? messages : undefined;
    }, 20_000, 'the reaction');
    expect(reacted).toHaveLength(count);
    expect(reacted.find((m) => m.mid === target.mid).reaction).toMatchObject({ reaction: 'love', emoji: '❤️' });

    await world.customer({ kind: 'read', mid: target.mid });
    const conversation = await world.conversationOf(minaIgsid);
    await world.eventually(async () => {
      const stored = await world.engine.models.conversations.findOne({ conversationId: conversation.conversationId }).lean();
      return stored?.lastReadMid === target.mid ? true : undefined;
    }, 20_000, 'the read receipt');
    expect(await world.messagesOf(minaIgsid, count)).toHaveLength(count);
    const events = await world.engine.models.webhookEvents.find({ kind: { $in: ['reaction', 'read'] } }).lean();
    expect(events.map((e) => e.status).sort()).toEqual(['recorded', 'recorded']);
  });

  it('an unsent message is marked deleted and its content dropped', async () => {
    const { sent } = await act({ kind: 'text', text: 'oops, wrong chat' }, ++count);
    await world.customer({ kind: 'unsend', mid: sent.mid });
    const messages = await world.eventually(async () => {
      const list = await world.messagesOf(minaIgsid, count);
      return list.find((m) => m.mid === sent.mid).deleted ? list : undefined;
    }, 20_000, 'the unsend');
    expect(messages).toHaveLength(count);
    expect(messages.find((m) => m.mid === sent.mid)).toMatchObject({ deleted: true, text: null, placeholder: 'This message was unsent by the customer.' });
  });

  it('a reply made in the Instagram app appears in the ongoing conversation as the bot', async () => {
    const reply = await world.control('POST', `/ig-accounts/${DEMO.igAccount.id}/app-replies`, { to: { username: MINA }, text: 'Yes, it is in stock!' });
    expect(reply.status).toBe(201);
    const messages = await world.messagesOf(minaIgsid, ++count);
    expect(messages.find((m) => m.mid === reply.body.mid)).toMatchObject({ direction: 'outbound', senderType: 'bot', text: 'Yes, it is in stock!', status: 'sent' });
  });

  it("an echo of this app's send that the inbox does not know is kept as not shown, never as a message", async () => {
    // Sent with the app's token but not through the inbox: no reply of the inbox matches it.
    const sent = await world.graph.sendMessage({ accessToken: world.pageToken, recipientId: minaIgsid, message: { kind: 'text', text: 'sent through the API' } });
    const event = await world.eventually(async () => {
      const stored = await world.engine.models.webhookEvents.findOne({ eventKey: `echo:${sent.messageId}` }).lean();
      return stored?.status === 'skipped' ? stored : undefined;
    }, 20_000, 'the echo to be kept as not shown');
    expect(event.skipReason).toMatch(/this app sent/);
    const messages = await world.messagesOf(minaIgsid, count);
    expect(messages).toHaveLength(count);
    expect(messages.some((m) => m.mid === sent.messageId)).toBe(false);
  });

  it('a changed username shows on the next message, and the old one stays in the history', async () => {
    await world.control('PATCH', `/ig-users/${DEMO.customers[0].id}`, { username: 'mina.renamed' });
    await world.customer({ kind: 'text', text: 'new handle, same me' }, 'mina.renamed');
    const customer = await profileOf(minaIgsid, 'mina.renamed');
    expect(customer.usernameHistory.map((entry: Json) => entry.username)).toEqual([MINA, 'mina.renamed']);
    const conversation = await world.conversationOf(minaIgsid);
    expect(conversation.igsid).toBe(minaIgsid);
  });

  it('is searchable in Temporal by channel, account, customer and state, with no message text in the history', async () => {
    const conversation = await world.conversationOf(minaIgsid);
    const handle = world.engine.temporal.workflow.getHandle(conversation.workflowId);
    const description = await handle.describe();
    expect(description.typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value])).toEqual(
      expect.arrayContaining([
        ['ChannelId', world.channelId],
        ['IgAccountId', DEMO.igAccount.id],
        ['CustomerIgsid', minaIgsid],
        ['ConversationState', 'open'],
      ]),
    );
    const history = await readableHistory(handle);
    // The history does hold the events' ids (decoded payloads are searched too), but no content.
    expect(history).toMatch(/"eventIds":\[\s*"message:/);
    for (const secret of ['Hi @demo.shop', 'is the #blue dress', 'oops, wrong chat', 'Yes, it is in stock!', world.pageToken, MINA, 'Mina Park']) {
      expect(history).not.toContain(secret);
    }
  });
});
