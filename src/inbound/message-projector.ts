/**
 * A customer's message to a conversation that is open is recorded here, by the ingress, without a round trip through
 * the conversation's workflow: one signal, one workflow task and one local activity per message were most of the
 * engine's CPU per message. The workflow still owns what needs it: it opens each conversation (the first message
 * goes to it), closes it when the window's timer fires (closing only if no message moved the window meanwhile: one
 * conditional update of one document decides, conversation-writes.ts), sends the replies, records echoes, edits,
 * reactions and reads, and fetches profiles (a message that finds the profile due is handed to it as well).
 *
 * Exactly once rests on the stored event's key: the same recorder as the workflow's activity (a message id derived
 * from the event, inserted if absent; the event marked recorded), so a message recorded here and then signalled
 * anyway (a crash between the two) is not shown twice. The inbox orders messages by Meta's time.
 */
import type { RecordedInboundEvent, RecordInboundEventInput } from '../activities/conversation-contract';
import type { Models } from '../db/models';
import type { OpenConversation } from '../db/models/open-conversation';
import type { WebhookEvent } from '../db/models/webhook-event';
import { projectMessage, readStoredPayload } from '../domain/webhook-events';
import { nextWindowClosesAt } from '../domain/window';
import type { Logger } from '../logger';
import { makeConversationWorkflowId } from '../temporal/names';

/** What became of an event: recorded; recorded, and its workflow must fetch the profile; or left to the workflow. */
export type ProjectionOutcome = 'recorded' | 'profile-due' | 'not-projected';

export interface ProjectableEvent {
  eventKey: string;
  igAccountId: string;
  customerIgsid: string;
  occurredAt: Date;
  kind?: string;
}

export interface MessageProjector {
  project(event: ProjectableEvent): Promise<ProjectionOutcome>;
}

export interface MessageProjectorDeps {
  models: Pick<Models, 'openConversations' | 'conversations' | 'webhookEvents'>;
  /** The conversation workflow's own recorder (src/activities/inbound), called directly. */
  recordInboundEvent: (input: RecordInboundEventInput) => Promise<RecordedInboundEvent>;
  logger: Logger;
}

/** Kinds of content an account may choose not to open conversations with: the workflow's recorder decides on them. */
const DECIDED_BY_ACCOUNT_SETTINGS: ReadonlySet<string> = new Set(['story_mention', 'post_share']);

export function createMessageProjector(deps: MessageProjectorDeps): MessageProjector {
  const { models } = deps;

  /** A plain message or postback still waiting to be recorded; anything else goes to the workflow. */
  async function isPlainPendingMessage(event: ProjectableEvent): Promise<boolean> {
    if (event.kind === 'postback') return true;
    if (event.kind !== 'message') return false;
    const stored = await models.webhookEvents.findOne({ _id: event.eventKey }, { status: 1, payload: 1, occurredAt: 1 }).lean<Pick<WebhookEvent, 'status' | 'payload' | 'occurredAt'>>();
    if (stored?.status !== 'pending') return false;
    const payload = readStoredPayload(stored.payload);
    return payload !== null && !DECIDED_BY_ACCOUNT_SETTINGS.has(projectMessage(payload, stored.occurredAt.getTime()).kind);
  }

  /**
   * Moves the window of the customer's open conversation from this message, if it is still open: the same document a
   * close updates conditionally, so either the message keeps it open or the close wins and the message goes to the
   * workflow (which opens the customer's next conversation with it).
   */
  async function moveWindowIfOpen(conversationId: string, occurredAt: Date): Promise<boolean> {
    const windowClosesAt = new Date(nextWindowClosesAt(undefined, occurredAt.getTime()));
    const moved = await models.conversations.updateOne({ _id: conversationId, state: 'open' }, { $max: { lastCustomerMessageAt: occurredAt, windowClosesAt } });
    return moved.matchedCount > 0;
  }

  return {
    async project(event) {
      const workflowId = makeConversationWorkflowId(event.igAccountId, event.customerIgsid);
      try {
        if (event.kind !== 'message' && event.kind !== 'postback') return 'not-projected';
        const open = await models.openConversations.findOne({ _id: workflowId }).lean<OpenConversation>();
        if (open === null || !(await isPlainPendingMessage(event))) return 'not-projected';
        if (!(await moveWindowIfOpen(open.conversationId, event.occurredAt))) return 'not-projected';
        const recorded = await deps.recordInboundEvent({
          eventId: event.eventKey,
          igAccountId: event.igAccountId,
          igsid: event.customerIgsid,
          conversationId: open.conversationId,
          workflowId,
          firstOfConversation: false,
          holdUnknownEchoes: false,
        });
        return recorded.profileDue === true ? 'profile-due' : 'recorded';
      } catch (error) {
        // Whatever was written is keyed by the event: the workflow's recording finds it and completes the rest.
        deps.logger.warn('message not recorded by the ingress; its conversation workflow records it', { eventKey: event.eventKey.slice(0, 200), error: (error as Error).message });
        return 'not-projected';
      }
    },
  };
}
