/**
 * What the Meta emulator knows, read through its control API: the webhook deliveries and their answers (which events
 * the engine acknowledged), the messages its Send API received, and the switches that make it misbehave.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the emulator's JSON answers, read field by field
export type Json = any;

export async function control(emulatorUrl: string, method: string, route: string, body?: unknown): Promise<Json> {
  const response = await fetch(`${emulatorUrl}/_emulator${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const answer = (await response.json()) as Json;
  if (!response.ok) throw new Error(`emulator ${method} ${route} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** A messaging event the engine answered 200 for (in at least one delivery, a copy or not). */
export interface AcknowledgedEvent {
  mid: string;
  isEcho: boolean;
}

export interface DeliveryRecords {
  /** Unique events (by mid) of deliveries answered 2xx. */
  acknowledged: Map<string, AcknowledgedEvent>;
  /** Deliveries not answered 2xx yet (still retrying, or given up). */
  unacknowledged: number;
  /** Deliveries made, copies included, and attempts refused or unanswered. */
  deliveries: number;
  refusedAttempts: number;
  /** Deliveries that repeat another (the duplicates switch). */
  copies: number;
  /** Events delivered after a newer event of the same sender to the same recipient (the reorder switch). */
  reordered: number;
}

export async function deliveryRecords(emulatorUrl: string): Promise<DeliveryRecords> {
  const { data } = (await control(emulatorUrl, 'GET', '/deliveries')) as { data: Json[] };
  const acknowledged = new Map<string, AcknowledgedEvent>();
  let unacknowledged = 0;
  let refusedAttempts = 0;
  for (const delivery of data) {
    const attempts = delivery.attempts as Array<{ status?: number }>;
    refusedAttempts += attempts.filter((attempt) => attempt.status === undefined || attempt.status < 200 || attempt.status >= 300).length;
    if (delivery.state !== 'delivered') {
      unacknowledged += 1;
      continue;
    }
    for (const entry of JSON.parse(delivery.body as string).entry as Json[]) {
      for (const event of entry.messaging as Json[]) {
        const mid = event.message?.mid as string | undefined;
        if (mid !== undefined) acknowledged.set(mid, { mid, isEcho: event.message.is_echo === true });
      }
    }
  }
  return { acknowledged, unacknowledged, deliveries: data.length, refusedAttempts, copies: data.filter((delivery) => delivery.copyOf !== null).length, reordered: reorderedEvents(data) };
}

function reorderedEvents(deliveries: Json[]): number {
  const newest = new Map<string, number>();
  let reordered = 0;
  for (const delivery of deliveries) {
    if (delivery.copyOf !== null) continue;
    for (const entry of JSON.parse(delivery.body as string).entry as Json[]) {
      for (const event of entry.messaging as Json[]) {
        const pair = `${event.sender?.id}>${event.recipient?.id}`;
        const timestamp = Number(event.timestamp);
        if (timestamp < (newest.get(pair) ?? 0)) reordered += 1;
        newest.set(pair, Math.max(timestamp, newest.get(pair) ?? 0));
      }
    }
  }
  return reordered;
}

/** What the Send API received for the account, in the order it received it. */
export interface ReceivedSend {
  mid: string;
  igsid: string;
  text: string | undefined;
}

export async function receivedSends(emulatorUrl: string, igAccountId: string): Promise<ReceivedSend[]> {
  const { data } = (await control(emulatorUrl, 'GET', `/sent-messages?igAccountId=${igAccountId}`)) as { data: Json[] };
  return data.map((message) => ({ mid: String(message.mid), igsid: String(message.igsid), text: message.text as string | undefined }));
}

/** True once the emulator has nothing queued, in flight or waiting to be delivered again. */
export async function webhooksIdle(emulatorUrl: string, timeoutMs: number): Promise<boolean> {
  const { idle } = (await control(emulatorUrl, 'POST', '/webhooks/wait-idle', { timeoutMs })) as { idle: boolean };
  return idle;
}
