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
import { ConversationNotOpenError } from '../activities/inbound/conversation-writes';
import type { Models } from '../db/models';
import type { OpenConversation } from '../db/models/open-conversation';
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
  models: Pick<Models, 'openConversations'>;
  /** The conversation workflow's own recorder (src/activities/inbound), called directly. */
  recordInboundEvent: (input: RecordInboundEventInput) => Promise<RecordedInboundEvent>;
  logger: Logger;
}

/** Kinds the ingress records: what a customer sends that is shown in the conversation. */
const RECORDED_BY_INGRESS: ReadonlySet<string> = new Set(['message', 'postback']);

/** Open conversations remembered by this process, by workflow id (a few hundred bytes each). */
const REMEMBERED_OPEN_CONVERSATIONS = 10_000;

export function createMessageProjector(deps: MessageProjectorDeps): MessageProjector {
  const { models } = deps;
  /**
   * The open conversation of a customer, as last read. Safe to be stale: a conversation closed since refuses the
   * message (the recorder's conditional update), which then goes to the workflow, and the entry is forgotten.
   */
  const remembered = new Map<string, string>();

  async function openConversationOf(workflowId: string): Promise<string | undefined> {
    const known = remembered.get(workflowId);
    if (known !== undefined) return known;
    const open = await models.openConversations.findOne({ _id: workflowId }).lean<OpenConversation>();
    if (open === null) return undefined;
    if (remembered.size >= REMEMBERED_OPEN_CONVERSATIONS) remembered.delete(remembered.keys().next().value!);
    remembered.set(workflowId, open.conversationId);
    return open.conversationId;
  }

  return {
    async project(event) {
      const workflowId = makeConversationWorkflowId(event.igAccountId, event.customerIgsid);
      try {
        if (event.kind === undefined || !RECORDED_BY_INGRESS.has(event.kind)) return 'not-projected';
        const conversationId = await openConversationOf(workflowId);
        if (conversationId === undefined) return 'not-projected';
        // The recorder moves the conversation's window before it stores the message, and only if the conversation is
        // still open (one conditional update of the document a close also updates conditionally); else it throws.
        const recorded = await deps.recordInboundEvent({
          eventId: event.eventKey,
          igAccountId: event.igAccountId,
          igsid: event.customerIgsid,
          conversationId,
          workflowId,
          firstOfConversation: false,
          holdUnknownEchoes: false,
          onlyIfOpen: true,
        });
        return recorded.profileDue === true ? 'profile-due' : 'recorded';
      } catch (error) {
        // Closed meanwhile: nothing of the message was written, and the workflow opens the next conversation with it.
        if (error instanceof ConversationNotOpenError) {
          remembered.delete(workflowId);
          return 'not-projected';
        }
        // Whatever was written is keyed by the event: the workflow's recording finds it and completes the rest.
        deps.logger.warn('message not recorded by the ingress; its conversation workflow records it', { eventKey: event.eventKey.slice(0, 200), error: (error as Error).message });
        return 'not-projected';
      }
    },
  };
}
