/**
 * Webhook events of an account whose link expired are kept, not shown: the dispatcher marks them `held` instead of
 * signalling their conversations, and the sweeper leaves them alone (it takes `pending` events only). Once the
 * account is re-authenticated, `releaseHeldEvents` makes them pending again and dispatches them, in Meta's order
 * per conversation, as if they had just arrived.
 *
 * Nothing is lost if the release stops midway. All of the account's held events become pending, claimed, in one
 * write before any is signalled; from then on they are ordinary pending events: a dispatch that fails puts them
 * back for the sweeper, and claims of a release that crashed go stale and the sweeper takes them over (the
 * dispatcher's DEFAULT_STALE_CLAIM_MS). They are dispatched in slices, oldest first, and the claims of the slices
 * still waiting are renewed before each one, so the sweeper does not start on later events of a conversation while
 * the release is still signalling earlier ones.
 *
 * Events that arrive while the release runs. The caller sets the account 'active' first, then releases:
 * - The dispatcher of an event reads the status after that write: it sees 'active' and signals at once, possibly
 *   before older held events of the same conversation are signalled. That order does not matter for what the
 *   inbox shows: messages are listed by Meta's timestamp, the window only ever moves later (a maximum of Meta's
 *   times), and a message recorded twice is one message. A reaction or an edit recorded before the message it
 *   targets is held and applied once the message is stored (early-changes.ts), as for Meta's own late deliveries,
 *   so holding every new event of the account until the release ends (a read per event on the hot path) is not
 *   needed.
 * - The dispatcher read 'reauth_required' before that write: it marks the event held and reads the status again.
 *   Either the release's read of held events comes after the mark, and the release takes the event; or it came
 *   before, so the status write did too, and the dispatcher's second read (after its mark) sees 'active' and
 *   dispatches the event itself. Each side writes before it reads, on the same primary, so at least one of them
 *   sees the other: no event stays held behind an active account. When both see it, the event is signalled twice,
 *   which the conversation workflow and its activity ignore.
 */
import type { Models } from '../db/models';
import type { WebhookEvent } from '../db/models/webhook-event';
import { addDispatchReports, emptyDispatchReport, type DispatchableEvent, type DispatchReport, type InboundDispatcher } from './dispatcher';

export interface HeldEventsDeps {
  models: Pick<Models, 'webhookEvents'>;
  dispatcher: Pick<InboundDispatcher, 'dispatch'>;
  /** How many events are signalled between two renewals of the waiting ones' claims. */
  sliceSize?: number;
}

/** Small enough to be signalled well within the sweeper's stale-claim delay at ~70 events/s. */
const DEFAULT_SLICE_SIZE = 500;

/**
 * Call after the account's status is back to 'active' (re-authenticated): its held events are dispatched, oldest
 * first per conversation. Safe to call again: what is not held any more is not touched. Called after an unlink
 * instead, it marks them 'unlinked' (the dispatcher's answer for an account no longer linked).
 */
export async function releaseHeldEvents(deps: HeldEventsDeps, igAccountId: string): Promise<DispatchReport & { released: number }> {
  const held = await deps.models.webhookEvents
    .find({ igAccountId, status: 'held' }, { eventKey: 1, igAccountId: 1, customerIgsid: 1, occurredAt: 1, kind: 1, mid: 1 })
    .sort({ occurredAt: 1, _id: 1 })
    .lean<Array<Pick<WebhookEvent, 'eventKey' | 'igAccountId' | 'customerIgsid' | 'occurredAt' | 'kind' | 'mid'>>>();
  if (held.length === 0) return { ...emptyDispatchReport(), released: 0 };
  await reclaimHeldEvents(deps.models, held.map((event) => event.eventKey));

  const sliceSize = deps.sliceSize ?? DEFAULT_SLICE_SIZE;
  let report = emptyDispatchReport();
  for (let start = 0; start < held.length; start += sliceSize) {
    const waiting = held.slice(start).map((event) => event.eventKey);
    if (report.failed > 0) {
      // Temporal refused: the sweeper takes the rest, after what failed, instead of this release racing it.
      await setClaims(deps.models, waiting, null);
      break;
    }
    if (start > 0) await setClaims(deps.models, waiting, new Date());
    const slice: DispatchableEvent[] = held.slice(start, start + sliceSize);
    report = addDispatchReports(report, await deps.dispatcher.dispatch(slice, { claimed: true }));
  }
  return { ...report, released: held.length };
}

/**
 * Held events become pending again, claimed for the dispatch that follows (as the ingress claims what it stores):
 * the sweeper leaves them to it, and takes them over if that dispatch never happens.
 */
export async function reclaimHeldEvents(models: Pick<Models, 'webhookEvents'>, eventKeys: string[]): Promise<void> {
  await models.webhookEvents.updateMany({ _id: { $in: eventKeys }, status: 'held' }, { $set: { status: 'pending', dispatchedAt: new Date() }, $inc: { dispatchAttempts: 1 } });
}

/** Renews (a date) or gives up (null) this release's claim on events it has not dispatched yet. */
async function setClaims(models: Pick<Models, 'webhookEvents'>, eventKeys: string[], dispatchedAt: Date | null): Promise<void> {
  await models.webhookEvents.updateMany({ _id: { $in: eventKeys }, status: 'pending', dispatchedAt: { $ne: null } }, { $set: { dispatchedAt } });
}
