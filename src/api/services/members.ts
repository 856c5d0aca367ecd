/**
 * A channel's members (its own customer records) and the manual merge of an Instagram customer into one (B3).
 *
 * The database has no transactions, so a merge is two writes in a fixed order. The customer's `memberId` is the
 * truth; the member's list of Instagram profiles follows it. A merge claims the customer first (a conditional
 * write, so two merges cannot both win), then adds the profile to the member; an undo removes the profile first,
 * then releases the customer. A crash between the two writes therefore leaves only "the customer names the member,
 * the member does not list it yet (or any more)", never a profile listed for a customer merged elsewhere; the next
 * merge into that member adds the profile again, and the next undo releases the customer.
 */
import { randomUUID } from 'node:crypto';
import type { Models } from '../../db/models';
import { makeCustomerKey, type Customer } from '../../db/models/customer';
import type { Member, MemberInstagramProfile } from '../../db/models/member';
import { pageOf, type CursorPosition } from '../cursor';
import type { Page } from './inbox-reads';

export interface NewMemberInput {
  name: string;
  email?: string | undefined;
  phone?: string | undefined;
  note?: string | undefined;
}

export type MergeOutcome =
  | { outcome: 'merged'; customer: Customer; member: Member }
  /** Merged into another member: of this channel (named), or of a channel this one may not see. */
  | { outcome: 'merged-elsewhere'; otherMember: Member | null };

export type UndoOutcome = { outcome: 'undone'; customer: Customer; formerMember: Member | null } | { outcome: 'not-merged' };

export type MemberStore = ReturnType<typeof createMemberStore>;

export function createMemberStore(deps: { models: Pick<Models, 'members' | 'customers'>; now: () => number; newId?: () => string }) {
  const { models } = deps;
  const newId = deps.newId ?? (() => `mem_${randomUUID()}`);

  async function findMember(channelId: string, memberId: string): Promise<Member | null> {
    const member = await models.members.findOne({ _id: memberId }).lean<Member>();
    return member && member.channelId === channelId ? member : null;
  }

  /** Adds the customer's profile to the member unless it is listed already (idempotent, so a repair can repeat it). */
  async function listProfile(member: Member, customer: Customer, managerId: string): Promise<void> {
    if (member.instagramProfiles.some((p) => p.igAccountId === customer.igAccountId && p.igsid === customer.igsid)) return;
    const profile: MemberInstagramProfile = { igAccountId: customer.igAccountId, igsid: customer.igsid, username: customer.username, mergedAt: new Date(deps.now()), mergedBy: managerId };
    await models.members.collection.updateOne({ _id: member._id } as never, { $push: { instagramProfiles: profile } } as never);
  }

  /** Removes every entry of the customer from the member. By exact value: FerretDB's `$pull` takes no conditions. */
  async function unlistProfile(memberId: string, customer: Customer): Promise<void> {
    const member = await models.members.collection.findOne({ _id: memberId } as never);
    const entries = ((member?.instagramProfiles ?? []) as MemberInstagramProfile[]).filter((p) => p.igAccountId === customer.igAccountId && p.igsid === customer.igsid);
    for (const entry of entries) await models.members.collection.updateOne({ _id: memberId } as never, { $pull: { instagramProfiles: entry } } as never);
  }

  async function reload(customer: Customer): Promise<Customer> {
    return (await models.customers.findOne({ _id: customer._id }).lean<Customer>()) ?? customer;
  }

  /** Merges the customer into the member (both already checked visible to the channel). Repeating it is harmless. */
  async function mergeCustomer(customer: Customer, member: Member, managerId: string, retried = false): Promise<MergeOutcome> {
    // First write: claim the customer, only if it is not merged yet (or already into this member: a repair).
    const claimed = await models.customers.updateOne({ _id: makeCustomerKey(customer.igAccountId, customer.igsid), memberId: { $in: [null, member._id] } }, { $set: { memberId: member._id } });
    if (claimed.matchedCount === 0) {
      const current = await reload(customer);
      // Released by an undo in the meantime: try once more.
      if (current.memberId === null && !retried) return mergeCustomer(current, member, managerId, true);
      const otherMember = current.memberId === null ? null : await findMember(member.channelId, current.memberId);
      return { outcome: 'merged-elsewhere', otherMember };
    }
    // Second write: list the profile on the member.
    await listProfile(member, customer, managerId);
    const merged = (await findMember(member.channelId, member._id)) ?? member;
    return { outcome: 'merged', customer: await reload(customer), member: merged };
  }

  return {
    findMember,

    async createMember(channelId: string, input: NewMemberInput): Promise<Member> {
      const memberId = newId();
      const member: Member = {
        _id: memberId,
        memberId,
        channelId,
        name: input.name,
        email: input.email ?? null,
        phone: input.phone ?? null,
        note: input.note ?? null,
        instagramProfiles: [],
        createdAt: new Date(deps.now()),
      };
      await models.members.collection.insertOne({ ...member } as never);
      return member;
    },

    /** Newest first, the id breaking ties. */
    async listMembers(channelId: string, page: { limit: number; after?: CursorPosition }): Promise<Page<Member>> {
      const after = page.after;
      const filter = after ? { channelId, $or: [{ createdAt: { $lt: new Date(after.at) } }, { createdAt: new Date(after.at), _id: { $lt: after.id } }] } : { channelId };
      const members = await models.members.find(filter).sort({ createdAt: -1, _id: -1 }).limit(page.limit + 1).lean<Member[]>();
      return pageOf(members, page.limit, 'members', (m) => ({ at: m.createdAt.getTime(), id: m._id }));
    },

    mergeCustomer,

    /** Undoes the merge: the member stops listing the customer, then the customer stops naming the member. */
    async undoMerge(channelId: string, customer: Customer): Promise<UndoOutcome> {
      const memberId = customer.memberId;
      if (memberId === null) return { outcome: 'not-merged' };
      const formerMember = await findMember(channelId, memberId);
      // A member of another channel is not this channel's to undo.
      if (!formerMember) return { outcome: 'not-merged' };
      await unlistProfile(memberId, customer);
      await models.customers.updateOne({ _id: customer._id, memberId }, { $set: { memberId: null } });
      return { outcome: 'undone', customer: await reload(customer), formerMember: await findMember(channelId, memberId) };
    },
  };
}
