/**
 * Stub activities of the conversation workflow for workflow tests on the time-skipping server (the only layer
 * where activities are stubbed). Inbound events get the Meta timestamps a test chose, after the failures scripted
 * for their first attempts, and a recording can be held while a test dispatches the event again; sends follow a
 * script of outcomes per message, raised through the engine's real failure mapping; profile fetches follow a script of
 * outcomes too, and can be held like a Profile API that does not answer yet; each call is logged with the server's
 * (simulated) time at which it was scheduled.
 */
import { Context } from '@temporalio/activity';
import type {
  AccountProblemInput,
  CloseConversationInput,
  ConversationActivities,
  ParkInboundEventInput,
  RecordedInboundEvent,
  RecordSendFailureInput,
  SendMessageInput,
} from '../../src/activities/conversation-contract';
import { withFailureMapping } from '../../src/activities/failures';
import { recordInOrder } from '../../src/activities/record-in-order';

export type ScriptedSend = 'sent' | Error;
export type ScriptedProfileFetch = 'stored' | Error;

export interface StubLog {
  recorded: string[];
  closed: Array<CloseConversationInput & { firedAt: number }>;
  sends: Array<SendMessageInput & { at: number; attempt: number }>;
  failures: RecordSendFailureInput[];
  unknownSettled: string[];
  accountProblems: AccountProblemInput[];
  parked: string[];
  /** What each park was told (the reason, the attempts). */
  parks: ParkInboundEventInput[];
  /** Every attempt to record an event, by event id. */
  recordAttempts: string[];
  /** Every attempt to fetch a profile, when it started. */
  profileFetches: Array<{ igsid: string; attempt: number }>;
  /** Profiles stored, in order, by customer. */
  profilesStored: string[];
}

export interface ConversationStubs {
  activities: ConversationActivities;
  log: StubLog;
  /** Events recorded from now on get these answers (keyed by event id); an Error is thrown instead. */
  events: Map<string, RecordedInboundEvent | Error>;
  /** Errors the first attempts to record an event throw, in order; when the script runs out, `events` answers. */
  recordScript: Map<string, Error[]>;
  /** What each attempt to send a message does, in order; when the script runs out, the message is sent. */
  sendScript: Map<string, ScriptedSend[]>;
  /** What each attempt to fetch a profile does, in order; when the script runs out, the profile is stored. */
  profileScript: ScriptedProfileFetch[];
  /**
   * Windows the database has when the window's timer fires, in order: customer messages the ingress recorded without
   * the workflow moved them, so the close answers "still open". When the list runs out, the conversation closes.
   */
  windowMoves: Array<{ windowClosesAt: number; lastCustomerMessageAt: number }>;
  /** Holds every profile fetch until the answered function is called (a Profile API that does not answer yet). */
  holdProfileFetches(): () => void;
  /**
   * Holds the recording of one event by its own activity (not within a batch) until the answered function is called
   * (its attempt is under way meanwhile).
   */
  holdRecording(eventId: string): () => void;
}

const scheduledAt = (): number => Context.current().info.scheduledTimestampMs;

export function createConversationStubs(events: Map<string, RecordedInboundEvent | Error> = new Map()): ConversationStubs {
  const log: StubLog = { recorded: [], closed: [], sends: [], failures: [], unknownSettled: [], accountProblems: [], parked: [], parks: [], recordAttempts: [], profileFetches: [], profilesStored: [] };
  const sendScript = new Map<string, ScriptedSend[]>();
  const profileScript: ScriptedProfileFetch[] = [];
  const windowMoves: ConversationStubs['windowMoves'] = [];
  let profileHold: Promise<void> | undefined;
  const recordingHolds = new Map<string, Promise<void>>();
  const recordScript = new Map<string, Error[]>();
  const record = async (eventId: string, hold?: Promise<void>): Promise<RecordedInboundEvent> => {
    log.recordAttempts.push(eventId);
    await hold;
    const scripted = recordScript.get(eventId)?.shift();
    if (scripted) throw scripted;
    const event = events.get(eventId);
    if (!event) throw new Error(`unknown event ${eventId}`);
    if (event instanceof Error) throw event;
    log.recorded.push(eventId);
    return event;
  };
  const activities: ConversationActivities = {
    recordInboundEvent: ({ eventId }) => record(eventId, recordingHolds.get(eventId)),
    recordInboundEvents: (input) => recordInOrder(input, ({ eventId }) => record(eventId)),
    async refreshCustomerProfile({ igsid }) {
      log.profileFetches.push({ igsid, attempt: Context.current().info.attempt });
      if (profileHold) await profileHold;
      const next = profileScript.shift();
      if (next instanceof Error) throw next;
      log.profilesStored.push(igsid);
    },
    async closeConversation(input) {
      const moved = input.onlyIfWindowPassed === true ? windowMoves.shift() : undefined;
      if (moved !== undefined) return { closed: false, ...moved };
      const { onlyIfWindowPassed: _condition, ...closing } = input;
      log.closed.push({ ...closing, firedAt: scheduledAt() });
      return { closed: true };
    },
    async parkInboundEvent(input) {
      log.parked.push(input.eventId);
      log.parks.push(input);
    },
    async sendMessage(input) {
      log.sends.push({ ...input, at: scheduledAt(), attempt: Context.current().info.attempt });
      const next = sendScript.get(input.messageId)?.shift();
      if (next instanceof Error) throw next;
      return { mid: `mid-${input.messageId}`, sentAt: scheduledAt() };
    },
    async recordSendFailure(input) {
      log.failures.push(input);
    },
    async settleUnknownSend({ messageId }) {
      log.unknownSettled.push(messageId);
      return 'unknown';
    },
    async reportAccountProblem(input) {
      log.accountProblems.push(input);
    },
  };
  const holdProfileFetches = (): (() => void) => {
    let release = (): void => undefined;
    profileHold = new Promise((resolve) => {
      release = () => {
        profileHold = undefined;
        resolve();
      };
    });
    return release;
  };
  const holdRecording = (eventId: string): (() => void) => {
    let release = (): void => undefined;
    recordingHolds.set(
      eventId,
      new Promise((resolve) => {
        release = () => {
          recordingHolds.delete(eventId);
          resolve();
        };
      }),
    );
    return release;
  };
  return { activities: withFailureMapping(activities), log, events, recordScript, sendScript, profileScript, windowMoves, holdProfileFetches, holdRecording };
}
