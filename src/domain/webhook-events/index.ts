/**
 * Instagram messaging webhooks, as pure functions: split a delivery into events with their dedupe keys
 * (split.ts), the kinds of event and which move the window (kinds.ts), Meta's times and edit numbers read
 * faithfully (meta-values.ts), and a message event projected into what the inbox stores (message-projection.ts).
 */
export { movesWindow, type InboundEventKind } from './kinds';
export {
  STORY_LIFETIME_MS,
  projectMessage,
  type AttachmentType,
  type MessageAttachment,
  type MessageKind,
  type MessageProjection,
  type StoryReference,
} from './message-projection';
export { editNumberOf, readMetaTime, type MetaTime } from './meta-values';
export { sha256Hex, splitWebhookPayload, type SplitEvent, type SplitResult } from './split';
