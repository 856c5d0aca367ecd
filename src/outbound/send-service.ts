/**
 * Replies from the inbox: everything Instagram would refuse is refused here first, with the rule and the numbers;
 * what passes is stored as queued and handed to the conversation's workflow (the `sendMessages` update), which
 * owns the 24-hour and 7-day rules and sends one message at a time. Nothing here waits for Meta, unless the
 * caller asked to wait for the outcome, and then only for a bounded time.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { sleep } from '../async';
import { HttpError } from '../api/errors';
import { insertIfAbsent } from '../db/insert-if-absent';
import type { Models } from '../db/models';
import type { Conversation } from '../db/models/conversation';
import { inactiveAccountAdvice, type LinkedAccount } from '../db/models/linked-account';
import type { Manager } from '../db/models/manager';
import type { Message, MessageError } from '../db/models/message';
import { MediaRejectedError, TextTooLongError } from '../domain/errors';
import { MAX_TEXT_BYTES, splitText, utf8ByteLength } from '../domain/text';
import { FailureType } from '../temporal/failures';
import { closeConversationUpdate, SendRefusal, sendMessagesUpdate, type MessageSender } from '../workflows/conversation';
import { contentFingerprint } from './fingerprint';
import { hashRequest, idFromIdempotencyKey, type IdempotencyScope, type IdempotencyStore } from './idempotency';
import type { CheckedImage } from './media-store';
import { storeCheckedImage } from './media-store';

export interface SendRequest {
  sender: MessageSender;
  text?: string;
  /** Split a text over Instagram's byte limit into several messages, in order, instead of refusing it. */
  split?: boolean;
  imageUrl?: string;
  upload?: { bytes: Uint8Array; filename: string | null };
}

export interface SendServiceDeps {
  models: Pick<Models, 'conversations' | 'messages' | 'linkedAccounts' | 'mediaFiles'>;
  temporal: Pick<Client, 'workflow' | 'connection'>;
  idempotency: IdempotencyStore;
  /** Checks uploaded bytes: what they really are, within Instagram's limits. */
  inspectImage: (bytes: Uint8Array) => CheckedImage;
  /** Fetches and checks an image URL, bounded in time and size, refusing private addresses outside development. */
  fetchImage: (url: string) => Promise<CheckedImage>;
  /** The public address of a stored image. */
  mediaUrl: (mediaId: string) => string;
  /** The longest a request waits for its messages' outcome (`?wait=sent`) or for the workflow to take them. */
  waitLimitMs: number;
  now: () => number;
}

export interface SendAnswer {
  /** 202: queued (or still going); 200: every message reached its outcome (waited for); 409: refused. */
  status: 200 | 202 | 409;
  messages: Message[];
  refusal?: { type: string; message: string };
}

const settledStatuses = new Set(['sent', 'failed', 'unknown']);

export function createSendService(deps: SendServiceDeps) {
  const { models } = deps;

  async function loadConversation(manager: Manager, conversationId: string): Promise<Conversation> {
    const conversation = await models.conversations.findOne({ _id: conversationId }).lean<Conversation>();
    // Another channel's conversation is answered as if it did not exist.
    if (!conversation || conversation.channelId !== manager.channelId) throw new HttpError(404, 'NotFound', `conversation ${conversationId} not found`);
    return conversation;
  }

  async function refuseUnlessSendable(conversation: Conversation): Promise<void> {
    if (conversation.state === 'closed') {
      throw new HttpError(409, 'ConversationClosed', 'the conversation is closed: Instagram ended it 7 days after the customer\'s last message (or a manager closed it); a new one opens when the customer writes again');
    }
    const account = await models.linkedAccounts.findOne({ _id: conversation.igAccountId }).lean<LinkedAccount>();
    if (!account || account.channelId !== conversation.channelId) {
      throw new HttpError(409, 'AccountNotLinked', `Instagram account ${conversation.igAccountId} is no longer linked to this channel: nothing can be sent from it`);
    }
    if (account.status !== 'active') {
      throw new HttpError(409, 'AccountNotActive', `Instagram account @${account.username} cannot send: ${inactiveAccountAdvice(account.status)}`, { status: account.status });
    }
    if (conversation.lastCustomerMessageAt === null) {
      throw new HttpError(409, 'CustomerNeverWrote', 'the customer has not written to this account: Instagram lets a business reply only after the customer wrote');
    }
  }

  /** The texts to send: one, or the parts of a long one when splitting was asked for. */
  function textParts(text: string, split: boolean): string[] {
    const bytes = utf8ByteLength(text);
    if (bytes <= MAX_TEXT_BYTES) return [text];
    if (!split) {
      const error = new TextTooLongError(bytes, MAX_TEXT_BYTES);
      throw new HttpError(422, error.type, `${error.message}, or send it with "split": true to have it sent as several messages in order`, { bytes, limit: MAX_TEXT_BYTES });
    }
    return splitText(text, MAX_TEXT_BYTES);
  }

  async function checkedImage(request: SendRequest): Promise<CheckedImage> {
    try {
      if (request.upload) return deps.inspectImage(request.upload.bytes);
      return await deps.fetchImage(request.imageUrl ?? '');
    } catch (error) {
      if (error instanceof MediaRejectedError) throw new HttpError(422, error.type, error.message, { reason: error.reason });
      throw error;
    }
  }

  async function storeQueued(manager: Manager, conversation: Conversation, request: SendRequest, scope: IdempotencyScope | undefined): Promise<Message[]> {
    const acceptedAt = deps.now();
    const base = {
      conversationId: conversation.conversationId,
      channelId: conversation.channelId,
      igAccountId: conversation.igAccountId,
      igsid: conversation.igsid,
      direction: 'outbound' as const,
      senderType: request.sender,
      story: null,
      replyToMid: null,
      receivedAt: new Date(acceptedAt),
      status: 'queued' as const,
      deletedAt: null,
      editCount: 0,
      reaction: null,
      error: null,
    };
    const outbound = (fingerprint: string, part: { index: number; count: number } | null, mediaId: string | null) => ({
      acceptedAt: new Date(acceptedAt),
      managerId: request.sender === 'manager' ? manager.managerId : null,
      fingerprint,
      tag: null,
      attempts: 0,
      sendingAt: null,
      sentToMetaAt: null,
      part,
      mediaId,
      idempotencyKey: scope?.key ?? null,
    });
    const generation = scope ? await keyedGeneration(scope) : 0;
    const messageId = (index: number): string => (scope ? idFromIdempotencyKey(scope, index, generation) : randomUUID());

    let messages: Message[];
    if (request.text !== undefined) {
      const parts = textParts(request.text, request.split === true);
      messages = parts.map((text, index) => {
        const id = messageId(index);
        // Parts are a millisecond apart so the conversation shows them in their order.
        return { ...base, _id: id, messageId: id, kind: 'text', text, attachments: [], sentAt: new Date(acceptedAt + index), outbound: outbound(contentFingerprint({ text, attachmentTypes: [] }), parts.length > 1 ? { index: index + 1, count: parts.length } : null, null) };
      });
    } else {
      const image = await checkedImage(request);
      const mediaId = await storeCheckedImage(models, {
        channelId: conversation.channelId,
        image,
        source: request.upload ? { kind: 'upload', filename: request.upload.filename } : { kind: 'url', url: request.imageUrl ?? '' },
        at: new Date(acceptedAt),
      });
      const id = messageId(0);
      messages = [
        {
          ...base,
          _id: id,
          messageId: id,
          kind: 'image',
          text: null,
          // The inbox shows the checked copy, the very bytes Meta is given.
          attachments: [{ type: 'image', url: deps.mediaUrl(mediaId), title: request.upload?.filename ?? null, mediaId: null }],
          sentAt: new Date(acceptedAt),
          outbound: outbound(contentFingerprint({ text: null, attachmentTypes: ['image'] }), null, mediaId),
        },
      ];
    }
    // A repeat of a keyed request finds its messages already there and keeps them as they are.
    for (const message of messages) await insertIfAbsent(models.messages, { ...message });
    return messages;
  }

  /**
   * The first run of a keyed request whose messages were not given up. Those given up were answered 503 ("send it
   * again") and are never sent; the workflow may have settled them, so the repeat sends new messages, not them.
   */
  async function keyedGeneration(scope: IdempotencyScope): Promise<number> {
    for (let generation = 0; ; generation += 1) {
      const first = await models.messages.findOne({ _id: idFromIdempotencyKey(scope, 0, generation) }).lean<Message>();
      if (first === null || !isGivenUp(first)) return generation;
    }
  }

  async function markFailed(messageIds: string[], error: MessageError): Promise<void> {
    await models.messages.updateMany({ _id: { $in: messageIds }, status: 'queued' }, { $set: { status: 'failed', error } });
  }

  /** The messages again, in their order; one `_id` lookup each (the one filter the local database never scans for). */
  async function reload(messageIds: string[]): Promise<Message[]> {
    const found = await Promise.all(messageIds.map((id) => models.messages.findOne({ _id: id }).lean<Message>()));
    return found.filter((message): message is Message => message !== null);
  }

  /** Hands the messages to the workflow; a refusal marks them failed with its reason. */
  async function enqueue(conversation: Conversation, sender: MessageSender, messageIds: string[]): Promise<{ type: string; message: string } | undefined> {
    const handle = deps.temporal.workflow.getHandle(conversation.workflowId);
    try {
      await deps.temporal.connection.withDeadline(deps.now() + deps.waitLimitMs, () =>
        handle.executeUpdate(sendMessagesUpdate, {
          args: [{ conversationId: conversation.conversationId, sender, messageIds, ...(conversation.lastCustomerMessageAt ? { lastCustomerMessageAt: conversation.lastCustomerMessageAt.getTime() } : {}) }],
          updateId: `send/${messageIds[0]}`,
        }),
      );
      return undefined;
    } catch (error) {
      const refusal = readRefusal(error);
      if (refusal) {
        await markFailed(messageIds, refusal);
        return refusal;
      }
      const failure: MessageError = { type: FailureType.NotQueued, message: 'the conversation\'s workflow could not be reached, so this message was not sent; send it again' };
      await markFailed(messageIds, failure);
      // An update that timed out may still reach the workflow: a message it began to send is on its way, not given up.
      if ((await reload(messageIds)).some((message) => !isGivenUp(message))) return undefined;
      throw new HttpError(503, 'TemporalUnavailable', `${failure.message} (${(error as Error).message})`);
    }
  }

  async function waitForOutcome(messageIds: string[]): Promise<Message[]> {
    const deadline = deps.now() + deps.waitLimitMs;
    for (;;) {
      const messages = await reload(messageIds);
      if (messages.every((message) => settledStatuses.has(message.status)) || deps.now() >= deadline) return messages;
      await sleep(50);
    }
  }

  return {
    async send(input: { manager: Manager; conversationId: string; request: SendRequest; idempotencyKey?: string; waitForOutcome: boolean }): Promise<SendAnswer> {
      const { manager, request } = input;
      const conversation = await loadConversation(manager, input.conversationId);
      const scope = input.idempotencyKey === undefined ? undefined : { channelId: manager.channelId, key: input.idempotencyKey };
      if (scope) {
        const { upload, ...described } = request;
        const requestHash = hashRequest({ conversationId: conversation.conversationId, ...described, upload: upload ? hashRequest(Buffer.from(upload.bytes).toString('base64')) : null });
        const claim = await deps.idempotency.claim(scope, requestHash);
        if (claim.kind === 'replay') return { ...(claim.body as Omit<SendAnswer, 'status'>), status: claim.status as SendAnswer['status'] };
      }
      let answer: SendAnswer;
      try {
        await refuseUnlessSendable(conversation);
        const stored = await storeQueued(manager, conversation, request, scope);
        const ids = stored.map((message) => message._id);
        const refusal = await enqueue(conversation, request.sender, ids);
        const messages = refusal === undefined && input.waitForOutcome ? await waitForOutcome(ids) : await reload(ids);
        const settled = messages.every((message) => settledStatuses.has(message.status));
        answer = refusal ? { status: 409, messages, refusal } : { status: input.waitForOutcome && settled ? 200 : 202, messages };
      } catch (error) {
        // Refused before anything was queued: the key is free to be used for a corrected request.
        if (scope) await deps.idempotency.release(scope);
        throw error;
      }
      if (scope) await deps.idempotency.complete(scope, answer.status, { messages: answer.messages, ...(answer.refusal ? { refusal: answer.refusal } : {}) });
      return answer;
    },

    async getMessage(manager: Manager, conversationId: string, messageId: string): Promise<Message> {
      const conversation = await loadConversation(manager, conversationId);
      const message = await models.messages.findOne({ _id: messageId }).lean<Message>();
      if (!message || message.conversationId !== conversation.conversationId) throw new HttpError(404, 'NotFound', `message ${messageId} not found in conversation ${conversationId}`);
      return message;
    },

    /**
     * Ends the conversation now: queued replies fail with the reason; the customer's next message opens a new one.
     * `closed` is false when the close was accepted but had not finished within the wait (a send attempt under way
     * finishes first).
     */
    async close(manager: Manager, conversationId: string): Promise<{ conversation: Conversation; closed: boolean }> {
      const conversation = await loadConversation(manager, conversationId);
      if (conversation.state === 'closed') return { conversation, closed: true };
      const deadline = deps.now() + deps.waitLimitMs;
      const handle = deps.temporal.workflow.getHandle(conversation.workflowId);
      try {
        await deps.temporal.connection.withDeadline(deadline, () =>
          handle.startUpdate(closeConversationUpdate, { args: [{ conversationId: conversation.conversationId }], waitForStage: WorkflowUpdateStage.ACCEPTED }),
        );
      } catch (error) {
        if (readRefusal(error) === undefined) throw new HttpError(503, 'TemporalUnavailable', `the conversation's workflow could not be reached: ${(error as Error).message}`);
        // The run that owned it has ended already: the record says so too from now on.
        await models.conversations.updateOne({ _id: conversation._id, state: 'open' }, { $set: { state: 'closed', closedAt: new Date(deps.now()) } });
      }
      for (;;) {
        const current = await loadConversation(manager, conversationId);
        if (current.state === 'closed' || deps.now() >= deadline) return { conversation: current, closed: current.state === 'closed' };
        await sleep(50);
      }
    },
  };
}

export type SendService = ReturnType<typeof createSendService>;

/** Given up by the API (answered 503): the send activity never takes it. */
function isGivenUp(message: Pick<Message, 'status' | 'error'>): boolean {
  return message.status === 'failed' && message.error?.type === FailureType.NotQueued;
}

/** The workflow's refusal of an update (or its run having ended), as a reason to show; undefined for anything else. */
function readRefusal(error: unknown): { type: string; message: string } | undefined {
  if (error instanceof WorkflowNotFoundError) {
    return { type: SendRefusal.ConversationClosed, message: 'the conversation has ended: a new one opens when the customer writes again' };
  }
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type) {
    return { type: error.cause.type, message: error.cause.message };
  }
  return undefined;
}
