/**
 * Records several events of one conversation in their order with a function that records one, stopping at the
 * first that fails: nothing is recorded ahead of an event that could not be (the workflow then retries it alone).
 * Shared by the real activities and the workflow tests' stubs, so both batch the same way.
 */
import { toApplicationFailure } from './failures';
import type { RecordedInboundEvent, RecordedInboundEvents, RecordInboundEventInput, RecordInboundEventsInput } from './conversation-contract';

export async function recordInOrder(
  input: RecordInboundEventsInput,
  recordOne: (input: RecordInboundEventInput) => Promise<RecordedInboundEvent>,
): Promise<RecordedInboundEvents> {
  const { eventIds, firstOfConversation, ...common } = input;
  const results: RecordedInboundEvent[] = [];
  for (const eventId of eventIds) {
    // As when recorded one by one: the first event the conversation counts gets the flag, an echo held back does not.
    const first = firstOfConversation === true && results.every((result) => result.outcome === 'own-send-unsettled');
    try {
      results.push(await recordOne({ ...common, eventId, ...(first ? { firstOfConversation: true } : {}) }));
    } catch (error) {
      const failure = toApplicationFailure(error);
      return { results, stoppedAt: { eventId, reason: failure.message, retryable: !failure.nonRetryable } };
    }
  }
  return { results };
}
