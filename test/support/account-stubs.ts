/**
 * Stub activities of the account lifecycle workflow for workflow tests on the time-skipping server (the only layer
 * where activities are stubbed). Each call is logged with the server's (simulated) time at which it was scheduled
 * and the run that made it; a test scripts the token check's answers and may act (signal the workflow, as the
 * outbox or the linking flow would) from inside a call, at that simulated moment.
 */
import { Context } from '@temporalio/activity';
import type {
  AccountActivities,
  CheckTokenInput,
  NotifyOwnersInput,
  RecordLinkStatusInput,
  TokenCheck,
} from '../../src/activities/account-contract';
import { withFailureMapping } from '../../src/activities/failures';

export interface CallContext {
  /** When the call was scheduled, in the server's simulated time (ms). */
  at: number;
  workflowId: string;
  runId: string;
}

export interface AccountStubLog {
  statuses: Array<RecordLinkStatusInput & CallContext>;
  notices: Array<NotifyOwnersInput & CallContext>;
  checks: Array<CheckTokenInput & CallContext>;
}

export interface AccountStubScript {
  /** What the token check answers; a valid token by default. */
  checkToken?: (call: CheckTokenInput & CallContext) => Promise<TokenCheck> | TokenCheck;
  /** Runs after a status is recorded, e.g. to unlink the account once its link ended (so the run ends). */
  afterStatus?: (call: RecordLinkStatusInput & CallContext) => Promise<void>;
}

export interface AccountStubs {
  activities: AccountActivities;
  log: AccountStubLog;
}

function callContext(): CallContext {
  const { scheduledTimestampMs, workflowExecution } = Context.current().info;
  if (!workflowExecution) throw new Error('the account stubs run only as activities of a workflow');
  return { at: scheduledTimestampMs, workflowId: workflowExecution.workflowId, runId: workflowExecution.runId };
}

export function createAccountStubs(script: AccountStubScript = {}): AccountStubs {
  const log: AccountStubLog = { statuses: [], notices: [], checks: [] };
  const activities: AccountActivities = {
    async recordLinkStatus(input) {
      const call = { ...input, ...callContext() };
      log.statuses.push(call);
      await script.afterStatus?.(call);
    },
    async notifyOwners(input) {
      log.notices.push({ ...input, ...callContext() });
      return { posted: 1 };
    },
    async checkToken(input) {
      const call = { ...input, ...callContext() };
      log.checks.push(call);
      return (await script.checkToken?.(call)) ?? { valid: true };
    },
  };
  return { activities: withFailureMapping(activities), log };
}
