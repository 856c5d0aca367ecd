/**
 * Parked events: what the conversation workflow could not record within its attempts, listed and replayed. The
 * operator token sees every channel's; a manager's key the ones of their channel's Instagram accounts (anything else
 * is 404); replaying takes the operator token or an owner's key.
 */
import { z } from 'zod';
import type { ParkedEvents } from '../../inbound/parked-events';
import { assertOwner, notFound } from '../auth';
import { cursorParameter, nextCursorSchema } from '../cursor';
import { HttpError } from '../errors';
import { accountReplaySchema, parkedEventSchema, presentParkedEvent, replayOutcomeSchema } from '../parked-event-presenters';
import { defineRoute, errorResponse, type Caller, type RouteDefinition } from '../route-definitions';
import type { ParkedEventReads, ParkedEventsVisibility } from '../services/parked-events';

export interface ParkedEventRoutesDeps {
  reads: Pick<ParkedEventReads, 'accountVisible' | 'listVisible' | 'findVisible'>;
  parked: Pick<ParkedEvents, 'replay' | 'replayAccount'>;
}

const id = z.string().min(1);

function visibilityOf(caller: Caller): ParkedEventsVisibility {
  return caller.kind === 'operator' ? { scope: 'every-channel' } : { scope: 'channel', channelId: caller.manager.channelId };
}

/** Replaying changes what the inbox shows: operators and owners only. */
function assertMayReplay(caller: Caller): void {
  if (caller.kind === 'manager') assertOwner(caller, 'replaying parked events');
}

function notParked(eventId: string, status: string): HttpError {
  return new HttpError(409, 'EventNotParked', `webhook event ${eventId} is ${status}, not parked: only a parked event is replayed`, { status });
}

export function createParkedEventRoutes(deps: ParkedEventRoutesDeps): RouteDefinition[] {
  const tags = ['parked-events'];

  return [
    defineRoute({
      method: 'get',
      path: '/v1/parked-events',
      operationId: 'listParkedEvents',
      summary: 'Inbound events that could not be recorded, newest first',
      description:
        'Ordered by the time Meta delivered them, then id. The operator token lists every channel’s; a manager’s key those of the channel’s Instagram accounts. Page with `cursor` = the previous answer’s `nextCursor`.',
      tags,
      auth: 'operatorOrManager',
      query: z
        .object({
          igAccountId: id.optional().describe('Only the events of this Instagram account'),
          limit: z.coerce.number().int().min(1).max(200).default(50).describe('Rows per page (1–200)'),
          cursor: cursorParameter('parked-events').optional(),
        })
        .strict(),
      responses: {
        200: { description: 'A page of parked events', schema: z.object({ parkedEvents: z.array(parkedEventSchema), nextCursor: nextCursorSchema }) },
        404: errorResponse('NotFound: no such Instagram account for this key'),
      },
      handler: async ({ query, caller }) => {
        const page = await deps.reads.listVisible(visibilityOf(caller), { igAccountId: query.igAccountId, limit: query.limit, after: query.cursor });
        if (!page) throw notFound(`Instagram account ${query.igAccountId}`);
        return { status: 200, body: { parkedEvents: page.rows.map(presentParkedEvent), nextCursor: page.nextCursor } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/parked-events/:eventId/replay',
      operationId: 'replayParkedEvent',
      summary: 'Replay a parked event (operators and owners)',
      description:
        'Makes the event pending again (only if it is still parked: of two replays at once, one wins) and dispatches it the way the webhook ingress does, to its conversation. An account that is not linked, or must be re-authenticated, keeps it as `unlinked` or `held`.',
      tags,
      auth: 'operatorOrManager',
      params: z.object({ eventId: id.describe('The event id of the listing (URL-encoded)') }),
      responses: {
        200: { description: 'Replayed: what became of it', schema: z.object({ eventId: z.string(), outcome: replayOutcomeSchema }) },
        403: errorResponse('OwnerRequired: agents do not replay'),
        404: errorResponse('NotFound: no such webhook event for this key'),
        409: errorResponse('EventNotParked: the event is not parked (its status is named)'),
      },
      handler: async ({ params, caller }) => {
        if (!(await deps.reads.findVisible(visibilityOf(caller), params.eventId))) throw notFound(`webhook event ${params.eventId}`);
        assertMayReplay(caller);
        const replay = await deps.parked.replay(params.eventId);
        if (replay.outcome === 'not-found') throw notFound(`webhook event ${params.eventId}`);
        if (replay.outcome === 'not-parked') throw notParked(params.eventId, replay.status);
        return { status: 200, body: { eventId: replay.eventId, outcome: replay.dispatch } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/parked-events/replay',
      operationId: 'replayParkedEventsOfAccount',
      summary: 'Replay every parked event of an Instagram account (operators and owners)',
      description: 'Each parked event of the account is replayed as one is, in Meta’s order; what another replay took meanwhile is left to it.',
      tags,
      auth: 'operatorOrManager',
      body: { required: true, json: z.object({ igAccountId: id }).strict() },
      responses: {
        200: { description: 'How many were replayed, and what became of them', schema: accountReplaySchema },
        403: errorResponse('OwnerRequired: agents do not replay'),
        404: errorResponse('NotFound: no such Instagram account for this key'),
      },
      handler: async ({ body, caller }) => {
        if (!(await deps.reads.accountVisible(visibilityOf(caller), body.igAccountId))) throw notFound(`Instagram account ${body.igAccountId}`);
        assertMayReplay(caller);
        const replayed = await deps.parked.replayAccount(body.igAccountId);
        return { status: 200, body: { igAccountId: body.igAccountId, ...replayed } };
      },
    }),
  ];
}
