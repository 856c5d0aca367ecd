/**
 * A reply the API gives up on: with no worker, the conversation's workflow cannot take it in time, so the API marks
 * it failed (NotQueued) and answers 503 "send it again". The update may still reach the workflow once a worker is
 * back; the message must then not go out (the client was told it did not). The same request repeated with the same
 * Idempotency-Key is a new attempt: it is accepted and sent, once. (Found by the fault suite: the repeat used to
 * answer 202 for the given-up message, which the workflow then failed as `Unexpected`, so nothing was ever sent.)
 */
import { startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';
import { createWorkerProcesses } from '../support/worker-processes';

jest.setTimeout(180_000);

describe('a reply given up while no worker runs', () => {
  let world: InboundWorld;
  const workers = createWorkerProcesses(() => world.env, 'igdm-send-given-up');

  beforeAll(async () => {
    world = await startInboundWorld({ worker: false, engineEnv: { SEND_WAIT_LIMIT_MS: '1500' } });
  });

  afterAll(async () => {
    await workers.stopAll();
    await world?.close();
  });

  const reply = async (conversationId: string, text: string, key: string): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${world.engine.baseUrl}/v1/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.apiKey}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ text }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  it('is never sent; the same request repeated with its key is sent once', async () => {
    const first = workers.start();
    const username = `given.up.${Date.now()}`;
    await world.control('POST', '/ig-users', { username, name: 'Given up' });
    const { igsid } = await world.customer({ kind: 'text', text: 'Hello?' }, username);
    const { conversationId } = await world.conversationOf(igsid);
    await world.messagesOf(igsid, 1, 60_000);
    first.child.kill('SIGKILL');
    await first.exited;

    const text = 'sent once, after a 503';
    const refused = await reply(conversationId, text, 'given-up-1');
    expect(refused.status).toBe(503);
    expect(refused.body.error.type).toBe('TemporalUnavailable');

    workers.start();
    // Each repeat before the new worker polls is given up too, under a new id; the one accepted goes out.
    const accepted = await world.eventually(async () => {
      const answer = await reply(conversationId, text, 'given-up-1');
      return answer.status === 202 ? answer : undefined;
    }, 120_000, 'the repeat to be accepted', 500);
    const messageId = accepted.body.messages[0].messageId as string;
    await world.eventually(async () => ((await world.engine.models.messages.findOne({ _id: messageId }).lean())?.status === 'sent' ? true : undefined), 60_000, 'the repeat to be sent');

    // The given-up attempts keep their reason; the late updates that reached the workflow sent none of them.
    const attempts = await world.engine.models.messages.find({ igsid, direction: 'outbound' }).lean();
    expect(attempts.filter((message) => message._id !== messageId).map((message) => [message.status, message.error?.type])).toEqual(
      attempts.filter((message) => message._id !== messageId).map(() => ['failed', 'NotQueued']),
    );
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    const { body } = await world.control('GET', `/sent-messages?igsid=${igsid}`);
    expect((body.data as Json[]).map((message) => message.text)).toEqual([text]);
  });
});
