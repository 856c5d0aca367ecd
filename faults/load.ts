/**
 * The fault suite's steady mixed load: each customer writes DMs through the emulator (which delivers them to the
 * engine as signed webhooks, again and again until answered 200), and a manager replies to each customer's
 * conversation through the engine's API, one reply at a time per conversation, each with a unique text and its own
 * Idempotency-Key. A reply that got no answer, a 5xx or "still in progress" is posted again with the same key, as a
 * careful client does; only a 202 counts as accepted. Everything done is recorded for the checks.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Json } from './emulator-records';

export interface Customer {
  username: string;
  igsid?: string;
  conversationId?: string;
}

/** A DM a customer sent: the emulator's mid and timestamp (Meta's order). */
export interface CustomerMessage {
  phase: string;
  username: string;
  igsid: string;
  mid: string;
  text: string;
  timestamp: number;
}

export type ReplyOutcome = 'accepted' | 'refused' | 'unanswered';

export interface ReplyRecord {
  phase: string;
  igsid: string;
  key: string;
  text: string;
  outcome: ReplyOutcome;
  /** The last answer: an HTTP status, or why there was none. */
  lastAnswer: number | string;
  attempts: number;
  messageId?: string;
}

export interface LoadRecords {
  messages: CustomerMessage[];
  replies: ReplyRecord[];
}

export interface LoadWorld {
  apiUrl: string;
  emulatorUrl: string;
  apiKey: string;
  igAccountId: string;
  customers: Customer[];
  /** Makes texts and keys unique across runs on the same emulator. */
  runTag: string;
}

export interface LoadPace {
  /** Each customer writes about this often. */
  dmEveryMs: number;
  /** Each conversation gets a reply about this often (a reply in retries delays the next). */
  replyEveryMs: number;
  /** A reply with no definitive answer after this long is given up (recorded as unanswered). */
  replyGiveUpMs: number;
}

export interface RunningLoad {
  /** Stops starting new work and waits for the work in flight (a reply's retries are bounded by replyGiveUpMs). */
  stop(): Promise<void>;
}

const REPLY_RETRY_PAUSE_MS = 500;

/** Plus or minus a quarter, so customers do not move in lockstep. */
const jittered = (ms: number): number => Math.round(ms * (0.75 + Math.random() * 0.5));

async function call(url: string, init: RequestInit & { timeoutMs?: number }): Promise<{ status: number | string; body: Json }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 15_000) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text) };
  } catch (error) {
    return { body: null, status: `no answer: ${(error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message}` };
  }
}

/** Makes the customers on Instagram (the emulator): users who can write to the demo account. */
export async function createCustomers(emulatorUrl: string, count: number, runTag: string): Promise<Customer[]> {
  const customers: Customer[] = [];
  for (let index = 0; index < count; index += 1) {
    const username = `faults.${runTag}.${index}`;
    const created = await call(`${emulatorUrl}/_emulator/ig-users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, name: `Customer ${index}` }) });
    if (created.status !== 201) throw new Error(`the emulator did not create a customer: ${created.status} ${JSON.stringify(created.body)}`);
    customers.push({ username });
  }
  return customers;
}

export function startLoad(world: LoadWorld, phase: string, records: LoadRecords, pace: LoadPace): RunningLoad {
  const stopping = new AbortController();
  // Every loop's pause listens to it: two per customer.
  setMaxListeners(4 * world.customers.length + 10, stopping.signal);
  const pause = (ms: number): Promise<void> => sleep(ms, undefined, { signal: stopping.signal }).catch(() => undefined);
  const loops = world.customers.flatMap((customer) => [
    (async () => {
      while (!stopping.signal.aborted) {
        await customerWrites(world, customer, phase, records);
        await pause(jittered(pace.dmEveryMs));
      }
    })(),
    (async () => {
      await pause(jittered(pace.replyEveryMs));
      while (!stopping.signal.aborted) {
        const conversationId = await conversationOf(world, customer);
        if (conversationId !== undefined) records.replies.push(await reply(world, customer, conversationId, phase, pace.replyGiveUpMs));
        await pause(jittered(pace.replyEveryMs));
      }
    })(),
  ]);
  return {
    async stop() {
      stopping.abort();
      await Promise.all(loops);
    },
  };
}

let sequence = 0;

async function customerWrites(world: LoadWorld, customer: Customer, phase: string, records: LoadRecords): Promise<void> {
  sequence += 1;
  const text = `${phase}: DM ${sequence} from ${customer.username}`;
  const answer = await call(`${world.emulatorUrl}/_emulator/ig-accounts/${world.igAccountId}/inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: { username: customer.username }, kind: 'text', text }),
  });
  // The emulator is never the one killed: a refusal here is the suite's own bug.
  if (answer.status !== 201) throw new Error(`the emulator refused a customer's DM: ${answer.status} ${JSON.stringify(answer.body)}`);
  customer.igsid = String(answer.body.igsid);
  records.messages.push({ phase, username: customer.username, igsid: customer.igsid, mid: String(answer.body.mid), text, timestamp: Number(answer.body.timestamp) });
}

/** The customer's conversation, once the engine shows it (undefined meanwhile, or while the API is down). */
async function conversationOf(world: LoadWorld, customer: Customer): Promise<string | undefined> {
  if (customer.conversationId !== undefined || customer.igsid === undefined) return customer.conversationId;
  const answer = await call(`${world.apiUrl}/v1/customers/${world.igAccountId}/${customer.igsid}`, { headers: { authorization: `Bearer ${world.apiKey}` }, timeoutMs: 5_000 });
  const conversation = answer.status === 200 ? (answer.body?.conversations as Json[] | undefined)?.[0] : undefined;
  customer.conversationId = conversation?.conversationId as string | undefined;
  return customer.conversationId;
}

/** Worth posting again with the same key: no answer, a 5xx, or the first request with this key still running. */
function isRetryable(status: number | string, body: Json): boolean {
  return typeof status === 'string' || status >= 500 || (status === 409 && body?.error?.type === 'IdempotencyKeyInProgress');
}

async function reply(world: LoadWorld, customer: Customer, conversationId: string, phase: string, giveUpMs: number): Promise<ReplyRecord> {
  sequence += 1;
  const key = `faults-${world.runTag}-${sequence}`;
  const text = `${phase}: reply ${sequence} to ${customer.username}`;
  const record: ReplyRecord = { phase, igsid: customer.igsid ?? '', key, text, outcome: 'unanswered', lastAnswer: 'not sent', attempts: 0 };
  const deadline = Date.now() + giveUpMs;
  for (;;) {
    record.attempts += 1;
    const answer = await call(`${world.apiUrl}/v1/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.apiKey}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ text }),
    });
    record.lastAnswer = answer.status;
    if (answer.status === 202 || answer.status === 200) {
      record.outcome = 'accepted';
      record.messageId = String(answer.body.messages[0].messageId);
      return record;
    }
    if (!isRetryable(answer.status, answer.body)) {
      record.outcome = 'refused';
      return record;
    }
    if (Date.now() > deadline) return record;
    await sleep(REPLY_RETRY_PAUSE_MS);
  }
}
