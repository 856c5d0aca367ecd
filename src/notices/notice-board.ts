/**
 * The personal rooms of notices (D1): the system posts a notice to every owner of a channel (a link is due for
 * re-authentication, expired, dropped, moved to another channel; messages access is off), or to one manager.
 *
 * Each manager gets a notice at most once per dedupe key, whoever posts it and however often: the notice's `_id` is
 * derived from the manager and the dedupe key and inserted only if absent, so retries and concurrent callers
 * (an activity retried, two workers) add nothing. No transaction is needed.
 */
import { createHash } from 'node:crypto';
import type { Models } from '../db/models';
import { insertIfAbsent } from '../db/insert-if-absent';
import type { Manager } from '../db/models/manager';
import type { JsonValue, Notice } from '../db/models/notice';
import { pageOf, type CursorPosition } from '../api/cursor';

export interface NoticeInput {
  channelId: string;
  kind: string;
  title: string;
  body: string;
  facts: Record<string, JsonValue>;
  /** The same event always gives the same key (e.g. `reauth-due/<igAccountId>/<expiry>`): it makes posting idempotent. */
  dedupeKey: string;
}

export interface NoticePage {
  rows: Notice[];
  nextCursor: string | null;
  unreadCount: number;
}

export interface NoticeBoardDeps {
  models: Pick<Models, 'notices' | 'managers'>;
  now: () => number;
}

export type NoticeBoard = ReturnType<typeof createNoticeBoard>;

/** The notice's id: the same manager and dedupe key always give the same one. */
export function makeNoticeId(managerId: string, dedupeKey: string): string {
  return `ntc_${createHash('sha256').update(`${managerId}\n${dedupeKey}`).digest('hex').slice(0, 40)}`;
}

export function createNoticeBoard(deps: NoticeBoardDeps) {
  const { models } = deps;

  async function post(manager: Pick<Manager, 'managerId' | 'channelId'>, input: NoticeInput): Promise<boolean> {
    const noticeId = makeNoticeId(manager.managerId, input.dedupeKey);
    const notice: Notice = { _id: noticeId, noticeId, channelId: manager.channelId, managerId: manager.managerId, kind: input.kind, title: input.title, body: input.body, facts: input.facts, dedupeKey: input.dedupeKey, createdAt: new Date(deps.now()), readAt: null };
    return insertIfAbsent(models.notices, { ...notice });
  }

  return {
    /** One notice to each owner of the channel (an owner who already has this dedupe key gets nothing more). */
    async postToOwners(input: NoticeInput): Promise<{ posted: number }> {
      const owners = await models.managers.find({ channelId: input.channelId, role: 'owner' }).lean<Manager[]>();
      const inserted = await Promise.all(owners.map((owner) => post(owner, input)));
      return { posted: inserted.filter(Boolean).length };
    },

    /** One notice to one manager of the channel; nothing when the manager is not of that channel. */
    async postToManager(input: NoticeInput & { managerId: string }): Promise<{ posted: number }> {
      const manager = await models.managers.findOne({ _id: input.managerId }).lean<Manager>();
      if (!manager || manager.channelId !== input.channelId) return { posted: 0 };
      return { posted: (await post(manager, input)) ? 1 : 0 };
    },

    /** A manager's notices, newest first (the id breaking ties), and how many are unread in all. */
    async listNotices(managerId: string, page: { limit: number; after?: CursorPosition; unreadOnly: boolean }): Promise<NoticePage> {
      const after = page.after;
      const base = page.unreadOnly ? { managerId, readAt: null } : { managerId };
      const filter = after ? { ...base, $or: [{ createdAt: { $lt: new Date(after.at) } }, { createdAt: new Date(after.at), _id: { $lt: after.id } }] } : base;
      const [notices, unreadCount] = await Promise.all([
        models.notices.find(filter).sort({ createdAt: -1, _id: -1 }).limit(page.limit + 1).lean<Notice[]>(),
        models.notices.countDocuments({ managerId, readAt: null }),
      ]);
      return { ...pageOf(notices, page.limit, 'notices', (n) => ({ at: n.createdAt.getTime(), id: n._id })), unreadCount };
    },

    /** Marks one of the manager's notices read (the first read time stays); null when it is not theirs. */
    async markRead(managerId: string, noticeId: string): Promise<Notice | null> {
      const notice = await models.notices.findOne({ _id: noticeId }).lean<Notice>();
      if (!notice || notice.managerId !== managerId) return null;
      if (notice.readAt) return notice;
      await models.notices.updateOne({ _id: noticeId, readAt: null }, { $set: { readAt: new Date(deps.now()) } });
      return models.notices.findOne({ _id: noticeId }).lean<Notice>();
    },

    /** Marks every unread notice of the manager read; answers how many it marked. */
    async markAllRead(managerId: string): Promise<{ marked: number }> {
      const result = await models.notices.updateMany({ managerId, readAt: null }, { $set: { readAt: new Date(deps.now()) } });
      return { marked: result.modifiedCount };
    },
  };
}
