/**
 * What the linking flow asks of the account lifecycle workflows (`ig-account/<igAccountId>`): start one for a new
 * link, or tell the running one about a re-authentication or a move to another channel, in one call
 * (signalWithStart); and end one when its account is unlinked. Only ids, times and reasons travel.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { UnlinkReason } from '../activities/account-contract';
import { ChannelIdKey, IgAccountIdKey, LinkStatusKey, makeAccountWorkflowId } from '../temporal/names';
import { accountLifecycleWorkflow, reauthorizedSignal, unlinkedSignal } from '../workflows/account-lifecycle';

export interface LinkedAccountLife {
  igAccountId: string;
  channelId: string;
  linkedAt: number;
  tokenExpiresAt: number | null;
  linkedByFacebookUserId: string;
}

export interface AccountWorkflows {
  /** The account was linked (first time, again, or from another channel): its workflow runs with this link. */
  linked(life: LinkedAccountLife): Promise<void>;
  /** The account's link ended for good; a workflow that is not running has nothing to end. */
  unlinked(igAccountId: string, reason: UnlinkReason): Promise<void>;
}

export function createAccountWorkflows(deps: { temporal: Client; taskQueue: string; reauthPeriodDays: number }): AccountWorkflows {
  return {
    async linked(life) {
      await deps.temporal.workflow.signalWithStart(accountLifecycleWorkflow, {
        workflowId: makeAccountWorkflowId(life.igAccountId),
        taskQueue: deps.taskQueue,
        args: [
          {
            igAccountId: life.igAccountId,
            channelId: life.channelId,
            linkedAt: life.linkedAt,
            tokenExpiresAt: life.tokenExpiresAt,
            reauthPeriodDays: deps.reauthPeriodDays,
            linkedByFacebookUserId: life.linkedByFacebookUserId,
          },
        ],
        // A running workflow takes the new link from the signal; a new one has it in its input already, and the
        // signal's copy of it changes nothing.
        signal: reauthorizedSignal,
        signalArgs: [{ linkedAt: life.linkedAt, tokenExpiresAt: life.tokenExpiresAt, channelId: life.channelId, linkedByFacebookUserId: life.linkedByFacebookUserId }],
        typedSearchAttributes: [
          { key: ChannelIdKey, value: life.channelId },
          { key: IgAccountIdKey, value: life.igAccountId },
          { key: LinkStatusKey, value: 'active' },
        ],
      });
    },
    async unlinked(igAccountId, reason) {
      try {
        await deps.temporal.workflow.getHandle(makeAccountWorkflowId(igAccountId)).signal(unlinkedSignal, { reason });
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    },
  };
}
