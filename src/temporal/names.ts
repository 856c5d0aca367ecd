/** Workflow ids, task queue and search attribute keys shared by the API, the worker and the workflows. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ChannelIdKey = defineSearchAttributeKey('ChannelId', SearchAttributeType.KEYWORD);
export const IgAccountIdKey = defineSearchAttributeKey('IgAccountId', SearchAttributeType.KEYWORD);
export const CustomerIgsidKey = defineSearchAttributeKey('CustomerIgsid', SearchAttributeType.KEYWORD);
export const ConversationStateKey = defineSearchAttributeKey('ConversationState', SearchAttributeType.KEYWORD);
export const LinkStatusKey = defineSearchAttributeKey('LinkStatus', SearchAttributeType.KEYWORD);

/** Declared on the dev server at start and in production set-up (`temporal operator search-attribute create`). */
export const customSearchAttributes = [ChannelIdKey, IgAccountIdKey, CustomerIgsidKey, ConversationStateKey, LinkStatusKey];

export function makeConversationWorkflowId(igAccountId: string, igsid: string): string {
  return `ig-conversation/${igAccountId}/${igsid}`;
}

export function makeAccountWorkflowId(igAccountId: string): string {
  return `ig-account/${igAccountId}`;
}

/**
 * One probe workflow per task queue takes every probe by signal (signalWithStart starts it when it is not running),
 * so a probe proves that this queue's workers run.
 */
export function makeRoundTripProbeWorkflowId(taskQueue: string): string {
  return `diagnostics/round-trip/${taskQueue}`;
}
