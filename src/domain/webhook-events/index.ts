/**
 * Instagram messaging webhooks, as pure functions: split a delivery into events with their dedupe keys and their
 * own text (split.ts, json-outline.ts), a stored event's text read back (stored-payload.ts), the kinds of event and
 * which move the window (kinds.ts), Meta's times and edit numbers read faithfully (meta-values.ts), and a message
 * event projected into what the inbox stores (message-projection.ts).
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
export { editNumberOf, readEventTime, readMetaTime, type EventTime, type MetaTime } from './meta-values';
export { depthOf } from './json-outline';
export {
  MAX_ENTRIES_PER_DELIVERY,
  MAX_EVENT_CHARS,
  MAX_EVENT_DEPTH,
  sha256Hex,
  splitWebhookDelivery,
  type SplitEvent,
  type SplitResult,
} from './split';
export { readStoredPayload } from './stored-payload';
