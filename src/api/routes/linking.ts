/**
 * Linking Instagram accounts through Facebook Login: an owner starts a login (a URL to open), Meta sends the
 * browser back to the callback (the signed `state` authenticates it: no API key there), and the owner links the
 * accounts of their choice. Re-authenticating an account is the same flow, with the same Facebook account.
 */
import { z } from 'zod';
import type { FacebookLogin } from '../../db/models/facebook-login';
import type { AccountLinker } from '../../linking/account-linker';
import type { FacebookLoginFlow } from '../../linking/facebook-login';
import { assertOwnChannel, assertOwner } from '../auth';
import { defineRoute, errorResponse, type RouteDefinition } from '../route-definitions';
import { namedSchema } from '../schema-names';

export interface LinkingRoutesDeps {
  logins: FacebookLoginFlow;
  linker: AccountLinker;
}

export const FACEBOOK_CALLBACK_PATH = '/v1/oauth/facebook/callback';

const id = z.string().min(1).max(200);
const isoTime = z.iso.datetime();

const loginChoiceSchema = namedSchema(
  'FacebookLoginChoice',
  z.object({
    loginId: z.string().describe('Names this login in the selection route'),
    channelId: z.string(),
    facebookUser: z.object({ id: z.string(), name: z.string().nullable() }).describe('The Facebook account that signed in: it alone may re-authenticate what it links'),
    chooseBy: isoTime.describe('The selection is refused after this'),
    accounts: z.array(
      z.object({
        igAccountId: z.string(),
        username: z.string(),
        pageId: z.string(),
        pageName: z.string(),
        businessId: z.string().nullable(),
        linkedHere: z.boolean().describe('Linked to this channel already: selecting it re-authenticates it'),
      }),
    ),
    pagesWithoutInstagram: z.array(z.object({ pageId: z.string(), pageName: z.string() })).describe('Pages granted that have no Instagram professional account: they cannot be linked'),
  }),
);

function presentChoice(login: FacebookLogin): z.input<typeof loginChoiceSchema> {
  return {
    loginId: login._id,
    channelId: login.channelId,
    facebookUser: { id: login.facebookUserId ?? '', name: login.facebookUserName },
    chooseBy: (login.chooseBy ?? login.expiresAt).toISOString(),
    accounts: login.candidates,
    pagesWithoutInstagram: login.pagesWithoutInstagram,
  };
}

export function createLinkingRoutes(deps: LinkingRoutesDeps): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/channels/:channelId/instagram/link',
      operationId: 'startInstagramLink',
      summary: 'Start linking Instagram accounts (owners): a Facebook Login URL',
      description:
        'Open `loginUrl` in the owner’s browser. Facebook sends it back to the callback with a `state` that is signed, bound to this channel and owner, single use, and expires at `expiresAt`. Also the way to add accounts (select the linked ones again with the new one: what is not selected loses its link) and to re-authenticate (sign in with the Facebook account that made the link).',
      tags: ['instagram'],
      auth: 'manager',
      params: z.object({ channelId: id }),
      responses: {
        201: { description: 'The login to open', schema: z.object({ loginId: z.string(), loginUrl: z.url(), expiresAt: isoTime }) },
        403: errorResponse('OwnerRequired: only owners link accounts'),
        404: errorResponse('NotFound: no such channel for this key'),
      },
      handler: async ({ params, caller }) => {
        assertOwnChannel(caller, params.channelId, `channel ${params.channelId}`);
        assertOwner(caller, 'linking Instagram accounts');
        const { login, loginUrl } = await deps.logins.start({ channelId: params.channelId, managerId: caller.manager.managerId });
        return { status: 201, body: { loginId: login._id, loginUrl, expiresAt: login.expiresAt.toISOString() } };
      },
    }),

    defineRoute({
      method: 'get',
      path: FACEBOOK_CALLBACK_PATH,
      operationId: 'facebookLoginCallback',
      summary: 'Facebook Login comes back here (the redirect URI)',
      description:
        'Meta redirects the owner’s browser here with `code` and `state`, or with its error parameters when the dialog was cancelled. Exchanges the code for a long-lived token, checks every permission, and answers the Instagram professional accounts the owner may link.',
      tags: ['instagram'],
      auth: 'none',
      query: z.object({
        state: z.string().max(200).optional(),
        code: z.string().max(2000).optional(),
        error: z.string().max(200).optional(),
        error_reason: z.string().max(200).optional(),
        error_description: z.string().max(1000).optional(),
        error_code: z.string().max(20).optional(),
      }),
      responses: {
        200: { description: 'The accounts to choose from', schema: loginChoiceSchema },
        400: errorResponse('LoginStateInvalid, LoginStateExpired or LoginStateReplayed: a bad, expired or reused `state`; LoginCancelled: the dialog was cancelled'),
        422: errorResponse('PermissionMissing (names the permission), NoPageGranted, NoInstagramAccount (a Page without an Instagram professional account), FacebookRefused'),
        503: errorResponse('FacebookUnavailable: Facebook could not be reached; start again'),
      },
      handler: async ({ query }) => {
        const { login } = await deps.logins.complete({
          state: query.state,
          code: query.code,
          error: query.error,
          errorReason: query.error_reason,
          errorDescription: query.error_description,
        });
        return { status: 200, body: presentChoice(login) };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/channels/:channelId/instagram/link/:loginId',
      operationId: 'linkInstagramAccounts',
      summary: 'Link the chosen accounts of a login (owners)',
      description:
        'The owner who started the login chooses among its accounts. Each Page is subscribed to the webhooks first: if Meta refuses, nothing is linked and the owner may choose again. Accounts this Facebook account linked before and not chosen now lose their link; if it served another channel, it serves this one now and that channel’s owners are told.',
      tags: ['instagram'],
      auth: 'manager',
      params: z.object({ channelId: id, loginId: id }),
      body: { required: true, json: z.object({ igAccountIds: z.array(z.string().min(1).max(100)).min(1).max(100).describe('The accounts to link (all of the channel’s that this Facebook account should keep)') }).strict() },
      responses: {
        200: {
          description: 'What was linked, and what lost its link',
          schema: z.object({
            linked: z.array(z.object({ igAccountId: z.string(), username: z.string(), reauthenticated: z.boolean(), movedFromChannelId: z.string().nullable() })),
            unlinked: z.array(z.object({ igAccountId: z.string(), channelId: z.string(), reason: z.string() })),
          }),
        },
        400: errorResponse('AccountNotOffered: an id that this login did not grant; ValidationFailed'),
        403: errorResponse('OwnerRequired: only owners link accounts'),
        404: errorResponse('NotFound: no such login of this owner and channel'),
        409: errorResponse('WrongFacebookAccount (names the Facebook account to use), LoginNotChoosable, LoginExpired, AccountNoLongerGranted'),
        422: errorResponse('FacebookRefused: Meta refused a step; nothing was linked'),
        503: errorResponse('FacebookRefused: Meta could not be reached; nothing was linked'),
      },
      handler: async ({ params, body, caller }) => {
        assertOwnChannel(caller, params.channelId, `channel ${params.channelId}`);
        assertOwner(caller, 'linking Instagram accounts');
        const outcome = await deps.linker.link({ channelId: params.channelId, managerId: caller.manager.managerId, loginId: params.loginId, igAccountIds: body.igAccountIds });
        return { status: 200, body: outcome };
      },
    }),
  ];
}
