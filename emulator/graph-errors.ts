/**
 * Meta's refusals in Meta's body shape (META-API 2.6). Every emulator endpoint answers errors through these,
 * so a client meets the same codes, subcodes and HTTP statuses it would meet at Meta.
 */
import { fbtraceId } from './ids';

export interface GraphErrorBody {
  error: {
    message: string;
    type: string;
    code: number;
    error_subcode?: number;
    is_transient: boolean;
    error_user_title?: string;
    error_user_msg?: string;
    fbtrace_id: string;
  };
}

export interface GraphErrorSpec {
  message: string;
  code: number;
  subcode?: number;
  type?: string;
  isTransient?: boolean;
  userTitle?: string;
  userMessage?: string;
  /** Meta documents none for messaging errors; 400 is what is observed for OAuthException. */
  status?: number;
  headers?: Record<string, string>;
}

export class GraphError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(readonly spec: GraphErrorSpec) {
    super(spec.message);
    this.name = 'GraphError';
    this.status = spec.status ?? 400;
    this.headers = spec.headers ?? {};
  }

  body(): GraphErrorBody {
    const { spec } = this;
    return {
      error: {
        message: spec.message,
        type: spec.type ?? 'OAuthException',
        code: spec.code,
        ...(spec.subcode === undefined ? {} : { error_subcode: spec.subcode }),
        is_transient: spec.isTransient ?? false,
        ...(spec.userTitle === undefined ? {} : { error_user_title: spec.userTitle }),
        ...(spec.userMessage === undefined ? {} : { error_user_msg: spec.userMessage }),
        fbtrace_id: fbtraceId(),
      },
    };
  }
}

export function isGraphError(error: unknown): error is GraphError {
  return error instanceof GraphError;
}

function formatMetaDate(epochMs: number): string {
  // Meta writes e.g. "Tuesday, 05-Aug-25 10:00:00 PDT"; UTC keeps it deterministic here.
  const date = new Date(epochMs);
  const weekday = date.toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' });
  const day = String(date.getUTCDate()).padStart(2, '0');
  const month = date.toLocaleDateString('en-US', { month: 'short', timeZone: 'UTC' });
  const year = String(date.getUTCFullYear()).slice(-2);
  const time = date.toISOString().slice(11, 19);
  return `${weekday}, ${day}-${month}-${year} ${time} UTC`;
}

export const graphErrors = {
  missingToken: () =>
    new GraphError({ code: 104, message: 'An access token is required to request this resource.' }),
  malformedToken: () =>
    new GraphError({ code: 190, message: 'Invalid OAuth access token - Cannot parse access token' }),
  tokenExpired: (expiredAt: number, now: number) =>
    new GraphError({
      code: 190,
      subcode: 463,
      message: `Error validating access token: Session has expired on ${formatMetaDate(expiredAt)}. The current time is ${formatMetaDate(now)}.`,
    }),
  tokenPasswordChanged: () =>
    new GraphError({
      code: 190,
      subcode: 460,
      message:
        'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
    }),
  tokenAppRemoved: (appId: string) =>
    new GraphError({
      code: 190,
      subcode: 458,
      message: `Error validating access token: The user has not authorized application ${appId}.`,
    }),
  tokenInvalidated: () =>
    new GraphError({ code: 190, subcode: 467, message: 'Error validating access token: The session is invalid because the user logged out.' }),
  invalidAppToken: () =>
    new GraphError({ code: 190, message: 'Invalid OAuth access token signature.' }),

  invalidParameter: (message: string) => new GraphError({ code: 100, message: `(#100) ${message}` }),
  unsupportedRequest: (method: 'get' | 'post' | 'delete', id: string) =>
    new GraphError({
      code: 100,
      subcode: 33,
      type: 'GraphMethodException',
      message: `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
    }),
  unknownPath: (path: string) =>
    new GraphError({ code: 2500, message: `Unknown path components: ${path}`, type: 'OAuthException' }),
  nonexistingField: (field: string, nodeType: string) =>
    new GraphError({ code: 100, message: `(#100) Tried accessing nonexisting field (${field}) on node type (${nodeType})` }),
  permissionMissing: (permission: string) =>
    new GraphError({ code: 200, message: `(#200) Requires ${permission} permission to manage the object` }),
  pageTokenRequired: () =>
    new GraphError({ code: 190, message: '(#190) This method must be called with a Page Access Token' }),

  invalidAppId: () => new GraphError({ code: 101, message: 'Error validating application. Invalid application ID.' }),
  invalidClientSecret: () => new GraphError({ code: 100, message: 'Error validating client secret.' }),
  codeUsed: () => new GraphError({ code: 100, subcode: 36009, message: 'This authorization code has been used.' }),
  codeExpired: () => new GraphError({ code: 100, subcode: 36007, message: 'This authorization code has expired.' }),
  redirectUriMismatch: () =>
    new GraphError({
      code: 100,
      subcode: 36008,
      message:
        'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request',
    }),
  invalidCode: () => new GraphError({ code: 100, message: 'Invalid verification code format.' }),

  windowClosed: () =>
    new GraphError({
      code: 10,
      subcode: 2534022,
      message: '(#10) This message is sent outside of allowed window.',
      userTitle: 'Message not sent',
      userMessage: 'This message is sent outside of allowed window.',
    }),
  invalidTag: (tag: string) => new GraphError({ code: 100, message: `(#100) Param tag must be HUMAN_AGENT for Instagram messaging; got ${tag}` }),
  noMatchingUser: () =>
    new GraphError({ code: 100, subcode: 2534014, message: '(#100) No matching Instagram user', userTitle: 'No matching user' }),
  invalidMessageData: (detail: string) =>
    new GraphError({ code: 100, subcode: 2534015, message: `(#100) Invalid message data: ${detail}`, userTitle: 'Invalid message data' }),
  messagesAccessOff: () =>
    new GraphError({
      code: 200,
      subcode: 2534041,
      message: '(#200) The Instagram account owner has disabled access to messages for connected tools.',
      userTitle: 'Access to messages is off',
      userMessage: 'Turn on "Allow access to messages" in the Instagram app: Settings > Messages and story replies > Message controls > Connected tools.',
    }),
  mediaFetchFailed: () =>
    new GraphError({ code: 100, subcode: 2018008, message: '(#100) Failed to fetch the file from the url' }),
  mediaTypeMismatch: (detail: string) =>
    new GraphError({ code: 100, subcode: 2018047, message: `(#100) Upload attachment failure: ${detail}` }),
  attachmentTooLarge: () =>
    new GraphError({ code: 100, subcode: 2018109, message: '(#100) Attachment size exceeds allowable limit' }),
  rateLimited: () =>
    new GraphError({ code: 613, subcode: 2534040, message: '(#613) Calls to this api have exceeded the rate limit.', isTransient: true }),
  accountThrottled: (usageHeader: string) =>
    new GraphError({
      code: 80002,
      message: '(#80002) There have been too many calls to this Instagram account. Wait a bit and try again.',
      isTransient: true,
      headers: { 'X-Business-Use-Case-Usage': usageHeader },
    }),
  pageNotLinked: () =>
    new GraphError({ code: 100, subcode: 2534013, message: '(#100) The Facebook Page is not linked to an Instagram professional account' }),
  noMessagingPermission: () =>
    new GraphError({ code: 10, message: '(#10) Application does not have permission for this action (instagram_manage_messages)' }),
  videoRefused: () =>
    new GraphError({ code: 100, subcode: 2018047, message: '(#100) Upload attachment failure: video attachments are not accepted for this product' }),
  notReceiving: () =>
    new GraphError({ code: 551, message: "(#551) This person isn't receiving messages from you right now.", userTitle: 'Message not sent' }),
  notAvailable: () =>
    new GraphError({ code: 551, subcode: 1545041, message: "(#551) This person isn't available right now.", userTitle: 'Message not sent' }),
  temporarilyRestricted: () =>
    new GraphError({ code: 10, subcode: 1893063, message: '(#10) You are temporarily restricted from sending messages.', userTitle: 'Restricted' }),
  businessBlocked: () =>
    new GraphError({ code: 100, subcode: 2534029, message: '(#100) This business is blocked from using the messaging API.' }),
  consentRequired: () =>
    new GraphError({ code: 230, message: '(#230) User consent is required to access user profile', userTitle: 'User consent is required' }),

  unknownError: () => new GraphError({ code: 1, message: 'An unknown error occurred', isTransient: true, status: 500 }),
  unknownOutcome: () =>
    new GraphError({ code: 1, subcode: 1357046, message: 'Received Invalid JSON reply.', isTransient: false, status: 500 }),
  unexpectedError: () =>
    new GraphError({ code: 2, message: 'An unexpected error has occurred. Please retry your request later.', isTransient: true, status: 500 }),
};
