/** What a conversation workflow's history says it was signalled: the event ids, in order, whichever signal carried them. */
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/** The ids of every `inboundEvent` (one id) and `inboundEvents` (several) signal, in the order they came. */
export function signalledEventIds(history: History): string[] {
  return (history.events ?? []).flatMap((event) => {
    const data = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
    if (!data) return [];
    const signal = JSON.parse(Buffer.from(data).toString('utf8')) as { eventId?: string; eventIds?: string[] };
    return signal.eventIds ?? (signal.eventId === undefined ? [] : [signal.eventId]);
  });
}
