/**
 * A channel's members (its own customer records) and the manual merge of an Instagram customer into one (B3).
 * Never automatic: only these routes link the two. Manager key of the channel; another channel's answer is 404.
 */
import { z } from 'zod';
import { assertOwnChannel, notFound } from '../auth';
import { cursorParameter, nextCursorSchema } from '../cursor';
import { HttpError } from '../errors';
import { customerSchema, memberSchema, presentCustomer, presentMember } from '../presenters';
import { defineRoute, errorResponse, type RouteDefinition } from '../route-definitions';
import type { InboxReads } from '../services/inbox-reads';
import type { MemberStore } from '../services/members';

export interface MemberRoutesDeps {
  reads: Pick<InboxReads, 'findVisibleCustomer'>;
  members: MemberStore;
}

const id = z.string().min(1);
const optionalText = (max: number) => z.string().trim().min(1).max(max).optional();

const newMemberBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    email: z.email().max(320).optional(),
    phone: optionalText(50),
    note: optionalText(2000),
  })
  .strict();

const customerParams = z.object({ igAccountId: id, igsid: id });
const mergeAnswer = z.object({ customer: customerSchema, member: memberSchema.nullable() });

export function createMemberRoutes(deps: MemberRoutesDeps): RouteDefinition[] {
  const tags = ['members'];

  return [
    defineRoute({
      method: 'post',
      path: '/v1/channels/:channelId/members',
      operationId: 'createMember',
      summary: 'Create a member (a customer record of the channel)',
      tags,
      auth: 'manager',
      params: z.object({ channelId: id }),
      body: { required: true, json: newMemberBody },
      responses: {
        201: { description: 'The new member', schema: z.object({ member: memberSchema }) },
        404: errorResponse('NotFound: no such channel for this key'),
      },
      handler: async ({ params, body, caller }) => {
        assertOwnChannel(caller, params.channelId, `channel ${params.channelId}`);
        const member = await deps.members.createMember(params.channelId, body);
        return { status: 201, body: { member: presentMember(member) } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/channels/:channelId/members',
      operationId: 'listMembers',
      summary: "A channel's members, newest first",
      description: 'Ordered by creation time, then id. Page with `cursor` = the previous answer’s `nextCursor`.',
      tags,
      auth: 'manager',
      params: z.object({ channelId: id }),
      query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50).describe('Rows per page (1–200)'), cursor: cursorParameter('members').optional() }).strict(),
      responses: {
        200: { description: 'A page of members', schema: z.object({ members: z.array(memberSchema), nextCursor: nextCursorSchema }) },
        404: errorResponse('NotFound: no such channel for this key'),
      },
      handler: async ({ params, query, caller }) => {
        assertOwnChannel(caller, params.channelId, `channel ${params.channelId}`);
        const page = await deps.members.listMembers(params.channelId, { limit: query.limit, ...(query.cursor ? { after: query.cursor } : {}) });
        return { status: 200, body: { members: page.rows.map(presentMember), nextCursor: page.nextCursor } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/members/:memberId',
      operationId: 'getMember',
      summary: 'A member with the Instagram profiles merged into it',
      tags,
      auth: 'manager',
      params: z.object({ memberId: id }),
      responses: {
        200: { description: 'The member', schema: z.object({ member: memberSchema }) },
        404: errorResponse('NotFound: no such member in this key’s channel'),
      },
      handler: async ({ params, caller }) => {
        const member = await deps.members.findMember(caller.manager.channelId, params.memberId);
        if (!member) throw notFound(`member ${params.memberId}`);
        return { status: 200, body: { member: presentMember(member) } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/customers/:igAccountId/:igsid/merge',
      operationId: 'mergeCustomer',
      summary: 'Merge an Instagram customer into a member of the channel',
      description:
        'Sets the customer’s member and lists the Instagram profile on the member. Merging again into the same member is harmless (and completes a merge that was interrupted). A customer merged into another member is refused: undo that merge first.',
      tags,
      auth: 'manager',
      params: customerParams,
      body: { required: true, json: z.object({ memberId: id }).strict() },
      responses: {
        200: { description: 'Merged: the customer with its member, and the member with its profiles', schema: mergeAnswer },
        404: errorResponse('NotFound: no such customer or member for this key’s channel'),
        409: errorResponse('CustomerAlreadyMerged: the customer is merged into another member'),
      },
      handler: async ({ params, body, caller }) => {
        const channelId = caller.manager.channelId;
        const customer = await deps.reads.findVisibleCustomer(channelId, params.igAccountId, params.igsid);
        if (!customer) throw notFound(`customer ${params.igsid} of account ${params.igAccountId}`);
        const member = await deps.members.findMember(channelId, body.memberId);
        if (!member) throw notFound(`member ${body.memberId}`);
        const merged = await deps.members.mergeCustomer(customer, member, caller.manager.managerId);
        if (merged.outcome === 'merged-elsewhere') {
          const other = merged.otherMember;
          throw new HttpError(
            409,
            'CustomerAlreadyMerged',
            other
              ? `customer ${params.igsid} of account ${params.igAccountId} is merged into member ${other.memberId} (${other.name}): undo that merge first`
              : `customer ${params.igsid} of account ${params.igAccountId} is merged into a member of another channel`,
            other ? { memberId: other.memberId } : undefined,
          );
        }
        return { status: 200, body: { customer: presentCustomer(merged.customer, merged.member), member: presentMember(merged.member) } };
      },
    }),

    defineRoute({
      method: 'delete',
      path: '/v1/customers/:igAccountId/:igsid/merge',
      operationId: 'undoMergeCustomer',
      summary: 'Undo the merge of an Instagram customer into a member',
      tags,
      auth: 'manager',
      params: customerParams,
      responses: {
        200: { description: 'Undone: the customer without a member, and the member it left', schema: mergeAnswer },
        404: errorResponse('NotFound: no such customer for this key’s channel'),
        409: errorResponse('NotMerged: the customer is not merged into a member of this channel'),
      },
      handler: async ({ params, caller }) => {
        const channelId = caller.manager.channelId;
        const customer = await deps.reads.findVisibleCustomer(channelId, params.igAccountId, params.igsid);
        if (!customer) throw notFound(`customer ${params.igsid} of account ${params.igAccountId}`);
        const undone = await deps.members.undoMerge(channelId, customer);
        if (undone.outcome === 'not-merged') throw new HttpError(409, 'NotMerged', `customer ${params.igsid} of account ${params.igAccountId} is not merged into a member of this channel`);
        return { status: 200, body: { customer: presentCustomer(undone.customer, null), member: undone.formerMember ? presentMember(undone.formerMember) : null } };
      },
    }),
  ];
}
