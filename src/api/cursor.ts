/**
 * Opaque list cursors: the position after the last row of a page, as its sort time and its id. The id breaks ties,
 * so rows that share a millisecond are neither skipped nor repeated. A cursor names the list it belongs to, so one
 * list's cursor is refused by another.
 */
import { z } from 'zod';

export type CursorList = 'conversations' | 'messages' | 'members' | 'managers' | 'notices' | 'parked-events';

export interface CursorPosition {
  /** The sort time of the last row, in ms. */
  at: number;
  /** Its id, the tie-breaker. */
  id: string;
}

const payloadSchema = z.tuple([z.string(), z.number().int(), z.string().min(1)]);

export function encodeCursor(list: CursorList, position: CursorPosition): string {
  return Buffer.from(JSON.stringify([list, position.at, position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(list: CursorList, cursor: string): CursorPosition | null {
  try {
    const parsed = payloadSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (!parsed.success || parsed.data[0] !== list) return null;
    return { at: parsed.data[1], id: parsed.data[2] };
  } catch {
    return null;
  }
}

/** The `cursor` query parameter of a list: a `nextCursor` this list gave out, decoded; anything else is a 400. */
export function cursorParameter(list: CursorList) {
  return z
    .string()
    .transform((value, context) => {
      const position = decodeCursor(list, value);
      if (position === null) {
        context.addIssue({ code: 'custom', message: `is not a cursor of this list: pass the nextCursor of the previous page of ${list}` });
        return z.NEVER;
      }
      return position;
    })
    .describe(`The \`nextCursor\` of the previous page; leave out for the first page.`);
}

/** Answers `limit` rows and the cursor after them, given up to `limit + 1` rows in order (one more says there are more). */
export function pageOf<T>(rows: readonly T[], limit: number, list: CursorList, positionOf: (row: T) => CursorPosition): { rows: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(list, positionOf(last)) : null };
}

export const nextCursorSchema = z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.');
