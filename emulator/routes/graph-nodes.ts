/**
 * Reading a node by id (`GET /{id}`): an Instagram user by IGSID (the Profile API), an Instagram professional
 * account, a Page, or a message (for the story a customer mentioned the account in).
 *
 * A node out of the token's reach (another Page's, or left out of the user's current grant) answers 100/33, Meta's
 * "cannot be loaded due to missing permissions" for an object read (META-API 2.6).
 */
import { type Request, Router } from 'express';
import { grantCovers, pageTokenFor, requireGrant, requireToken } from '../access-tokens';
import { graphErrors } from '../graph-errors';
import type { Grant, IgAccount, Page, StoredMessage, TokenRecord } from '../state-records';
import { createProfileApi, type ProfileApiDeps } from './graph-profile';
import { requestedFields, tokenFrom } from './graph-request';

export type GraphNodesRoutesDeps = ProfileApiDeps;

export function createGraphNodesRouter(deps: GraphNodesRoutesDeps): Router {
  const { state, messaging } = deps;
  const router = Router();
  const profiles = createProfileApi(deps);

  function igAccountNode(req: Request, token: TokenRecord, grant: Grant, account: IgAccount): Record<string, unknown> {
    const ownPage = token.kind !== 'PAGE' || token.pageId === account.pageId;
    if (!ownPage || !grantCovers(grant, 'instagram_basic', account.id)) throw graphErrors.unsupportedRequest('get', account.id);
    const values: Record<string, unknown> = { username: account.username, name: account.name, profile_picture_url: null };
    const out: Record<string, unknown> = {};
    for (const field of requestedFields(req, ['id', 'username'])) {
      if (field === 'id') continue;
      if (!(field in values)) throw graphErrors.nonexistingField(field, 'IGUser');
      out[field] = values[field];
    }
    return { id: account.id, ...out };
  }

  function pageNode(req: Request, token: TokenRecord, grant: Grant, page: Page): Record<string, unknown> {
    const ownPage = token.kind !== 'PAGE' || token.pageId === page.id;
    if (!ownPage || !grant.pageIds.includes(page.id)) throw graphErrors.unsupportedRequest('get', page.id);
    const out: Record<string, unknown> = { id: page.id };
    for (const field of requestedFields(req, ['name', 'id'])) {
      if (field === 'name') out.name = page.name;
      else if (field === 'instagram_business_account') {
        if (page.igAccountId !== null) out.instagram_business_account = { id: page.igAccountId };
      } else if (field === 'access_token') {
        if (token.kind === 'USER') out.access_token = pageTokenFor(state, token, page.id).value;
      } else if (field !== 'id') throw graphErrors.nonexistingField(field, 'Page');
    }
    return out;
  }

  function messageNode(req: Request, token: TokenRecord, grant: Grant, message: StoredMessage): Record<string, unknown> {
    const linkedPage = token.kind === 'PAGE' ? state.pages.get(token.pageId ?? '') : undefined;
    if (!linkedPage || linkedPage.igAccountId !== message.igAccountId) throw graphErrors.unsupportedRequest('get', message.mid);
    if (!grantCovers(grant, 'instagram_manage_messages', message.igAccountId)) throw graphErrors.unsupportedRequest('get', message.mid);
    const out: Record<string, unknown> = { id: message.mid };
    const story = message.storyId === undefined ? undefined : state.stories.get(message.storyId);
    if (requestedFields(req, ['id']).includes('story') && story && story.owner.kind === 'customer' && state.isStoryAlive(story)) {
      // Meta returns a freshly signed link each time (observed); a new query string stands in for that.
      out.story = { mention: { link: `${messaging.storyUrl(story.id)}?sig=${state.clock.now().toString(36)}`, id: story.id } };
    }
    return out;
  }

  /** The node behind `id` other than an IGSID, as the token may see it; undefined when there is none. */
  function otherNode(req: Request, token: TokenRecord, grant: Grant, id: string): Record<string, unknown> | undefined {
    const account = state.igAccounts.get(id);
    if (account) return igAccountNode(req, token, grant, account);
    const page = state.pages.get(id);
    if (page) return pageNode(req, token, grant, page);
    const message = state.messagesByMid.get(id);
    if (message) return messageNode(req, token, grant, message);
    return undefined;
  }

  router.get('/:id', async (req, res) => {
    const id = req.params.id;
    const token = requireToken(state, tokenFrom(req));
    const grant = requireGrant(state, token);
    const scoped = state.resolveScopedId(id);
    if (scoped) {
      await profiles.serveProfile(req, res, token, grant, id, scoped);
      return;
    }
    const node = otherNode(req, token, grant, id);
    if (node === undefined) throw graphErrors.unsupportedRequest('get', id);
    res.json(node);
  });

  return router;
}
