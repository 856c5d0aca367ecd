/**
 * The fault suite's checks, from the database and the emulator's records alone: every webhook event the engine
 * acknowledged is exactly one stored message; each customer's messages are stored in Meta's timestamp order; every
 * reply accepted (202) was received by Meta exactly once, or is marked failed or unknown with a reason, and never
 * received twice; each conversation's replies reached Meta in the order accepted. Counted per phase.
 */
import type { Models } from '../src/db/models';
import type { Message } from '../src/db/models/message';
import type { DeliveryRecords, ReceivedSend } from './emulator-records';
import type { LoadRecords, ReplyRecord } from './load';

export interface PhaseCounts {
  dmsSent: number;
  acknowledged: number;
  echoesAcknowledged: number;
  storedOnce: number;
  lost: number;
  duplicated: number;
  orderViolations: number;
  repliesAccepted: number;
  repliesRefused: number;
  repliesUnanswered: number;
  deliveredOnce: number;
  failedWithReason: number;
  unknown: number;
  sendsDuplicated: number;
  sendsLost: number;
  unsettled: number;
  sendOrderViolations: number;
  /** Send attempts after the first (evidence that the Send API's faults were met). */
  sendRetries: number;
}

export const violationCounts = ['lost', 'duplicated', 'orderViolations', 'sendsDuplicated', 'sendsLost', 'unsettled', 'sendOrderViolations'] as const;

export interface CheckResult {
  counts: Map<string, PhaseCounts>;
  /** The first violations, described. */
  violations: string[];
  /** Why accepted replies were not sent: `<phase>: <status> <error type>` and how many. */
  reasons: Map<string, number>;
  /** Deliveries the engine has not acknowledged yet (the emulator is still delivering them). */
  unacknowledgedDeliveries: number;
  /** Nothing is on its way any more: a check now is final. */
  settled: boolean;
}

export interface CheckInput {
  records: LoadRecords;
  deliveries: DeliveryRecords;
  received: ReceivedSend[];
  stored: Message[];
}

export function emptyCounts(): PhaseCounts {
  return {
    dmsSent: 0, acknowledged: 0, echoesAcknowledged: 0, storedOnce: 0, lost: 0, duplicated: 0, orderViolations: 0,
    repliesAccepted: 0, repliesRefused: 0, repliesUnanswered: 0, deliveredOnce: 0, failedWithReason: 0, unknown: 0,
    sendsDuplicated: 0, sendsLost: 0, unsettled: 0, sendOrderViolations: 0, sendRetries: 0,
  };
}

/** The messages the checks read: every message of the account (the suite's database holds nothing else). */
export async function storedMessages(models: Models, igAccountId: string): Promise<Message[]> {
  return models.messages
    .find({ igAccountId })
    .select({ _id: 1, mid: 1, igsid: 1, direction: 1, text: 1, status: 1, error: 1, sentAt: 1, 'outbound.attempts': 1 })
    .lean<Message[]>();
}

function countBy<T>(items: T[], key: (item: T) => string | null | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const value = key(item);
    if (value !== null && value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return counts;
}

export function check(input: CheckInput): CheckResult {
  const counts = new Map<string, PhaseCounts>();
  const violations: string[] = [];
  const countsOf = (phase: string): PhaseCounts => {
    const existing = counts.get(phase) ?? emptyCounts();
    counts.set(phase, existing);
    return existing;
  };
  const violation = (line: string): void => {
    if (violations.length < 20) violations.push(line);
  };
  const inbound = checkInbound(input, countsOf, violation);
  const outbound = checkOutbound(input, countsOf, violation);
  return {
    counts,
    violations,
    reasons: outbound.reasons,
    unacknowledgedDeliveries: input.deliveries.unacknowledged,
    settled: input.deliveries.unacknowledged === 0 && inbound.pending === 0 && outbound.pending === 0,
  };
}

type CountsOf = (phase: string) => PhaseCounts;
type Violation = (line: string) => void;

/** Each customer DM: acknowledged, stored once, at its place in Meta's order. */
function checkInbound(input: CheckInput, countsOf: CountsOf, violation: Violation): { pending: number } {
  const byMid = countBy(input.stored, (message) => message.mid);
  const byText = countBy(input.stored.filter((message) => message.direction === 'inbound'), (message) => message.text);
  let pending = 0;
  for (const sent of input.records.messages) {
    const counts = countsOf(sent.phase);
    counts.dmsSent += 1;
    if (!input.deliveries.acknowledged.has(sent.mid)) {
      pending += 1;
      continue;
    }
    counts.acknowledged += 1;
    const copies = Math.max(byMid.get(sent.mid) ?? 0, byText.get(sent.text) ?? 0);
    if (copies === 1) counts.storedOnce += 1;
    else if (copies === 0) {
      counts.lost += 1;
      pending += 1;
      violation(`${sent.phase}: DM ${sent.mid} ("${sent.text}") was acknowledged but is not stored`);
    } else {
      counts.duplicated += 1;
      violation(`${sent.phase}: DM ${sent.mid} ("${sent.text}") is stored ${copies} times`);
    }
  }
  checkInboundOrder(input, countsOf, violation);
  return { pending };
}

/** Per customer, the stored DMs in the inbox's order (Meta's time, then id) are the customer's order, at Meta's times. */
function checkInboundOrder(input: CheckInput, countsOf: CountsOf, violation: Violation): void {
  const sentByMid = new Map(input.records.messages.map((message, index) => [message.mid, { message, index }]));
  const byCustomer = new Map<string, Message[]>();
  for (const message of input.stored) {
    if (message.direction !== 'inbound' || message.mid === undefined || !sentByMid.has(message.mid)) continue;
    byCustomer.set(message.igsid, [...(byCustomer.get(message.igsid) ?? []), message]);
  }
  for (const messages of byCustomer.values()) {
    messages.sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime() || a._id.localeCompare(b._id));
    let previous = -1;
    for (const message of messages) {
      const { message: sent, index } = sentByMid.get(message.mid!)!;
      if (index < previous || message.sentAt.getTime() !== sent.timestamp) {
        countsOf(sent.phase).orderViolations += 1;
        violation(`${sent.phase}: DM "${sent.text}" is out of the customer's order (stored at ${message.sentAt.toISOString()}, Meta's time ${new Date(sent.timestamp).toISOString()})`);
      }
      previous = Math.max(previous, index);
    }
  }
}

/** Each reply the API accepted: received once and sent, or failed / unknown with a reason; never twice; in order. */
function checkOutbound(input: CheckInput, countsOf: CountsOf, violation: Violation): { pending: number; reasons: Map<string, number> } {
  const receivedByText = countBy(input.received, (send) => send.text);
  const storedById = new Map(input.stored.map((message) => [message._id, message]));
  // A reply the API gave up on (503, never sent) and its repeat under the same key share the text: one is counted.
  const givenUp = (message: Message): boolean => message.status === 'failed' && message.error?.type === 'NotQueued';
  const storedByText = countBy(input.stored.filter((message) => message.direction === 'outbound' && !givenUp(message)), (message) => message.text);
  const replyByText = new Map(input.records.replies.map((reply) => [reply.text, reply]));
  const reasons = new Map<string, number>();
  let pending = 0;
  for (const reply of input.records.replies) {
    const counts = countsOf(reply.phase);
    if (reply.outcome === 'refused') counts.repliesRefused += 1;
    if (reply.outcome === 'unanswered') counts.repliesUnanswered += 1;
    if (reply.outcome !== 'accepted') continue;
    counts.repliesAccepted += 1;
    const stored = storedById.get(reply.messageId ?? '');
    const times = receivedByText.get(reply.text) ?? 0;
    counts.sendRetries += Math.max(0, (stored?.outbound?.attempts ?? 0) - 1);
    if ((storedByText.get(reply.text) ?? 0) > 1) {
      counts.duplicated += 1;
      violation(`${reply.phase}: reply "${reply.text}" is stored ${storedByText.get(reply.text)} times`);
    }
    if (times > 1) {
      counts.sendsDuplicated += 1;
      violation(`${reply.phase}: reply "${reply.text}" reached Meta ${times} times (status ${stored?.status ?? 'not stored'})`);
      continue;
    }
    const outcome = settledOutcome(reply, stored, times);
    if (outcome.kind === 'pending') pending += 1;
    if (outcome.kind !== 'ok') violation(outcome.description);
    counts[outcome.counter] += 1;
    if (stored?.status === 'failed' || stored?.status === 'unknown') {
      const reason = `${reply.phase}: ${stored.status} ${stored.error?.type ?? 'without a reason'}`;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
  }
  checkEchoes(input, replyByText, countsOf, violation);
  checkSendOrder(input, countsOf, violation);
  return { pending, reasons };
}

type Outcome = { kind: 'ok' | 'pending' | 'violation'; counter: 'deliveredOnce' | 'failedWithReason' | 'unknown' | 'sendsLost' | 'unsettled'; description: string };

function settledOutcome(reply: ReplyRecord, stored: Message | undefined, times: number): Outcome {
  const said = (what: string): string => `${reply.phase}: reply "${reply.text}" (${reply.messageId}) ${what}`;
  if (stored === undefined) return { kind: 'violation', counter: 'sendsLost', description: said('was accepted but is not stored') };
  const hasReason = typeof stored.error?.type === 'string' && typeof stored.error.message === 'string';
  switch (stored.status) {
    case 'sent':
      return times === 1 ? { kind: 'ok', counter: 'deliveredOnce', description: '' } : { kind: 'violation', counter: 'sendsLost', description: said('is marked sent but Meta never received it') };
    case 'failed':
      // `Unexpected` is the engine's own bug, not a reason a client can act on.
      if (stored.error?.type === 'Unexpected') return { kind: 'violation', counter: 'sendsLost', description: said(`failed for an unexpected reason: ${stored.error.message}`) };
      if (times === 1) return { kind: 'violation', counter: 'sendsLost', description: said(`is marked failed (${stored.error?.type}) but Meta received it: a client would send it again`) };
      return hasReason ? { kind: 'ok', counter: 'failedWithReason', description: '' } : { kind: 'violation', counter: 'sendsLost', description: said('is marked failed without a reason') };
    case 'unknown':
      return hasReason ? { kind: 'ok', counter: 'unknown', description: '' } : { kind: 'violation', counter: 'sendsLost', description: said('is marked unknown without a reason') };
    default:
      return { kind: 'pending', counter: 'unsettled', description: said(`is still ${stored.status}`) };
  }
}

/** An acknowledged echo of a reply is that reply's one message, found by its mid. */
function checkEchoes(input: CheckInput, replyByText: Map<string, ReplyRecord>, countsOf: CountsOf, violation: Violation): void {
  const storedByMid = countBy(input.stored, (message) => message.mid);
  for (const send of input.received) {
    const reply = send.text === undefined ? undefined : replyByText.get(send.text);
    if (!reply || !input.deliveries.acknowledged.get(send.mid)?.isEcho) continue;
    const counts = countsOf(reply.phase);
    counts.echoesAcknowledged += 1;
    const copies = storedByMid.get(send.mid) ?? 0;
    if (copies === 1) continue;
    if (copies === 0) counts.lost += 1;
    else counts.duplicated += 1;
    violation(`${reply.phase}: the echo ${send.mid} of reply "${reply.text}" was acknowledged and is stored ${copies} times`);
  }
}

/** Per conversation, what Meta received of the accepted replies came in the order the API accepted them. */
function checkSendOrder(input: CheckInput, countsOf: CountsOf, violation: Violation): void {
  const acceptedOrder = new Map<string, number>();
  input.records.replies.filter((reply) => reply.outcome === 'accepted').forEach((reply, index) => acceptedOrder.set(reply.text, index));
  const replyByText = new Map(input.records.replies.map((reply) => [reply.text, reply]));
  const lastByCustomer = new Map<string, number>();
  for (const send of input.received) {
    const order = send.text === undefined ? undefined : acceptedOrder.get(send.text);
    if (order === undefined) continue;
    const previous = lastByCustomer.get(send.igsid) ?? -1;
    if (order < previous) {
      const reply = replyByText.get(send.text!)!;
      countsOf(reply.phase).sendOrderViolations += 1;
      violation(`${reply.phase}: reply "${reply.text}" reached Meta after a reply accepted later`);
    }
    lastByCustomer.set(send.igsid, Math.max(previous, order));
  }
}

/** The totals over phases. */
export function totalOf(counts: Iterable<PhaseCounts>): PhaseCounts {
  const total = emptyCounts();
  for (const phase of counts) for (const key of Object.keys(total) as Array<keyof PhaseCounts>) total[key] += phase[key];
  return total;
}
