/**
 * Inbound activities of the conversation workflow: apply one stored webhook event to the inbox (customer,
 * message, conversation), fetch a customer's profile apart from that, park an event that cannot be recorded, and
 * close a conversation. Each is idempotent: keyed inserts and updates, so a retry after a crash or a second
 * dispatch of the same event changes nothing. Lookups are by `_id`, the one filter the local database never answers
 * with a full scan; the one exception, the search for a reply whose send had no known outcome, runs only for an
 * echo of this app's send that no stored reply's mid matches. Events of one conversation are applied one at a time
 * by its workflow, so read-then-write on a message of that conversation does not race. Edits and reactions do not
 * rely on that: they may come before their message, and are applied by conditional updates whoever writes first
 * (src/inbound/early-changes.ts).
 *
 * Built here from parts, each given only what it uses: record-event.ts reads the event and hands it to the recorder
 * of its kind (record-customer-event.ts: messages, postbacks, referrals; record-echo.ts: echoes;
 * record-message-change.ts: unsends, reactions, edits, reads), event-outcomes.ts writes what became of it,
 * stored-messages.ts, conversation-writes.ts and customer-profile.ts write the inbox, account-cache.ts reads the link.
 */
import type { Models } from '../../db/models';
import type { GraphClient } from '../../graph/client';
import { createEarlyChanges } from '../../inbound/early-changes';
import type { Logger } from '../../logger';
import type { EngineMetrics } from '../../metrics/engine-metrics';
import type { TokenCipher } from '../../security/token-cipher';
import type { RecordedInboundEvents, RecordInboundEventsInput } from '../conversation-contract';
import { recordInOrder } from '../record-in-order';
import { createAccountCache } from './account-cache';
import { createConversationWrites } from './conversation-writes';
import { createCustomerProfiles, PROFILE_FETCH_TIMEOUT_MS } from './customer-profile';
import { createEventOutcomes } from './event-outcomes';
import { createCustomerEventRecorders } from './record-customer-event';
import { createEchoRecorder } from './record-echo';
import { createEventRecorder } from './record-event';
import { createMessageChangeRecorders } from './record-message-change';
import { createMessageStore } from './stored-messages';

export { PROFILE_FETCH_TIMEOUT_MS } from './customer-profile';
export { messageIdOf } from './stored-messages';

export interface InboundActivityDeps {
  models: Pick<Models, 'webhookEvents' | 'linkedAccounts' | 'customers' | 'conversations' | 'openConversations' | 'messages' | 'outboundMids' | 'earlyMessageChanges'>;
  graph: Pick<GraphClient, 'getUserProfile'>;
  cipher: Pick<TokenCipher, 'open'>;
  logger: Logger;
  /** Events are counted once, when first recorded or parked; a reply an echo confirms counts as sent. */
  metrics: Pick<EngineMetrics, 'inboundEventRecorded' | 'inboundEventParked' | 'sendSettled'>;
  /** The Meta app id of this engine: echoes that carry it are of the engine's own sends. */
  appId: string;
  /** A customer's profile is fetched again when older than this, so a changed username shows on the next message (B10). */
  profileStaleAfterMs: number;
  /** How long one Profile API call may take; defaults to PROFILE_FETCH_TIMEOUT_MS. */
  profileFetchTimeoutMs?: number;
  now?: () => number;
}

export function createInboundActivities(deps: InboundActivityDeps) {
  const { models, metrics } = deps;
  const now = deps.now ?? Date.now;
  const changes = createEarlyChanges({ models, now });
  const loadAccount = createAccountCache({ models, now });
  const customers = createCustomerProfiles({ ...deps, profileFetchTimeoutMs: deps.profileFetchTimeoutMs ?? PROFILE_FETCH_TIMEOUT_MS, loadAccount, now });
  const conversations = createConversationWrites({ models, now });
  const outcomes = createEventOutcomes({ models, metrics, logger: deps.logger, now });
  const messages = createMessageStore({ models, changes });
  const recordInboundEvent = createEventRecorder({
    models,
    loadAccount,
    customers,
    outcomes,
    recorders: {
      ...createCustomerEventRecorders({ customers, conversations, messages, outcomes }),
      echo: createEchoRecorder({ models, metrics, changes, messages, conversations, outcomes, appId: deps.appId }),
      ...createMessageChangeRecorders({ models, changes, messages, conversations }),
    },
  });

  return {
    recordInboundEvent,

    /** Several pending events of the conversation in one call: one activity for a burst instead of one per event. */
    async recordInboundEvents(input: RecordInboundEventsInput): Promise<RecordedInboundEvents> {
      return recordInOrder(input, recordInboundEvent);
    },

    /** Fetches the customer's profile and stores it; a failure is recorded on the customer and raised, for Temporal to retry. */
    refreshCustomerProfile: customers.refreshCustomerProfile,

    parkInboundEvent: outcomes.parkInboundEvent,

    closeConversation: conversations.closeConversation,
  };
}

export type InboundActivities = ReturnType<typeof createInboundActivities>;
