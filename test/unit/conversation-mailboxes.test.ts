import { createConversationMailboxes } from '../../src/inbound/conversation-mailboxes';

/** A deliver function whose calls stay open until the test settles them one by one. */
function controlledDelivery() {
  const calls: Array<{ key: string; events: string[]; succeed(): void; fail(): void }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const deliver = (key: string, events: string[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const done = (): void => {
        inFlight -= 1;
      };
      calls.push({ key, events, succeed: () => (done(), resolve()), fail: () => (done(), reject(new Error('Temporal unavailable'))) });
    });
  return { deliver, calls, maxInFlight: () => maxInFlight };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('conversation mailboxes', () => {
  it('sends what gathers while a signal is in flight as one next signal, in the order posted', async () => {
    const delivery = controlledDelivery();
    const mailboxes = createConversationMailboxes(delivery.deliver, 4);
    const first = mailboxes.post('c1', ['e1']);
    const second = mailboxes.post('c1', ['e2', 'e3']);
    const third = mailboxes.post('c1', ['e4']);
    await settle();
    expect(delivery.calls.map((call) => call.events)).toEqual([['e1']]);

    delivery.calls[0]!.succeed();
    await settle();
    expect(delivery.calls.map((call) => call.events)).toEqual([['e1'], ['e2', 'e3', 'e4']]);
    delivery.calls[1]!.succeed();

    await expect(Promise.all([first, second, third])).resolves.toEqual([[true], [true, true], [true]]);
  });

  it('signals different conversations in parallel, never more than the limit at once', async () => {
    const delivery = controlledDelivery();
    const mailboxes = createConversationMailboxes(delivery.deliver, 2);
    const posted = ['c1', 'c2', 'c3', 'c4', 'c5'].map((key) => mailboxes.post(key, [`${key}-e1`]));
    await settle();
    expect(delivery.calls.map((call) => call.key)).toEqual(['c1', 'c2']);

    for (let index = 0; index < 5; index++) {
      delivery.calls[index]!.succeed();
      await settle();
    }
    expect(delivery.calls.map((call) => call.key)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    expect(delivery.maxInFlight()).toBe(2);
    await expect(Promise.all(posted)).resolves.toEqual([[true], [true], [true], [true], [true]]);
  });

  it('fails what gathered behind a failed signal too, so nothing overtakes it; the next post is sent afresh', async () => {
    const delivery = controlledDelivery();
    const mailboxes = createConversationMailboxes(delivery.deliver, 4);
    const failed = mailboxes.post('c1', ['e1']);
    const behind = mailboxes.post('c1', ['e2']);
    const otherConversation = mailboxes.post('c2', ['f1']);
    await settle();
    delivery.calls.find((call) => call.key === 'c1')!.fail();
    delivery.calls.find((call) => call.key === 'c2')!.succeed();
    await expect(Promise.all([failed, behind, otherConversation])).resolves.toEqual([[false], [false], [true]]);
    expect(delivery.calls.map((call) => call.events)).toEqual([['e1'], ['f1']]);

    const later = mailboxes.post('c1', ['e1', 'e2']);
    await settle();
    expect(delivery.calls[2]!.events).toEqual(['e1', 'e2']);
    delivery.calls[2]!.succeed();
    await expect(later).resolves.toEqual([true, true]);
  });

  it('answers an empty post at once, without a signal', async () => {
    const delivery = controlledDelivery();
    await expect(createConversationMailboxes(delivery.deliver, 1).post('c1', [])).resolves.toEqual([]);
    expect(delivery.calls).toHaveLength(0);
  });
});
