/**
 * Who calls the API: `Authorization: Bearer <key>` names a manager of one channel by its API key, or, on the
 * operators' routes, carries the operator token. Every refusal is 401, whatever was wrong with the header.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Models } from '../db/models';
import { hashApiKey, type Manager } from '../db/models/manager';
import { HttpError } from './errors';
import type { AuthKind, Caller, ManagerCaller } from './route-definitions';

export interface AuthenticatorDeps {
  models: Pick<Models, 'managers'>;
  /** Null when no operator token is configured: then only managers' keys open the operators' routes. */
  operatorToken: string | null;
}

export type Authenticate = (req: Request, kind: Exclude<AuthKind, 'none'>) => Promise<Caller>;

const BEARER = /^Bearer\s+(\S+)$/i;

/** Compares digests so that neither the length nor the content of the token leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

export function createAuthenticator(deps: AuthenticatorDeps): Authenticate {
  return async (req, kind) => {
    const header = req.get('authorization');
    if (header === undefined) throw new HttpError(401, 'Unauthenticated', 'send the API key as "Authorization: Bearer <key>"');
    const match = BEARER.exec(header.trim());
    if (!match) throw new HttpError(401, 'Unauthenticated', 'the Authorization header is not of the form "Bearer <key>"');
    const secret = match[1]!;
    if (kind === 'operatorOrManager' && deps.operatorToken !== null && sameSecret(secret, deps.operatorToken)) return { kind: 'operator' };
    const manager = await deps.models.managers.findOne({ apiKeyHash: hashApiKey(secret) }).lean<Manager>();
    if (!manager) throw new HttpError(401, 'Unauthenticated', 'the API key is not valid');
    return { kind: 'manager', manager } satisfies ManagerCaller;
  };
}

/** Anything of another channel is answered as if it did not exist: 404, never 403. */
export function assertOwnChannel(caller: ManagerCaller, channelId: string, what: string): void {
  if (caller.manager.channelId !== channelId) throw notFound(what);
}

export function notFound(what: string): HttpError {
  return new HttpError(404, 'NotFound', `${what} not found`);
}
