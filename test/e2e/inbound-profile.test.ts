/**
 * A slow or failing Profile API never holds a message back, end to end (issue 10): the emulator's Profile API is
 * held 12 s or fails, a new customer writes, and the inbox API shows the messages while the customer has no
 * profile yet; the profile follows once the Profile API answers, and a failure stays on the customer.
 */
import { getConversationStatusQuery } from '../../src/workflows/conversation';
import { DEMO, startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';

jest.setTimeout(180_000);

describe('the Profile API beside the messages', () => {
  let world: InboundWorld;
  let customers = 0;

  beforeAll(async () => {
    world = await startInboundWorld();
  });

  afterAll(async () => {
    await world?.close();
  });

  afterEach(async () => {
    await world.control('DELETE', '/faults/profile-api');
  });

  /** A new Instagram user (a customer the engine has never seen); answers the username. */
  async function newCustomer(name: string): Promise<string> {
    customers += 1;
    const username = `profile.${customers}.${Date.now()}`;
    const created = await world.control('POST', '/ig-users', { username, name });
    if (created.status !== 201) throw new Error(`could not create ${username}: ${JSON.stringify(created.body)}`);
    return username;
  }

  const customerOf = async (igsid: string): Promise<Json> => (await world.inbox(`/v1/customers/${DEMO.igAccount.id}/${igsid}`)).body.customer;

  const statusOf = async (igsid: string) => world.engine.temporal.workflow.getHandle((await world.conversationOf(igsid)).workflowId).query(getConversationStatusQuery);

  it('shows a new customer\'s messages while the Profile API holds its answer 12 s, and the profile once it answers', async () => {
    const username = await newCustomer('Patient Customer');
    // Every Profile API call is held 12 s: longer than the engine waits for one.
    await world.control('PUT', '/faults/profile-api', { mode: 'slow', rate: 1, hangMs: 12_000, igAccountId: DEMO.igAccount.id });

    const first = await world.customer({ kind: 'text', text: 'Hi, is anyone there?' }, username);
    const [shown] = await world.messagesOf(first.igsid, 1);
    expect(shown).toMatchObject({ mid: first.mid, text: 'Hi, is anyone there?' });
    // Readable while the profile is still missing: the message did not wait for the Profile API.
    expect(await customerOf(first.igsid)).toMatchObject({ username: null, name: null, anonymous: true });
    // The workflow starts the fetch once the message is recorded, so the status may say so a moment later.
    await world.eventually(async () => ((await statusOf(first.igsid)).profileFetching ? true : undefined), 20_000, 'the fetch in flight');

    // The next message of the conversation does not wait either.
    const second = await world.customer({ kind: 'text', text: 'Hello?' }, username);
    const both = await world.messagesOf(first.igsid, 2);
    expect(both.map((message) => message.mid)).toEqual([first.mid, second.mid]);
    expect((await customerOf(first.igsid)).username).toBeNull();

    // The Profile API answers again: a retry of the fetch completes the customer.
    await world.control('DELETE', '/faults/profile-api');
    const completed = await world.eventually(async () => {
      const customer = await customerOf(first.igsid);
      return customer.username === username ? customer : undefined;
    }, 60_000, 'the profile');
    expect(completed).toMatchObject({ name: 'Patient Customer', profileError: null });
    expect(completed.usernameHistory.map((entry: Json) => entry.username)).toEqual([username]);
    const settled = await world.eventually(async () => {
      const status = await statusOf(first.igsid);
      return status.profileFetching ? undefined : status;
    }, 20_000, 'the fetch settled');
    expect(settled).toMatchObject({ state: 'open', eventsRecorded: 2 });
  });

  it.each([
    ['a transient error, retried until the attempts run out', { mode: 'transient' }, 'TransientUpstream'],
    ['a permanent refusal', { mode: 'refusal', refusal: 'consent_required' }, 'ConsentRequired'],
  ])('shows the messages when the Profile API fails with %s; the customer keeps profileError', async (_what, fault, profileError) => {
    const username = await newCustomer('Unlucky Customer');
    await world.control('PUT', '/faults/profile-api', { ...fault, rate: 1, igAccountId: DEMO.igAccount.id });

    const first = await world.customer({ kind: 'text', text: 'First question' }, username);
    const second = await world.customer({ kind: 'text', text: 'Second question' }, username);
    const shown = await world.messagesOf(first.igsid, 2);
    expect(shown.map((message) => message.mid)).toEqual([first.mid, second.mid]);

    const customer = await world.eventually(async () => {
      const status = await statusOf(first.igsid);
      const read = await customerOf(first.igsid);
      return !status.profileFetching && read.profileError === profileError ? read : undefined;
    }, 60_000, `profileError ${profileError} with no fetch in flight`);
    expect(customer).toMatchObject({ username: null, anonymous: true, displayName: 'Anonymous' });
    // The conversation goes on: open, every message recorded, and the next one still shows.
    expect(await statusOf(first.igsid)).toMatchObject({ state: 'open', eventsRecorded: 2 });
    const third = await world.customer({ kind: 'text', text: 'Third question' }, username);
    expect((await world.messagesOf(first.igsid, 3)).map((message) => message.mid)).toEqual([first.mid, second.mid, third.mid]);
  });
});
