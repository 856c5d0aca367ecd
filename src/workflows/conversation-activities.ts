/** The conversation workflow's activities, each with the timeout and retries its work calls for. */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { ConversationActivities } from '../activities/conversation-contract';

export const { recordInboundEvents } = proxyLocalActivities<ConversationActivities>({
  // Run by the worker beside the workflow task. A burst of 50 events takes well under a second.
  startToCloseTimeout: '10 seconds',
  // Few attempts: when the batch keeps failing, its first event is recorded alone with the retries below.
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 3 },
});

// Bounded: an event that cannot be recorded is parked after this, so it never blocks the ones behind it.
export const RECORD_RETRY = { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 } as const;

export const { recordInboundEvent } = proxyActivities<ConversationActivities>({
  // A few database writes: 10 s is ample, and bounds how long a crashed worker holds an event.
  startToCloseTimeout: '10 seconds',
  retry: RECORD_RETRY,
});

export const { refreshCustomerProfile } = proxyActivities<ConversationActivities>({
  // The activity gives the Graph call 3 s: a slow Profile API ends as a failure recorded on the customer, not a timeout.
  startToCloseTimeout: '5 seconds',
  // Bounded: the customer is shown without a profile meanwhile, and a later message asks for it again.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 4 },
});

export const { sendMessage } = proxyActivities<ConversationActivities>({
  // The Graph client gives up after its own timeout (10 s by default); the rest is two database writes.
  startToCloseTimeout: '30 seconds',
  // Transient errors only: the activity marks everything retrying cannot fix as non-retryable.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6 },
});

// Bookkeeping in the database: retried until the database answers, so a send's outcome is never lost.
export const { closeConversation, parkInboundEvent, recordSendFailure, settleUnknownSend, reportAccountProblem } = proxyActivities<ConversationActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
