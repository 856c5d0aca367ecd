/**
 * The Graph API client: one typed function per call the engine makes (Facebook Login flavor, META-API 0).
 * Requests and answers are checked with zod; Meta's refusals become domain errors (src/domain/errors.ts).
 * Tokens travel in the Authorization header, except where Meta wants them in the query string (the OAuth
 * exchanges, debug_token); every URL that reaches a log line or an error is scrubbed first.
 *
 * The calls live by family (oauth-api, pages-api, messaging-api, profile-api) over one transport; this module
 * puts them together and is where the engine imports the client and its types from.
 */
import { createMessagingApi, type MessagingApi } from './messaging-api';
import { type AppCredentials, createOAuthApi, type OAuthApi } from './oauth-api';
import { createPagesApi, type PagesApi } from './pages-api';
import { createProfileApi, type ProfileApi } from './profile-api';
import { createGraphTransport, type GraphTransportOptions } from './transport';

export { buildLoginDialogUrl } from './login-dialog';
export type { MessagingApi, OutgoingMessage, SenderAction, SendMessageInput, SentMessage } from './messaging-api';
export type { AccessTokenGrant, OAuthApi, TokenDebugInfo } from './oauth-api';
export type { InstagramAccount, ManagedPage, PagesApi, SubscribedApp } from './pages-api';
export { DEFAULT_PROFILE_FIELDS, type ProfileApi, type UserProfile } from './profile-api';

export interface GraphClientOptions extends GraphTransportOptions, AppCredentials {}

export interface GraphClient extends OAuthApi, PagesApi, MessagingApi, ProfileApi {}

export function createGraphClient(options: GraphClientOptions): GraphClient {
  const request = createGraphTransport(options);
  return {
    ...createOAuthApi(request, options),
    ...createPagesApi(request),
    ...createMessagingApi(request),
    ...createProfileApi(request),
  };
}
