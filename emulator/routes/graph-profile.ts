/**
 * The Profile API (`GET /{igsid}`, META-API 3): a customer's name, username and picture, for a Page token of
 * the account's Page with instagram_manage_messages on it, once the customer has written to the account. Its
 * fault switches make the answer slow, hang, fail transiently or refuse.
 */
import type { Request, Response } from 'express';
import { grantCovers } from '../access-tokens';
import type { FaultSwitches, ProfileFaultRule } from '../faults';
import { graphErrors } from '../graph-errors';
import type { Messaging } from '../messaging';
import type { EmulatorState } from '../state';
import type { Grant, IgUser, TokenRecord } from '../state-records';
import { requestedFields } from './graph-request';
import { hang, holdWhileConnected } from './held-connections';

export interface ProfileApiDeps {
  state: EmulatorState;
  messaging: Messaging;
  profileFaults: FaultSwitches<ProfileFaultRule>;
}

/** An IGSID and whose it is: the Instagram user, as seen by the account it is scoped to. */
export interface ScopedUser {
  igAccountId: string;
  igUser: IgUser;
}

export function createProfileApi(deps: ProfileApiDeps) {
  const { state, messaging } = deps;

  function authorizeProfileRead(token: TokenRecord, grant: Grant, id: string, igAccountId: string): void {
    const page = token.kind === 'PAGE' ? state.pages.get(token.pageId ?? '') : undefined;
    if (!page || page.igAccountId !== igAccountId) throw graphErrors.unsupportedRequest('get', id);
    if (!grantCovers(grant, 'instagram_manage_messages', igAccountId)) throw graphErrors.unsupportedRequest('get', id);
  }

  /**
   * Applies a Profile API fault to an authorized call. Answers false when the fault answered the call itself
   * (a hang), true when the profile is to be served (after a slow hold); refusals are thrown.
   */
  async function applyProfileFault(res: Response, igAccountId: string, igsid: string): Promise<boolean> {
    const fault = deps.profileFaults.next(igAccountId, igsid);
    if (fault === null) return true;
    switch (fault.mode) {
      case 'transient':
        throw graphErrors.unexpectedError();
      case 'refusal':
        throw fault.refusal === 'consent_required' ? graphErrors.consentRequired() : graphErrors.unsupportedRequest('get', igsid);
      case 'timeout':
        hang(res, fault.hangMs);
        return false;
      case 'slow':
        return holdWhileConnected(res, fault.hangMs);
    }
  }

  function instagramUserNode(req: Request, token: TokenRecord, grant: Grant, id: string, scoped: ScopedUser): Record<string, unknown> {
    authorizeProfileRead(token, grant, id, scoped.igAccountId);
    const conversation = state.conversation(scoped.igAccountId, id);
    const consented = conversation.messages.some((message) => message.source === 'customer') || conversation.lastCustomerMessageAt !== null;
    if (!consented) throw graphErrors.consentRequired();
    const user = scoped.igUser;
    const values: Record<string, unknown> = {
      name: user.name === '' ? null : user.name,
      username: user.username,
      profile_pic: user.profilePic === '' ? null : messaging.absolute(user.profilePic),
      follower_count: 0,
      is_verified_user: false,
      is_user_follow_business: false,
      is_business_follow_user: false,
    };
    const out: Record<string, unknown> = {};
    for (const field of requestedFields(req, ['name', 'username', 'profile_pic'])) {
      if (field === 'id') continue;
      if (!(field in values)) throw graphErrors.nonexistingField(field, 'InstagramUser');
      out[field] = values[field];
    }
    return { ...out, id };
  }

  /**
   * Answers `GET /{igsid}`. Faults hit only calls Meta would serve, so a test of a slow or failing Profile API is
   * not a token test.
   */
  async function serveProfile(req: Request, res: Response, token: TokenRecord, grant: Grant, id: string, scoped: ScopedUser): Promise<void> {
    authorizeProfileRead(token, grant, id, scoped.igAccountId);
    if (!(await applyProfileFault(res, scoped.igAccountId, id))) return;
    res.json(instagramUserNode(req, token, grant, id, scoped));
  }

  return { serveProfile };
}
