/**
 * What the API answers about parked events and their replays: the zod schema of each shape (named in the API
 * document) and the function that makes it from a stored event. Never the payload: it is the customer's content.
 */
import { z } from 'zod';
import type { ParkedEvent } from '../inbound/parked-events';
import { namedSchema } from './schema-names';

const isoTime = z.iso.datetime();

export const parkedEventSchema = namedSchema(
  'ParkedEvent',
  z
    .object({
      eventId: z.string().describe('The stored webhook event (its dedupe key): what a replay names'),
      igAccountId: z.string().nullable(),
      customerIgsid: z.string().nullable(),
      kind: z.string().describe('message, postback, referral, reaction, read, echo, deleted, edit'),
      mid: z.string().nullable().describe("Meta's message id, where the event has one"),
      receivedAt: isoTime.describe('When Meta delivered it'),
      reason: z.string().nullable().describe('Why it could not be recorded: the last attempt’s failure'),
      attempts: z.number().int().nullable().describe('How many times recording it was tried before it was parked (null when not known)'),
      replays: z.number().int().describe('How many times it was replayed already'),
      lastReplayedAt: isoTime.nullable(),
    })
    .describe('An inbound event the conversation workflow could not record within its attempts; the events after it went on'),
);

export const replayOutcomeSchema = z
  .enum(['dispatched', 'queued', 'held', 'unlinked', 'recorded'])
  .describe(
    'dispatched: handed to its conversation, recorded in a moment; queued: Temporal did not take it, the sweeper hands it over; held: the account must be re-authenticated first; unlinked: the account is not linked, the event is kept; recorded: an echo of a reply already sent, recorded at once',
  );

export const accountReplaySchema = z.object({
  igAccountId: z.string(),
  replayed: z.number().int().describe('Parked events of the account made pending again by this replay'),
  dispatched: z.number().int(),
  queued: z.number().int(),
  held: z.number().int(),
  unlinked: z.number().int(),
  recorded: z.number().int(),
});

export function presentParkedEvent(event: ParkedEvent): z.input<typeof parkedEventSchema> {
  return {
    eventId: event._id,
    igAccountId: event.igAccountId,
    customerIgsid: event.customerIgsid,
    kind: event.kind,
    mid: event.mid,
    receivedAt: event.receivedAt.toISOString(),
    reason: event.problem,
    attempts: event.recordAttempts ?? null,
    replays: event.replays ?? 0,
    lastReplayedAt: event.replayedAt ? event.replayedAt.toISOString() : null,
  };
}
