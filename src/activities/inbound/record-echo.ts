/**
 * Echoes: Meta's copy of every message the business account sent. The echo of the engine's own reply settles it,
 * since its send may have stopped before the outcome was written, or ended with an unknown one; it is not shown
 * again. While a send is in flight, an echo with an unknown mid may be that very send, so it is handed back to be
 * decided once the send settled. A reply made in the Instagram app is shown in the conversation as the bot's (B9).
 */
import { insertIfAbsent } from '../../db/insert-if-absent';
import type { Models } from '../../db/models';
import type { Message } from '../../db/models/message';
import type { WebhookEvent } from '../../db/models/webhook-event';
import { projectMessage, type MessageProjection } from '../../domain/webhook-events';
import type { EarlyChanges } from '../../inbound/early-changes';
import type { EngineMetrics } from '../../metrics/engine-metrics';
import { contentFingerprint } from '../../outbound/fingerprint';
import type { RecordedInboundEvent, RecordInboundEventInput } from '../conversation-contract';
import type { ConversationWrites } from './conversation-writes';
import type { EventOutcomes } from './event-outcomes';
import type { EventToApply, RecordKind } from './record-event';
import { messageFields, type MessageStore } from './stored-messages';

/** An echo settles a reply whose outcome was unknown only if it came this soon after the send was tried. */
const ECHO_MATCH_WINDOW_MS = 10 * 60_000;

export interface EchoDeps {
  models: Pick<Models, 'messages' | 'outboundMids'>;
  /** A reply an echo confirms counts as sent. */
  metrics: Pick<EngineMetrics, 'sendSettled'>;
  changes: Pick<EarlyChanges, 'applyHeldChanges'>;
  messages: Pick<MessageStore, 'findByMid' | 'insertMessage'>;
  conversations: Pick<ConversationWrites, 'touchConversation'>;
  outcomes: Pick<EventOutcomes, 'skip'>;
  /** The Meta app id of this engine: echoes that carry it are of the engine's own sends. */
  appId: string;
}

export function createEchoRecorder(deps: EchoDeps): RecordKind {
  const { models } = deps;

  /** Records that the engine's reply went out as `mid` (the echo says so): the mid index first, then the reply. */
  async function settleAsSent(message: Message, mid: string, sentAt: Date): Promise<void> {
    await insertIfAbsent(models.outboundMids, { _id: mid, messageId: message._id });
    await models.messages.updateOne({ _id: message._id }, { $set: { status: 'sent', mid, 'outbound.sentToMetaAt': sentAt, error: null } });
    // A reaction to the reply may have come while it had no known mid.
    await deps.changes.applyHeldChanges(mid);
    deps.metrics.sendSettled('sent');
  }

  /**
   * An echo of this app's send, with a mid no stored reply has: the reply whose send had no known outcome, to the
   * same customer, with the same content, tried shortly before, was sent after all. Answers its id, if any. The one
   * lookup of these activities that is not by `_id`; it runs only for such an echo.
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

  /** The echo of a stored reply: its send may have stopped before recording the outcome, so the echo settles it. */
  async function settleOwnReply(reply: Message, { event, recorded }: EventToApply): Promise<RecordedInboundEvent> {
    if (reply.status === 'sent' || event.mid === null) return { ...recorded, outcome: 'matched-own-send' };
    await settleAsSent(reply, event.mid, event.occurredAt);
    return { ...recorded, outcome: 'matched-own-send', settledMessageId: reply._id };
  }

  /** An echo of this app's send that no stored reply's mid matches. */
  async function settleUnknownOwnEcho({ event, input, recorded }: EventToApply, projection: MessageProjection): Promise<RecordedInboundEvent> {
    const settled = await settleUnconfirmedSend(event, input, projection);
    if (settled) return { ...recorded, outcome: 'matched-own-send', settledMessageId: settled };
    return deps.outcomes.skip(event, input, 'an echo of a message this app sent that the inbox does not know');
  }

  return async function recordEcho(target: EventToApply): Promise<RecordedInboundEvent> {
    const { event, input, account, payload, recorded } = target;
    const known = await deps.messages.findByMid(event.mid);
    if (known?.outbound) return settleOwnReply(known, target);
    if (known) return recorded;
    if (input.holdUnknownEchoes) return { ...recorded, outcome: 'own-send-unsettled' };
    const message = (payload.message ?? {}) as { app_id?: string | number };
    const projection = projectMessage(payload, event.occurredAt.getTime());
    if (message.app_id !== undefined && String(message.app_id) === deps.appId) return settleUnknownOwnEcho(target, projection);
    // A reply made in the Instagram app shows in the conversation as the bot's (B9).
    await deps.messages.insertMessage(event, messageFields(event, input, account, projection, 'bot'));
    await deps.conversations.touchConversation(input, account, { messageAt: event.occurredAt });
    return recorded;
  };
}
