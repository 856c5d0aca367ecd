/**
 * Meta's deauthorize and data-deletion callbacks (A12, META-API 4.3), and the status page a data deletion answers
 * with. Meta posts a form with one field, `signed_request`; it is verified before anything changes, and a bad one
 * answers 400 with the reason. The storage work is in src/linking/meta-callbacks.ts.
 *
 * When the answer is given: once the database holds the outcome (the unlink, the deletion), never later. Meta
 * documents no retry for these callbacks, so a 503 for a Temporal failure would most likely be the last word, and
 * for a data deletion it would withhold the confirmation code of a deletion that is done. Telling the account
 * workflows is therefore not a condition of the 200: the engine owns that retry (the workflow's daily token check
 * reads the unlink from the database). Only a database failure answers 503: nothing is reported done that is not,
 * and a repeated request is harmless if Meta (or the user) sends it again.
 */
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { DataDeletionRequest } from '../../db/models/data-deletion-request';
import type { MetaCallbacks } from '../../linking/meta-callbacks';
import type { Logger } from '../../logger';
import { verifySignedRequest, type SignedRequestPayload } from '../../security/signed-request';
import { errorBodySchema, HttpError } from '../errors';
import { defineRoute, type RouteDefinition, type RouteDocumentation } from '../route-definitions';

export const DEAUTHORIZE_PATH = '/meta/deauthorize';
export const DATA_DELETION_PATH = '/meta/data-deletion';

const signedRequestFormSchema = z.object({
  signed_request: z.string().describe('`<base64url HMAC-SHA256 of the payload segment with the app secret>.<base64url JSON {algorithm, issued_at, user_id}>`'),
});

const dataDeletionAnswerSchema = z.object({
  url: z.string().describe('The status page of this request (PUBLIC_BASE_URL/meta/data-deletion/<code>)'),
  confirmation_code: z.string().describe('Random, unguessable; the same request delivered again answers the same code'),
});

const callbackResponses = {
  400: {
    description: 'InvalidSignedRequest: missing, malformed, not signed with the app secret, or another algorithm; nothing changed. InvalidContentEncoding: the body is not what its Content-Encoding says',
    schema: errorBodySchema,
  },
  413: { description: 'PayloadTooLarge: the form is over 16 KB', schema: errorBodySchema },
  415: { description: 'UnsupportedEncoding: a Content-Encoding other than gzip, deflate or br', schema: errorBodySchema },
  503: { description: 'StorageUnavailable: the database failed; sending the request again is harmless', schema: errorBodySchema },
};

/** The two callbacks, declared for the API document; served by `createMetaCallbackRouter` (a form body). */
export const metaCallbackRouteDocs: RouteDocumentation[] = [
  {
    method: 'post',
    path: DEAUTHORIZE_PATH,
    operationId: 'metaDeauthorize',
    summary: "Meta's deauthorize callback: a Facebook user removed the app",
    description: 'Every Instagram account the user linked is unlinked (owners get one notice each); conversations stay readable.',
    tags: ['meta-callbacks'],
    auth: 'none',
    rawBody: { description: 'Form-encoded, as Meta sends it', contentType: 'application/x-www-form-urlencoded', schema: signedRequestFormSchema, required: true },
    responses: {
      200: { description: 'Done (the accounts are unlinked in the database)', schema: z.object({ unlinked: z.number().int().describe('Accounts this request unlinked') }) },
      ...callbackResponses,
    },
  },
  {
    method: 'post',
    path: DATA_DELETION_PATH,
    operationId: 'metaDataDeletion',
    summary: "Meta's data-deletion callback: a Facebook user asked for their data to be deleted",
    description:
      "Unlinks the user's accounts as deauthorize does, then deletes their facebookConnections document, their facebookLogins and the sealed Page tokens of the accounts they linked. Conversations and messages are the business's records and stay.",
    tags: ['meta-callbacks'],
    auth: 'none',
    rawBody: { description: 'Form-encoded, as Meta sends it', contentType: 'application/x-www-form-urlencoded', schema: signedRequestFormSchema, required: true },
    responses: { 200: { description: 'Deleted; where the user sees the status', schema: dataDeletionAnswerSchema }, ...callbackResponses },
  },
];

export interface MetaCallbackRouterDeps {
  callbacks: Pick<MetaCallbacks, 'deauthorize' | 'deleteData'>;
  appSecret: string;
  publicBaseUrl: string;
  logger: Logger;
}

export function dataDeletionStatusUrl(publicBaseUrl: string, confirmationCode: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}${DATA_DELETION_PATH}/${confirmationCode}`;
}

function verifiedRequest(req: Request, appSecret: string): SignedRequestPayload {
  const field = (req.body as Record<string, unknown> | undefined)?.signed_request;
  const check = verifySignedRequest(appSecret, typeof field === 'string' ? field : undefined);
  if (check.ok) return check.payload;
  const hint = check.problem === 'missing' && !req.is('application/x-www-form-urlencoded') ? ' (send it form-encoded: application/x-www-form-urlencoded)' : '';
  throw new HttpError(400, 'InvalidSignedRequest', `signed_request refused: ${check.message}${hint}`, { problem: check.problem });
}

/** Runs the storage work; a database failure becomes a 503 (sending again is harmless). */
async function stored<T>(logger: Logger, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    logger.error(`${what} failed`, { error: (error as Error).message });
    throw new HttpError(503, 'StorageUnavailable', `${what} could not be completed; sending the request again is harmless`);
  }
}

export function createMetaCallbackRouter(deps: MetaCallbackRouterDeps): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb' });

  router.post(DEAUTHORIZE_PATH, form, async (req, res) => {
    const request = verifiedRequest(req, deps.appSecret);
    const outcome = await stored(deps.logger, 'the deauthorization', () => deps.callbacks.deauthorize(request));
    res.status(200).json({ unlinked: outcome.unlinked.length });
  });

  router.post(DATA_DELETION_PATH, form, async (req, res) => {
    const request = verifiedRequest(req, deps.appSecret);
    const record = await stored(deps.logger, 'the data deletion', () => deps.callbacks.deleteData(request));
    res.status(200).json({ url: dataDeletionStatusUrl(deps.publicBaseUrl, record.confirmationCode), confirmation_code: record.confirmationCode });
  });

  return router;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** The page the user opens from Facebook's settings: what was deleted, what was kept and why. */
export function renderDeletionStatusPage(record: DataDeletionRequest): string {
  const rows: Array<[string, number]> = [
    ['Instagram accounts unlinked', record.deleted.unlinkedAccounts],
    ['Page access tokens deleted', record.deleted.pageTokens],
    ['Facebook connections deleted', record.deleted.facebookConnections],
    ['Facebook logins deleted', record.deleted.facebookLogins],
  ];
  const list = rows.map(([label, count]) => `<li>${label}: ${count}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data deletion request ${escapeHtml(record.confirmationCode)}</title></head>
<body>
<h1>Data deletion request</h1>
<p>Confirmation code: <code>${escapeHtml(record.confirmationCode)}</code></p>
<p>Status: <strong>${record.status}</strong> on ${record.completedAt.toISOString()} (received ${record.receivedAt.toISOString()}).</p>
<p>What this request deleted of the data the app received from your Facebook account:</p>
<ul>${list}</ul>
<p>Deleted: the access tokens you granted and the record of your Facebook logins with this app. Kept: the Instagram conversations and messages between the businesses and their customers, which are the businesses' own records; they can no longer send or receive Instagram messages through your grant.</p>
</body></html>
`;
}

/** `GET /meta/data-deletion/:confirmationCode`: the status page (no key: the random code is the key). */
export function createDataDeletionStatusRoutes(deps: { callbacks: Pick<MetaCallbacks, 'findDeletionRequest'> }): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: `${DATA_DELETION_PATH}/:confirmationCode`,
      operationId: 'metaDataDeletionStatus',
      summary: 'The status of a data deletion request, for the person who asked (a small HTML page)',
      tags: ['meta-callbacks'],
      auth: 'none',
      params: z.object({ confirmationCode: z.string().min(1).max(200) }),
      responses: {
        200: { description: 'The request: its status, when, and what it deleted', contentType: 'text/html', schema: z.string() },
        404: { description: 'DataDeletionRequestNotFound: no request has this confirmation code', schema: errorBodySchema },
      },
      handler: async ({ params }) => {
        const record = await deps.callbacks.findDeletionRequest(params.confirmationCode);
        if (!record) throw new HttpError(404, 'DataDeletionRequestNotFound', `no data deletion request has the confirmation code ${params.confirmationCode}`);
        return { status: 200, body: renderDeletionStatusPage(record) };
      },
    }),
  ];
}
