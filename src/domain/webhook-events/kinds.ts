/** The kinds of event a webhook delivery is split into, and which of them move the conversation's window. */

export type InboundEventKind =
  | 'message'
  | 'echo'
  | 'deleted'
  | 'reaction'
  | 'read'
  | 'postback'
  | 'referral'
  | 'edit'
  /** An entry `changes` item (comments, mentions in posts...): recorded, not synced (B8). */
  | 'change'
  /** Signed by Meta but not understood. */
  | 'unknown';

/** Only customer-initiated events move the 7-day window (a message, a postback, an ig.me referral). */
export function movesWindow(kind: InboundEventKind): boolean {
  return kind === 'message' || kind === 'postback' || kind === 'referral';
}
