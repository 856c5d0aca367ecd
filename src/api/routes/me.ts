/**
 * The key's own manager: who they are, and their personal room of notices (D1), newest first, with how many are
 * unread. A manager sees only their own notices: another manager's notice is 404.
 */
import { z } from 'zod';
import type { ChannelDirectory } from '../../channels/directory';
import type { NoticeBoard } from '../../notices/notice-board';
import { notFound } from '../auth';
import { channelSchema, managerSchema, noticeSchema, presentChannel, presentManager, presentNotice } from '../channel-presenters';
import { cursorParameter, nextCursorSchema } from '../cursor';
import { defineRoute, errorResponse, type RouteDefinition } from '../route-definitions';

export interface MeRoutesDeps {
  directory: Pick<ChannelDirectory, 'findChannel'>;
  notices: Pick<NoticeBoard, 'listNotices' | 'markRead' | 'markAllRead'>;
}

const unreadCountSchema = z.number().int().min(0).describe('Unread notices of the manager in all (not only on this page)');

export function createMeRoutes(deps: MeRoutesDeps): RouteDefinition[] {
  const tags = ['me'];

  return [
    defineRoute({
      method: 'get',
      path: '/v1/me',
      operationId: 'getMe',
      summary: 'The manager of this key, their role and channel',
      tags,
      auth: 'manager',
      responses: {
        200: { description: 'The manager, their channel, and which key this is', schema: z.object({ manager: managerSchema, channel: channelSchema, keyId: z.string().describe('The key of this request') }) },
      },
      handler: async ({ caller }) => {
        const channel = await deps.directory.findChannel(caller.manager.channelId);
        if (!channel) throw new Error(`manager ${caller.manager.managerId} belongs to channel ${caller.manager.channelId}, which is not recorded`);
        return { status: 200, body: { manager: presentManager(caller.manager), channel: presentChannel(channel), keyId: caller.keyId } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/me/notices',
      operationId: 'listMyNotices',
      summary: 'The notices of my personal room, newest first',
      description: 'Ordered by the time posted, then id. `unread=true` lists only unread ones. Page with `cursor` = the previous answer’s `nextCursor`.',
      tags,
      auth: 'manager',
      query: z
        .object({
          limit: z.coerce.number().int().min(1).max(200).default(50).describe('Rows per page (1–200)'),
          cursor: cursorParameter('notices').optional(),
          unread: z.enum(['true', 'false']).default('false').describe('true: only the unread notices'),
        })
        .strict(),
      responses: {
        200: { description: 'A page of notices', schema: z.object({ notices: z.array(noticeSchema), nextCursor: nextCursorSchema, unreadCount: unreadCountSchema }) },
      },
      handler: async ({ query, caller }) => {
        const page = await deps.notices.listNotices(caller.manager.managerId, { limit: query.limit, unreadOnly: query.unread === 'true', ...(query.cursor ? { after: query.cursor } : {}) });
        return { status: 200, body: { notices: page.rows.map(presentNotice), nextCursor: page.nextCursor, unreadCount: page.unreadCount } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/me/notices/:noticeId/read',
      operationId: 'markMyNoticeRead',
      summary: 'Mark one of my notices read',
      description: 'Marking it again keeps the first read time.',
      tags,
      auth: 'manager',
      params: z.object({ noticeId: z.string().min(1) }),
      responses: {
        200: { description: 'The notice, read', schema: z.object({ notice: noticeSchema }) },
        404: errorResponse('NotFound: no such notice in my room'),
      },
      handler: async ({ params, caller }) => {
        const notice = await deps.notices.markRead(caller.manager.managerId, params.noticeId);
        if (!notice) throw notFound(`notice ${params.noticeId}`);
        return { status: 200, body: { notice: presentNotice(notice) } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/me/notices/read-all',
      operationId: 'markAllMyNoticesRead',
      summary: 'Mark all my notices read',
      tags,
      auth: 'manager',
      responses: {
        200: { description: 'How many were unread and are now read', schema: z.object({ marked: z.number().int().min(0) }) },
      },
      handler: async ({ caller }) => {
        const { marked } = await deps.notices.markAllRead(caller.manager.managerId);
        return { status: 200, body: { marked } };
      },
    }),
  ];
}
