/**
 * A channel's linked Instagram accounts: their status, their settings (A11), the representative (A4) and unlinking
 * (A10). Any manager of the channel reads them; only owners change or unlink them (403 OwnerRequired for an
 * agent). Another channel's account is 404.
 */
import { z } from 'zod';
import type { LinkedAccount } from '../../db/models/linked-account';
import { AccountWorkflowUnreachableError, type ChannelAccount, type LinkedAccounts } from '../../linking/linked-accounts';
import { assertOwnChannel, assertOwner, notFound } from '../auth';
import { linkedAccountSchema, presentLinkedAccount } from '../channel-presenters';
import { HttpError } from '../errors';
import { defineRoute, errorResponse, type ManagerCaller, type RouteDefinition } from '../route-definitions';

export interface InstagramAccountRoutesDeps {
  accounts: Pick<LinkedAccounts, 'list' | 'find' | 'update' | 'unlink'>;
  /** The REAUTH_PERIOD_DAYS setting: an account's re-authentication date counts from it. */
  reauthPeriodDays: number;
  now: () => number;
}

const id = z.string().min(1);
const channelParams = z.object({ channelId: id });
const accountParams = z.object({ channelId: id, igAccountId: id });
const accountAnswer = z.object({ account: linkedAccountSchema });

const changeBody = z
  .object({
    representative: z.boolean().optional().describe('true: this account becomes the representative and the previous one stops being it; false: the channel has none'),
    settings: z
      .object({
        openOnStoryMention: z.boolean().optional().describe('false: a story that mentions the account opens no conversation'),
        openOnPostShare: z.boolean().optional().describe('false: a post a follower shares opens no conversation'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((body) => body.representative !== undefined || body.settings !== undefined, { message: 'name what to change: representative, settings, or both' });

const webhookSubscriptionSchema = z
  .object({
    outcome: z.enum(['removed', 'kept', 'not_removed']).describe('removed; kept (another linked account uses the Page); not_removed (Meta refused, e.g. the Page token is dead: the unlink stands)'),
    message: z.string(),
  })
  .describe('The Page’s webhook subscription for this app');

export function createInstagramAccountRoutes(deps: InstagramAccountRoutesDeps): RouteDefinition[] {
  const { accounts } = deps;
  const tags = ['instagram'];
  const present = (found: ChannelAccount) => presentLinkedAccount(found, { now: deps.now(), reauthPeriodDays: deps.reauthPeriodDays });

  /** The account of the caller's channel named in the path; an owner-only action checks the role first. */
  async function accountFor(caller: ManagerCaller, params: z.output<typeof accountParams>, ownerAction?: string): Promise<ChannelAccount> {
    assertOwnChannel(caller, params.channelId, `channel ${params.channelId}`);
    if (ownerAction !== undefined) assertOwner(caller, ownerAction);
    const found = await accounts.find(params.channelId, params.igAccountId);
    if (!found) throw notFound(`Instagram account ${params.igAccountId} of channel ${params.channelId}`);
    return found;
  }

  return [
    defineRoute({
      method: 'get',
      path: '/v1/channels/:channelId/instagram/accounts',
      operationId: 'listInstagramAccounts',
      summary: 'The Instagram accounts linked to the channel, with their status',
      description: 'Every account ever linked to the channel and not linked elsewhere since, oldest link first: unlinked ones too, so their conversations stay findable.',
      tags,
      auth: 'manager',
      params: channelParams,
      responses: {
        200: { description: 'The accounts', schema: z.object({ accounts: z.array(linkedAccountSchema) }) },
        404: errorResponse('NotFound: no such channel for this key'),
      },
      handler: async ({ params, caller }) => {
        assertOwnChannel(caller, params.channelId, `channel ${params.channelId}`);
        const found = await accounts.list(params.channelId);
        return { status: 200, body: { accounts: found.map(present) } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/channels/:channelId/instagram/accounts/:igAccountId',
      operationId: 'getInstagramAccount',
      summary: 'One linked Instagram account, with its status',
      tags,
      auth: 'manager',
      params: accountParams,
      responses: {
        200: { description: 'The account', schema: accountAnswer },
        404: errorResponse('NotFound: no such account of this key’s channel'),
      },
      handler: async ({ params, caller }) => ({ status: 200, body: { account: present(await accountFor(caller, params)) } }),
    }),

    defineRoute({
      method: 'patch',
      path: '/v1/channels/:channelId/instagram/accounts/:igAccountId',
      operationId: 'updateInstagramAccount',
      summary: 'Change an account’s settings or make it the representative (owners)',
      description:
        'Settings (A11) take effect for the messages that arrive from a few seconds later on (the worker keeps an account for up to 5 seconds). The representative is one per channel at most: turning it on for this account turns it off for the previous one; turning it off leaves the channel without one until an owner picks another (or the next account linked takes it). An unlinked account cannot be made representative.',
      tags,
      auth: 'manager',
      params: accountParams,
      body: { required: true, json: changeBody },
      responses: {
        200: { description: 'The account as it is now', schema: accountAnswer },
        403: errorResponse('OwnerRequired: only owners change accounts'),
        404: errorResponse('NotFound: no such account of this key’s channel'),
        409: errorResponse('AccountUnlinked: an unlinked account cannot be the representative'),
      },
      handler: async ({ params, body, caller }) => {
        const found = await accountFor(caller, params, 'changing a linked account');
        if (body.representative === true) refuseIfUnlinked(found.account);
        const updated = await accounts.update(found.account, body);
        return { status: 200, body: { account: present(updated) } };
      },
    }),

    defineRoute({
      method: 'delete',
      path: '/v1/channels/:channelId/instagram/accounts/:igAccountId',
      operationId: 'unlinkInstagramAccount',
      summary: 'Unlink an account from the channel (owners)',
      description:
        'At once nothing more is sent or received through it; its conversations stay readable. The Page’s webhook subscription is removed unless another linked account uses the Page; when Meta refuses (a dead Page token) the unlink stands and `webhookSubscription` says so. Unlinking again answers the unlinked account (and completes an unlink that was interrupted). A representative account unlinked leaves the channel without one.',
      tags,
      auth: 'manager',
      params: accountParams,
      responses: {
        200: { description: 'The account, unlinked, and what became of the Page’s webhook subscription', schema: accountAnswer.extend({ webhookSubscription: webhookSubscriptionSchema }) },
        403: errorResponse('OwnerRequired: only owners unlink accounts'),
        404: errorResponse('NotFound: no such account of this key’s channel'),
        503: errorResponse('TemporalUnavailable: the account is unlinked but its workflow could not be told; unlink it again'),
      },
      handler: async ({ params, caller }) => {
        const found = await accountFor(caller, params, 'unlinking an account');
        const result = await accounts.unlink(found.account).catch((error: unknown) => {
          if (error instanceof AccountWorkflowUnreachableError) throw new HttpError(503, 'TemporalUnavailable', error.message);
          throw error;
        });
        return { status: 200, body: { account: present(result.account), webhookSubscription: result.webhookSubscription } };
      },
    }),
  ];
}

function refuseIfUnlinked(account: LinkedAccount): void {
  if (account.status === 'unlinked') throw new HttpError(409, 'AccountUnlinked', `Instagram account @${account.username} is unlinked: link it again before making it the representative`);
}
