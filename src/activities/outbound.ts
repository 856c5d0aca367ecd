/**
 * Outbound activities of the conversation workflow: send one queued reply through the Send API, and record what
 * became of it. A send is recorded before and after the call (`sending`, then `sent`), so an attempt that finds a
 * message still `sending` knows an earlier attempt died mid-call and never sends it again blindly. Every lookup is
 * by `_id`. The workflow sends one message of a conversation at a time, so these writes race only with the API
 * giving a reply up (NotQueued), and `sending` is written only over `queued`.
 */
import { insertIfAbsent } from '../db/insert-if-absent';
import type { Models } from '../db/models';
import { inactiveAccountAdvice, type LinkedAccount, type LinkStatus } from '../db/models/linked-account';
import type { Message } from '../db/models/message';
import { DomainError, UnknownOutcomeError } from '../domain/errors';
import { tokenRevokedReasonOf, type TokenRevokedReason } from '../domain/link';
import type { GraphClient, OutgoingMessage } from '../graph/client';
import { createEarlyChanges } from '../inbound/early-changes';
import type { Logger } from '../logger';
import type { EngineMetrics } from '../metrics/engine-metrics';
import type { TokenCipher } from '../security/token-cipher';
import { FailureType } from '../temporal/failures';
import type { AccountProblemInput, RecordSendFailureInput, SendMessageInput, SentMessageResult } from './conversation-contract';
import { ActivityError } from './failures';

export interface OutboundActivityDeps {
  models: Pick<Models, 'messages' | 'linkedAccounts' | 'outboundMids' | 'earlyMessageChanges'>;
  graph: Pick<GraphClient, 'sendMessage'>;
  cipher: TokenCipher;
  logger: Logger;
  /** Each reply is counted when its outcome is written, not again when a retry finds it written. */
  metrics: Pick<EngineMetrics, 'sendSettled'>;
  /** The public address Meta fetches a stored image from. */
  mediaUrl: (mediaId: string) => string;
  /**
   * Hands a token problem to the account's lifecycle workflow (signal `tokenRevoked`); false when no such workflow
   * is running. Without it, the linked account's status is written here.
   */
  signalAccount?: (igAccountId: string, signal: { reason: TokenRevokedReason }) => Promise<boolean>;
  now?: () => number;
}

export function createOutboundActivities(deps: OutboundActivityDeps) {
  const { models } = deps;
  const now = deps.now ?? Date.now;
  const changes = createEarlyChanges({ models, now });

  async function loadMessage(messageId: string): Promise<Message> {
    const message = await models.messages.findOne({ _id: messageId }).lean<Message>();
    if (!message?.outbound) throw new ActivityError(FailureType.MessageNotFound, `no reply ${messageId} is stored`);
    return message;
  }

  async function loadActiveAccount(igAccountId: string): Promise<LinkedAccount> {
    const account = await models.linkedAccounts.findOne({ _id: igAccountId }).lean<LinkedAccount>();
    if (!account) throw new ActivityError(FailureType.AccountNotActive, `Instagram account ${igAccountId} is not linked to any channel`);
    if (account.status !== 'active') {
      throw new ActivityError(FailureType.AccountNotActive, `Instagram account @${account.username} cannot send: ${inactiveAccountAdvice(account.status)}`);
    }
    return account;
  }

  /** A reply the API gave up on (it told the client nothing was sent) is never sent: it keeps its reason. */
  function refuseUnlessQueued(message: Message): void {
    if (message.status === 'queued') return;
    if (message.status === 'failed' && message.error?.type === FailureType.NotQueued) throw new ActivityError(FailureType.NotQueued, message.error.message);
    throw new ActivityError(FailureType.Unexpected, `reply ${message._id} is ${message.status}, not queued`);
  }

  function outgoing(message: Message): OutgoingMessage {
    const mediaId = message.outbound?.mediaId;
    if (message.kind === 'image' && mediaId) return { kind: 'image', url: deps.mediaUrl(mediaId) };
    return { kind: 'text', text: message.text ?? '' };
  }

  return {
    async sendMessage(input: SendMessageInput): Promise<SentMessageResult> {
      const message = await loadMessage(input.messageId);
      if (message.status === 'sent' && message.mid && message.outbound?.sentToMetaAt) {
        // A retry after the attempt that sent it failed at the end: what it did not finish is done here.
        await changes.applyHeldChanges(message.mid);
        return { mid: message.mid, sentAt: message.outbound.sentToMetaAt.getTime() };
      }
      if (message.status === 'sending') {
        throw new UnknownOutcomeError('an earlier attempt to send this message stopped during the call: Meta may have sent it');
      }
      refuseUnlessQueued(message);
      const account = await loadActiveAccount(input.igAccountId);
      // Opened before the message is marked `sending`: a token that does not open (a key missing from this process's
      // keyring during a rotation) fails the attempt without making it look as if Meta might have sent the reply.
      if (!account.pageToken) throw new ActivityError(FailureType.AccountNotActive, `Instagram account @${account.username} has no Page token: link it again`);
      const accessToken = deps.cipher.open(account.pageToken, { boundTo: account.igAccountId });

      // Only from `queued`: the API may give the reply up meanwhile (NotQueued), and whichever write comes first decides.
      const taken = await models.messages.updateOne(
        { _id: message._id, status: 'queued' },
        { $set: { status: 'sending', 'outbound.sendingAt': new Date(now()), 'outbound.tag': input.tag ?? null }, $inc: { 'outbound.attempts': 1 } },
      );
      if (taken.matchedCount === 0) {
        refuseUnlessQueued(await loadMessage(input.messageId));
        throw new ActivityError(FailureType.Unexpected, `reply ${input.messageId} changed while it was being sent`, true);
      }
      try {
        const sent = await deps.graph.sendMessage({
          accessToken,
          recipientId: input.igsid,
          message: outgoing(message),
          ...(input.tag === undefined ? {} : { tag: input.tag }),
        });
        const sentAt = now();
        // The mid index first: the echo finds the reply by it, whichever of the two writes a crash interrupts.
        await insertIfAbsent(models.outboundMids, { _id: sent.messageId, messageId: message._id });
        await models.messages.updateOne({ _id: message._id }, { $set: { status: 'sent', mid: sent.messageId, 'outbound.sentToMetaAt': new Date(sentAt), error: null } });
        // A reaction to the reply that came before its mid was known (held by early-changes.ts).
        await changes.applyHeldChanges(sent.messageId);
        deps.metrics.sendSettled('sent');
        return { mid: sent.messageId, sentAt };
      } catch (error) {
        // Meta answered with a refusal: nothing went out, so the message waits again for the workflow's decision.
        // An unknown outcome (and anything after Meta's answer) leaves it `sending`, which no attempt sends again.
        if (error instanceof DomainError && !(error instanceof UnknownOutcomeError)) {
          await models.messages.updateOne({ _id: message._id }, { $set: { status: 'queued' } });
        }
        deps.logger.warn('send failed', { messageId: message._id, igAccountId: input.igAccountId, type: (error as { type?: string }).type ?? 'Error' });
        throw error;
      }
    },

    async recordSendFailure(input: RecordSendFailureInput): Promise<void> {
      // The status as it was: a retry that finds this status written already is not counted again.
      const before = await models.messages
        .findOneAndUpdate({ _id: input.messageId }, { $set: { status: input.status, error: input.failure } }, { projection: { status: 1 } })
        .lean<Pick<Message, 'status'>>();
      if (before && before.status !== input.status) deps.metrics.sendSettled(input.status);
    },

    async settleUnknownSend({ messageId }: { messageId: string }): Promise<'sent' | 'unknown'> {
      const message = await loadMessage(messageId);
      if (message.status === 'sent') return 'sent';
      await models.messages.updateOne(
        { _id: messageId },
        {
          $set: {
            status: 'unknown',
            error: {
              type: FailureType.UnknownOutcome,
              message: 'Meta did not confirm whether this message was sent, and no echo of it arrived: check the conversation in Instagram before sending it again',
            },
          },
        },
      );
      // A retry of this activity finds it unknown already: counted once.
      if (message.status !== 'unknown') deps.metrics.sendSettled('unknown');
      return 'unknown';
    },

    async reportAccountProblem(input: AccountProblemInput): Promise<void> {
      // The account's lifecycle workflow owns its status and tells the owners; a signal repeated by a retry is
      // ignored there once the link has ended.
      const reason: TokenRevokedReason = input.type === 'MessagesAccessOff' ? 'messages_access_off' : tokenRevokedReasonOf(input.reason);
      if (deps.signalAccount && (await deps.signalAccount(input.igAccountId, { reason }))) {
        deps.logger.warn('linked account problem handed to its lifecycle', { igAccountId: input.igAccountId, reason });
        return;
      }
      // No lifecycle workflow runs for the account (linked before there was one): the account records why it stopped.
      const status: LinkStatus = input.type === 'MessagesAccessOff' ? 'messages_access_off' : 'reauth_required';
      const at = new Date(now());
      // A send that failed because the account was just unlinked (Meta's callbacks) leaves the unlink as it is.
      await models.linkedAccounts.updateOne(
        { _id: input.igAccountId, status: { $ne: 'unlinked' } },
        { $set: { status, statusReason: { type: input.type, reason: input.reason ?? null, message: input.message, at }, updatedAt: at } },
      );
      deps.logger.warn('linked account stopped by a send', { igAccountId: input.igAccountId, status, reason: input.reason ?? input.type });
    },
  };
}

export type OutboundActivities = ReturnType<typeof createOutboundActivities>;
