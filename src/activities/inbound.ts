/**
 * Inbound activities of the conversation workflow: apply one stored webhook event to the inbox (customer,
 * message, conversation), fetch a customer's profile apart from that, and close a conversation. Each is
 * idempotent: keyed inserts and updates, so a retry after a crash or a second dispatch of the same event changes
 * nothing. Every lookup is by `_id` alone, the one filter the local database never answers with a full scan. Events of one conversation are applied one
 * at a time by its workflow, so read-then-write on a message of that conversation does not race. Edits and reactions
 * do not rely on that: they may come before their message, and are applied by conditional updates whoever writes
 * first (src/inbound/early-changes.ts).
 */
import { insertIfAbsent } from '../db/insert-if-absent';
import type { Models } from '../db/models';
import type { Conversation } from '../db/models/conversation';
import { makeCustomerKey, type Customer } from '../db/models/customer';
import type { LinkedAccount } from '../db/models/linked-account';
import type { Message, MessageReaction } from '../db/models/message';
import type { OutboundMid } from '../db/models/outbound-mid';
import type { WebhookEvent } from '../db/models/webhook-event';
import { nextWindowClosesAt } from '../domain/window';
import { editNumberOf, movesWindow, projectMessage, type InboundEventKind, type MessageProjection } from '../domain/webhook-events';
import type { GraphClient, UserProfile } from '../graph/client';
import { createEarlyChanges } from '../inbound/early-changes';
import type { Logger } from '../logger';
import type { EngineMetrics } from '../metrics/engine-metrics';
import type { TokenCipher } from '../security/token-cipher';
import { contentFingerprint } from '../outbound/fingerprint';
import { FailureType } from '../temporal/failures';
import type {
  CloseConversationInput,
  ParkInboundEventInput,
  RecordedInboundEvent,
  RecordedInboundEvents,
  RecordInboundEventInput,
  RecordInboundEventsInput,
  RefreshCustomerProfileInput,
} from './conversation-contract';
import { ActivityError } from './failures';
import { recordInOrder } from './record-in-order';

const ACCOUNT_CACHE_MS = 5_000;
/** An echo settles a reply whose outcome was unknown only if it came this soon after the send was tried. */
const ECHO_MATCH_WINDOW_MS = 10 * 60_000;

export interface InboundActivityDeps {
  models: Models;
  graph: Pick<GraphClient, 'getUserProfile'>;
  cipher: TokenCipher;
  logger: Logger;
  /** Events are counted once, when first recorded or parked; a reply an echo confirms counts as sent. */
  metrics: Pick<EngineMetrics, 'inboundEventRecorded' | 'inboundEventParked' | 'sendSettled'>;
  /** The Meta app id of this engine: echoes that carry it are of the engine's own sends. */
  appId: string;
  /** A customer's profile is fetched again when older than this (B10: a changed username shows on the next message). */
  profileStaleAfterMs: number;
  /** How long one Profile API call may take; defaults to PROFILE_FETCH_TIMEOUT_MS. */
  profileFetchTimeoutMs?: number;
  now?: () => number;
}

/**
 * Shorter than the refresh activity's own limit (5 s in the conversation workflow): a slow Profile API then ends
 * as a failure the activity records on the customer and Temporal retries, not as an activity timeout.
 */
export const PROFILE_FETCH_TIMEOUT_MS = 3_000;

/**
 * A stored message's id: Meta's mid, or else one derived from its webhook event's key. Never random, so an activity
 * retried after it inserted the message finds it instead of inserting it twice.
 */
export function messageIdOf(event: Pick<WebhookEvent, '_id' | 'mid'>): string {
  return event.mid ?? `event-${event._id}`;
}

export function createInboundActivities(deps: InboundActivityDeps) {
  const now = deps.now ?? Date.now;
  const profileFetchTimeoutMs = deps.profileFetchTimeoutMs ?? PROFILE_FETCH_TIMEOUT_MS;
  const { models } = deps;
  const changes = createEarlyChanges({ models, now });

  // Every event of an account needs its link (channel, settings, token); a few seconds of staleness is harmless
  // and saves a database read per event.
  const accountCache = new Map<string, { account: LinkedAccount; until: number }>();
  async function loadAccount(igAccountId: string): Promise<LinkedAccount> {
    const cached = accountCache.get(igAccountId);
    if (cached && cached.until > now()) return cached.account;
    const account = await models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>();
    if (!account) throw new ActivityError(FailureType.AccountNotActive, `Instagram account ${igAccountId} is not linked to any channel`);
    accountCache.set(igAccountId, { account, until: now() + ACCOUNT_CACHE_MS });
    return account;
  }

  /** A profile never fetched, or fetched longer ago than the limit (B10: a changed username shows on a later message). */
  function profileIsStale(customer: Customer): boolean {
    return customer.profileFetchedAt === null || now() - customer.profileFetchedAt.getTime() >= deps.profileStaleAfterMs;
  }

  /**
   * Creates the customer when new, without a profile: the message must not wait for the Profile API. Answers
   * whether a profile fetch is due (the workflow runs it beside the events). Nothing is written for a known customer.
   */
  async function ensureCustomer(account: LinkedAccount, igsid: string, firstOfConversation = false): Promise<boolean> {
    const key = makeCustomerKey(account.igAccountId, igsid);
    const created: Customer = {
      _id: key,
      igAccountId: account.igAccountId,
      igsid,
      channelId: account.channelId,
      username: null,
      name: null,
      profilePicUrl: null,
      usernameHistory: [],
      profileFetchedAt: null,
      profileError: null,
      memberId: null,
      firstSeenAt: new Date(now()),
    };
    const read = (): Promise<Customer | null> => models.customers.findOne({ _id: key }).lean<Customer>();
    let customer = await read();
    if (!customer) customer = (await insertIfAbsent(models.customers, { ...created })) ? created : await read();
    // No token once the Facebook user who granted it had their data deleted: nothing can be fetched.
    if (!customer || !account.pageToken) return false;
    // B10: each new conversation reads the profile again, whatever its age.
    return firstOfConversation || profileIsStale(customer);
  }

  /** Stores a fetched profile; the old username stays in the history and the new one is added once (B10). */
  async function storeProfile(customer: Customer, profile: UserProfile): Promise<void> {
    const at = new Date(now());
    const username = profile.username || null;
    const update: Record<string, unknown> = {
      $set: { username, name: profile.name || null, profilePicUrl: profile.profilePic || null, profileFetchedAt: at, profileError: null },
    };
    if (username && !customer.usernameHistory.some((entry) => entry.username === username)) {
      update.$push = { usernameHistory: { username, seenAt: at } };
    }
    await models.customers.updateOne({ _id: customer._id }, update);
  }

  async function touchConversation(
    input: RecordInboundEventInput,
    account: LinkedAccount,
    update: { customerMessageAt?: Date; messageAt?: Date; set?: Record<string, unknown> },
  ): Promise<void> {
    const max: Record<string, Date> = {};
    if (update.customerMessageAt) {
      max.lastCustomerMessageAt = update.customerMessageAt;
      max.windowClosesAt = new Date(nextWindowClosesAt(undefined, update.customerMessageAt.getTime()));
    }
    if (update.messageAt) max.lastMessageAt = update.messageAt;
    const changes = { ...(Object.keys(max).length > 0 ? { $max: max } : {}), ...(update.set ? { $set: update.set } : {}) };
    const apply = async (): Promise<boolean> => Object.keys(changes).length > 0 && (await models.conversations.updateOne({ _id: input.conversationId }, changes)).matchedCount > 0;
    if (await apply()) return;
    const created: Conversation = {
      _id: input.conversationId,
      conversationId: input.conversationId,
      channelId: account.channelId,
      igAccountId: input.igAccountId,
      igsid: input.igsid,
      state: 'open',
      workflowId: input.workflowId,
      openedAt: new Date(now()),
      lastCustomerMessageAt: null,
      windowClosesAt: null,
      lastMessageAt: null,
      lastReadMid: null,
      lastReferral: null,
      closedAt: null,
      ...max,
      ...update.set,
    };
    // Lost a race with another writer of the same conversation: apply the changes to what it created.
    if (!(await insertIfAbsent(models.conversations, { ...created }))) await apply();
  }

  /**
   * A message by Meta's mid: what customers sent is keyed by it; the engine's own replies are found through their
   * mid index. Both are `_id` lookups.
   */
  async function findByMid(mid: string | null): Promise<Message | null> {
    if (mid === null) return null;
    const keyed = await models.messages.findOne({ _id: mid }).lean<Message>();
    if (keyed) return keyed;
    const own = await models.outboundMids.findOne({ _id: mid }).lean<OutboundMid>();
    return own ? models.messages.findOne({ _id: own.messageId }).lean<Message>() : null;
  }

  /** Records that the engine's reply went out as `mid` (the echo says so): the mid index first, then the reply. */
  async function settleAsSent(message: Message, mid: string, sentAt: Date): Promise<void> {
    await insertIfAbsent(models.outboundMids, { _id: mid, messageId: message._id });
    await models.messages.updateOne({ _id: message._id }, { $set: { status: 'sent', mid, 'outbound.sentToMetaAt': sentAt, error: null } });
    // A reaction to the reply may have come while it had no known mid.
    await changes.applyHeldChanges(mid);
    deps.metrics.sendSettled('sent');
  }

  /**
   * Inserts a message once per mid, then applies the edit and reaction that came before it. A message the customer
   * already unsent stays deleted and empty.
   */
  async function insertMessage(event: WebhookEvent, fields: Omit<Message, '_id' | 'messageId' | 'deletedAt' | 'editCount' | 'reaction' | 'error'>): Promise<void> {
    // Keyed by mid: a second delivery, or an unsend that arrived first and left a tombstone, keeps what is there.
    const messageId = messageIdOf(event);
    const message: Message = { ...fields, _id: messageId, messageId, deletedAt: null, editCount: 0, editedAt: null, reaction: null, reactionAt: null, error: null };
    await insertIfAbsent(models.messages, { ...message });
    // Also when it was there already: an attempt that stored it may have stopped before this.
    if (fields.mid !== undefined) await changes.applyHeldChanges(fields.mid);
  }

  function messageFields(event: WebhookEvent, input: RecordInboundEventInput, account: LinkedAccount, projection: MessageProjection, sender: 'customer' | 'bot') {
    return {
      mid: event.mid ?? undefined,
      conversationId: input.conversationId,
      channelId: account.channelId,
      igAccountId: input.igAccountId,
      igsid: input.igsid,
      direction: sender === 'customer' ? ('inbound' as const) : ('outbound' as const),
      senderType: sender,
      kind: projection.kind,
      text: projection.text,
      attachments: projection.attachments,
      story: projection.story,
      replyToMid: projection.replyToMid,
      sentAt: event.occurredAt,
      receivedAt: event.receivedAt,
      status: sender === 'customer' ? ('received' as const) : ('sent' as const),
    };
  }

  /**
   * An echo of this app's send, with a mid no stored reply has: the reply whose send had no known outcome, to the
   * same customer, with the same content, tried shortly before, was sent after all. Answers its id, if any.
   */
  async function settleUnconfirmedSend(event: WebhookEvent, input: RecordInboundEventInput, projection: MessageProjection): Promise<string | undefined> {
    const fingerprint = contentFingerprint({ text: projection.text, attachmentTypes: projection.attachments.map((attachment) => attachment.type) });
    const candidates = await models.messages
      .find({ conversationId: input.conversationId, direction: 'outbound', status: { $in: ['sending', 'unknown'] } })
      .sort({ sentAt: 1, _id: 1 })
      .lean<Message[]>();
    const echoedAt = event.occurredAt.getTime();
    const match = candidates.find((candidate) => {
      const triedAt = candidate.outbound?.sendingAt?.getTime();
      return candidate.igsid === input.igsid && candidate.outbound?.fingerprint === fingerprint && triedAt !== undefined && Math.abs(echoedAt - triedAt) <= ECHO_MATCH_WINDOW_MS;
    });
    if (!match || event.mid === null) return undefined;
    await settleAsSent(match, event.mid, event.occurredAt);
    return match._id;
  }

  async function skip(event: WebhookEvent, input: RecordInboundEventInput, reason: string): Promise<RecordedInboundEvent> {
    await models.webhookEvents.updateOne(
      { _id: event._id },
      { $set: { status: 'skipped', skipReason: reason, conversationId: input.conversationId, recordedAt: new Date(now()) } },
    );
    deps.metrics.inboundEventRecorded(event.kind, 'skipped');
    return { kind: event.kind, occurredAt: event.occurredAt.getTime(), movesWindow: false, outcome: 'skipped' };
  }

  async function apply(event: WebhookEvent, input: RecordInboundEventInput, account: LinkedAccount): Promise<RecordedInboundEvent> {
    const kind = event.kind as InboundEventKind;
    const occurredAt = event.occurredAt;
    const payload = event.payload as Record<string, unknown>;
    const recorded: RecordedInboundEvent = { kind, occurredAt: occurredAt.getTime(), movesWindow: movesWindow(kind), outcome: 'recorded' };

    switch (kind) {
      case 'message': {
        const projection = projectMessage(payload, occurredAt.getTime());
        if (projection.kind === 'story_mention' && !account.settings.openOnStoryMention) return skip(event, input, 'story mentions do not open conversations for this account (A11)');
        if (projection.kind === 'post_share' && !account.settings.openOnPostShare) return skip(event, input, 'shared posts do not open conversations for this account (A11)');
        const profileDue = await ensureCustomer(account, input.igsid, input.firstOfConversation);
        await insertMessage(event, messageFields(event, input, account, projection, 'customer'));
        await touchConversation(input, account, { customerMessageAt: occurredAt, messageAt: occurredAt });
        return { ...recorded, profileDue };
      }
      case 'postback': {
        const postback = (payload.postback ?? {}) as { title?: string; payload?: string };
        const profileDue = await ensureCustomer(account, input.igsid, input.firstOfConversation);
        const projection: MessageProjection = { kind: 'postback', text: postback.title ?? postback.payload ?? null, attachments: [], story: null, replyToMid: null, quickReplyPayload: null };
        await insertMessage(event, messageFields(event, input, account, projection, 'customer'));
        await touchConversation(input, account, { customerMessageAt: occurredAt, messageAt: occurredAt });
        return { ...recorded, profileDue };
      }
      case 'referral': {
        const referral = (payload.referral ?? {}) as { ref?: string; source?: string };
        const profileDue = await ensureCustomer(account, input.igsid, input.firstOfConversation);
        await touchConversation(input, account, { customerMessageAt: occurredAt, set: { lastReferral: { ref: referral.ref ?? null, source: referral.source ?? null, at: occurredAt } } });
        return { ...recorded, profileDue };
      }
      case 'echo': {
        const known = await findByMid(event.mid);
        if (known?.outbound) {
          // The reply's own echo. Its send may have stopped before recording the outcome: the echo settles it.
          if (known.status === 'sent' || event.mid === null) return { ...recorded, outcome: 'matched-own-send' };
          await settleAsSent(known, event.mid, event.occurredAt);
          return { ...recorded, outcome: 'matched-own-send', settledMessageId: known._id };
        }
        if (known) return recorded;
        // While a send is in flight, an echo with an unknown mid may be that very send: decide once it settled.
        if (input.holdUnknownEchoes) return { ...recorded, outcome: 'own-send-unsettled' };
        const message = (payload.message ?? {}) as { app_id?: string | number };
        const projection = projectMessage(payload, occurredAt.getTime());
        if (message.app_id !== undefined && String(message.app_id) === deps.appId) {
          const settled = await settleUnconfirmedSend(event, input, projection);
          if (settled) return { ...recorded, outcome: 'matched-own-send', settledMessageId: settled };
          return skip(event, input, 'an echo of a message this app sent that the inbox does not know');
        }
        // B9: a reply made in the Instagram app shows in the conversation as the bot's.
        await insertMessage(event, messageFields(event, input, account, projection, 'bot'));
        await touchConversation(input, account, { messageAt: occurredAt });
        return recorded;
      }
      case 'deleted': {
        // B11: keep the place in the conversation, drop the content. A tombstone if the message is not here yet.
        const messageId = messageIdOf(event);
        const tombstone: Message = {
          _id: messageId,
          messageId,
          mid: event.mid ?? undefined,
          conversationId: input.conversationId,
          channelId: account.channelId,
          igAccountId: input.igAccountId,
          igsid: input.igsid,
          direction: 'inbound',
          senderType: 'customer',
          kind: 'text',
          text: null,
          attachments: [],
          story: null,
          replyToMid: null,
          sentAt: occurredAt,
          receivedAt: event.receivedAt,
          status: 'received',
          deletedAt: occurredAt,
          editCount: 0,
          editedAt: null,
          reaction: null,
          reactionAt: null,
          error: null,
        };
        if (!(await insertIfAbsent(models.messages, { ...tombstone }))) {
          const target = await findByMid(event.mid);
          if (target) await models.messages.updateOne({ _id: target._id }, { $set: { deletedAt: occurredAt, text: null, attachments: [], story: null } });
        }
        // A reaction that came before still shows on the placeholder; an edit never fills it again.
        if (event.mid !== null) await changes.applyHeldChanges(event.mid);
        return recorded;
      }
      case 'reaction': {
        const reaction = (payload.reaction ?? {}) as { action?: string; reaction?: string; emoji?: string };
        const value: MessageReaction | null = reaction.action === 'react' ? { by: 'customer', reaction: reaction.reaction ?? 'other', emoji: reaction.emoji ?? null, at: occurredAt } : null;
        // Reactions are recorded on the message, not shown as messages (B8); a late older one does not win, and one
        // that came before its message is applied when the message is stored.
        if (event.mid !== null) await changes.recordReaction({ mid: event.mid, reaction: value, at: occurredAt, eventKey: event._id });
        return recorded;
      }
      case 'read':
        await touchConversation(input, account, { set: { lastReadMid: event.mid } });
        return recorded;
      case 'edit': {
        const edit = (payload.message_edit ?? {}) as { text?: unknown; num_edit?: unknown };
        // The newest edit by Meta's time wins, whatever order they come in; one that came before its message is
        // applied when the message is stored.
        const text = typeof edit.text === 'string' ? edit.text : null;
        if (event.mid !== null) await changes.recordEdit({ mid: event.mid, text, editCount: editNumberOf(edit.num_edit), at: occurredAt, eventKey: event._id });
        return recorded;
      }
      default:
        return skip(event, input, `events of kind ${kind} are not shown in the inbox`);
    }
  }

  /**
   * A second dispatch of an event already applied (a retry after a crash, a sweeper's re-dispatch): the same
   * answer, nothing changed; whether the profile is due is asked again, since the first answer may have been lost.
   */
  async function answerAgain(event: WebhookEvent, outcome: 'recorded' | 'skipped', input: RecordInboundEventInput): Promise<RecordedInboundEvent> {
    const moves = outcome === 'recorded' && movesWindow(event.kind as InboundEventKind);
    const answer: RecordedInboundEvent = { kind: event.kind, occurredAt: event.occurredAt.getTime(), movesWindow: moves, outcome };
    if (!moves) return answer;
    // Only a hint: an account unlinked since must not turn an applied event into a failed one.
    const account = await loadAccount(input.igAccountId).catch(() => undefined);
    return { ...answer, profileDue: account !== undefined && (await ensureCustomer(account, input.igsid, input.firstOfConversation)) };
  }

  async function recordInboundEvent(input: RecordInboundEventInput): Promise<RecordedInboundEvent> {
    const event = await models.webhookEvents.findOne({ _id: input.eventId }).lean<WebhookEvent>();
    if (!event) throw new ActivityError(FailureType.EventNotFound, `no stored webhook event ${input.eventId}`);
    if (event.status === 'recorded' || event.status === 'skipped') return answerAgain(event, event.status, input);
    const account = await loadAccount(input.igAccountId);
    const result = await apply(event, input, account);
    if (result.outcome === 'recorded' || result.outcome === 'matched-own-send') {
      await models.webhookEvents.updateOne(
        { _id: event._id },
        { $set: { status: 'recorded', conversationId: input.conversationId, recordedAt: new Date(now()) } },
      );
      deps.metrics.inboundEventRecorded(event.kind, result.outcome);
    }
    return result;
  }

  return {
    recordInboundEvent,

    /** Several pending events of the conversation in one call: one activity for a burst instead of one per event. */
    async recordInboundEvents(input: RecordInboundEventsInput): Promise<RecordedInboundEvents> {
      return recordInOrder(input, recordInboundEvent);
    },

    /**
     * Fetches the customer's profile and stores it (B10). A failure is recorded on the customer (`profileError`)
     * and raised, so Temporal retries what may pass; the customer keeps what is known meanwhile.
     */
    async refreshCustomerProfile(input: RefreshCustomerProfileInput): Promise<void> {
      const account = await loadAccount(input.igAccountId);
      const key = makeCustomerKey(input.igAccountId, input.igsid);
      const customer = await models.customers.findOne({ _id: key }).lean<Customer>();
      // No token once the Facebook user who granted it had their data deleted: nothing can be fetched.
      if (!customer || !account.pageToken) return;
      try {
        const accessToken = deps.cipher.open(account.pageToken, { boundTo: account.igAccountId });
        const profile = await deps.graph.getUserProfile({ igsid: input.igsid, accessToken, fields: ['name', 'username', 'profile_pic'], timeoutMs: profileFetchTimeoutMs });
        await storeProfile(customer, profile);
      } catch (error) {
        const type = (error as { type?: string }).type ?? 'Error';
        deps.logger.warn('profile fetch failed; the customer keeps what is known', { igAccountId: input.igAccountId, igsid: input.igsid, type, error: (error as Error).message });
        await models.customers.updateOne({ _id: key }, { $set: { profileError: type } });
        throw error;
      }
    },

    async parkInboundEvent(input: ParkInboundEventInput): Promise<void> {
      // The document as it was: its kind for the count, and whether a retry of this activity parked it already.
      const recordAttempts = input.attempts ?? null;
      const before = await models.webhookEvents
        .findOneAndUpdate({ _id: input.eventId }, { $set: { status: 'parked', problem: input.reason, recordAttempts } }, { projection: { kind: 1, status: 1 } })
        .lean<Pick<WebhookEvent, 'kind' | 'status'>>();
      if (before && before.status !== 'parked') deps.metrics.inboundEventParked(before.kind);
      deps.logger.warn('inbound event parked', { eventId: input.eventId, reason: input.reason, attempts: recordAttempts });
    },

    async closeConversation(input: CloseConversationInput): Promise<void> {
      await models.conversations.updateOne({ _id: input.conversationId }, { $set: { state: 'closed', closedAt: new Date(input.closedAt) } });
    },
  };
}

export type InboundActivities = ReturnType<typeof createInboundActivities>;
