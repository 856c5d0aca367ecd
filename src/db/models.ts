/** All models of the engine, bound to one connection; `ensureIndexes` builds every declared index. */
import type { Connection } from 'mongoose';
import { getApiKeyModel, type ApiKeyModel } from './models/api-key';
import { getChannelModel, type ChannelModel } from './models/channel';
import { getConversationModel, type ConversationModel } from './models/conversation';
import { getCustomerModel, type CustomerModel } from './models/customer';
import { getDispatcherPresenceModel, type DispatcherPresenceModel } from './models/dispatcher-presence';
import { getEarlyMessageChangeModel, type EarlyMessageChangeModel } from './models/early-message-change';
import { getDataDeletionRequestModel, type DataDeletionRequestModel } from './models/data-deletion-request';
import { getFacebookConnectionModel, type FacebookConnectionModel } from './models/facebook-connection';
import { getFacebookLoginModel, type FacebookLoginModel } from './models/facebook-login';
import { getLinkedAccountModel, type LinkedAccountModel } from './models/linked-account';
import { getManagerModel, type ManagerModel } from './models/manager';
import { getMemberModel, type MemberModel } from './models/member';
import { getNoticeModel, type NoticeModel } from './models/notice';
import { getMessageModel, type MessageModel } from './models/message';
import { getMediaFileModel, type MediaFileModel } from './models/media-file';
import { getIdempotencyRecordModel, type IdempotencyRecordModel } from './models/idempotency-record';
import { getOpenConversationModel, type OpenConversationModel } from './models/open-conversation';
import { getOutboundMidModel, type OutboundMidModel } from './models/outbound-mid';
import { getRoundTripProbeModel, type RoundTripProbeModel } from './models/round-trip-probe';
import { getWebhookEventModel, type WebhookEventModel } from './models/webhook-event';

export interface Models {
  roundTripProbes: RoundTripProbeModel;
  linkedAccounts: LinkedAccountModel;
  webhookEvents: WebhookEventModel;
  dispatcherPresences: DispatcherPresenceModel;
  customers: CustomerModel;
  conversations: ConversationModel;
  openConversations: OpenConversationModel;
  messages: MessageModel;
  earlyMessageChanges: EarlyMessageChangeModel;
  channels: ChannelModel;
  managers: ManagerModel;
  apiKeys: ApiKeyModel;
  notices: NoticeModel;
  members: MemberModel;
  mediaFiles: MediaFileModel;
  idempotencyRecords: IdempotencyRecordModel;
  outboundMids: OutboundMidModel;
  facebookConnections: FacebookConnectionModel;
  facebookLogins: FacebookLoginModel;
  dataDeletionRequests: DataDeletionRequestModel;
}

export function createModels(connection: Connection): Models {
  return {
    roundTripProbes: getRoundTripProbeModel(connection),
    linkedAccounts: getLinkedAccountModel(connection),
    webhookEvents: getWebhookEventModel(connection),
    dispatcherPresences: getDispatcherPresenceModel(connection),
    customers: getCustomerModel(connection),
    conversations: getConversationModel(connection),
    openConversations: getOpenConversationModel(connection),
    messages: getMessageModel(connection),
    earlyMessageChanges: getEarlyMessageChangeModel(connection),
    channels: getChannelModel(connection),
    managers: getManagerModel(connection),
    apiKeys: getApiKeyModel(connection),
    notices: getNoticeModel(connection),
    members: getMemberModel(connection),
    mediaFiles: getMediaFileModel(connection),
    idempotencyRecords: getIdempotencyRecordModel(connection),
    outboundMids: getOutboundMidModel(connection),
    facebookConnections: getFacebookConnectionModel(connection),
    facebookLogins: getFacebookLoginModel(connection),
    dataDeletionRequests: getDataDeletionRequestModel(connection),
  };
}

/** Indexes of earlier versions that would now refuse good writes (every manager lacks the old key hash: a duplicate null). */
const obsoleteIndexes: ReadonlyArray<{ model: keyof Models; name: string }> = [{ model: 'managers', name: 'apiKeyHash_1' }];

export async function ensureIndexes(models: Models): Promise<void> {
  for (const { model, name } of obsoleteIndexes) {
    const existing = await models[model].collection.indexExists(name).catch(() => false);
    if (existing) await models[model].collection.dropIndex(name);
  }
  for (const model of Object.values(models) as Array<Models[keyof Models]>) {
    await model.createIndexes();
  }
}
