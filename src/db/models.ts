/** All models of the engine, bound to one connection; `ensureIndexes` builds every declared index. */
import type { Connection } from 'mongoose';
import { getConversationModel, type ConversationModel } from './models/conversation';
import { getCustomerModel, type CustomerModel } from './models/customer';
import { getLinkedAccountModel, type LinkedAccountModel } from './models/linked-account';
import { getManagerModel, type ManagerModel } from './models/manager';
import { getMemberModel, type MemberModel } from './models/member';
import { getMessageModel, type MessageModel } from './models/message';
import { getMediaFileModel, type MediaFileModel } from './models/media-file';
import { getIdempotencyRecordModel, type IdempotencyRecordModel } from './models/idempotency-record';
import { getOutboundMidModel, type OutboundMidModel } from './models/outbound-mid';
import { getRoundTripProbeModel, type RoundTripProbeModel } from './models/round-trip-probe';
import { getWebhookEventModel, type WebhookEventModel } from './models/webhook-event';

export interface Models {
  roundTripProbes: RoundTripProbeModel;
  linkedAccounts: LinkedAccountModel;
  webhookEvents: WebhookEventModel;
  customers: CustomerModel;
  conversations: ConversationModel;
  messages: MessageModel;
  managers: ManagerModel;
  members: MemberModel;
  mediaFiles: MediaFileModel;
  idempotencyRecords: IdempotencyRecordModel;
  outboundMids: OutboundMidModel;
}

export function createModels(connection: Connection): Models {
  return {
    roundTripProbes: getRoundTripProbeModel(connection),
    linkedAccounts: getLinkedAccountModel(connection),
    webhookEvents: getWebhookEventModel(connection),
    customers: getCustomerModel(connection),
    conversations: getConversationModel(connection),
    messages: getMessageModel(connection),
    managers: getManagerModel(connection),
    members: getMemberModel(connection),
    mediaFiles: getMediaFileModel(connection),
    idempotencyRecords: getIdempotencyRecordModel(connection),
    outboundMids: getOutboundMidModel(connection),
  };
}

export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models) as Array<Models[keyof Models]>) {
    await model.createIndexes();
  }
}
