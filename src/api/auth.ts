/**
 * Who calls the API: `Authorization: Bearer <key>` names a manager of one channel by its API key, or, on the
 * operators' routes, carries the operator token. Every refusal is 401, whatever was wrong with the header.
 */
import type { Request } from 'express';
import type { ChannelDirectory } from '../channels/directory';
import type { ManagerRole } from '../db/models/manager';
import { sameSecret } from '../security/same-secret';
import { HttpError } from './errors';
import type { AuthKind, Caller, ManagerCaller } from './route-definitions';

export interface AuthenticatorDeps {
  directory: Pick<ChannelDirectory, 'findKeyHolder'>;
  /** Null when no operator token is configured: the admin routes are then closed, and only managers' keys open the diagnostics. */
  operatorToken: string | null;
}

export type Authenticate = (req: Request, kind: Exclude<AuthKind, 'none'>) => Promise<Caller>;

const BEARER = /^Bearer\s+(\S+)$/i;

export function createAuthenticator(deps: AuthenticatorDeps): Authenticate {
  return async (req, kind) => {
    const header = req.get('authorization');
    if (header === undefined) throw new HttpError(401, 'Unauthenticated', kind === 'operator' ? 'send the operator token as "Authorization: Bearer <token>"' : 'send the API key as "Authorization: Bearer <key>"');
    const match = BEARER.exec(header.trim());
    if (!match) throw new HttpError(401, 'Unauthenticated', 'the Authorization header is not of the form "Bearer <key>"');
    const secret = match[1]!;
    const isOperator = deps.operatorToken !== null && sameSecret(secret, deps.operatorToken);
    if (kind === 'operator') {
      if (deps.operatorToken === null) throw new HttpError(401, 'Unauthenticated', 'no operator token is configured (setting OPERATOR_TOKEN): the admin routes are closed');
      if (!isOperator) throw new HttpError(401, 'Unauthenticated', 'this route takes the operator token, not a manager key');
      return { kind: 'operator' };
    }
    if (kind === 'operatorOrManager' && isOperator) return { kind: 'operator' };
    const holder = await deps.directory.findKeyHolder(secret);
    if (!holder) throw new HttpError(401, 'Unauthenticated', 'the API key is not valid (unknown or revoked)');
    return { kind: 'manager', manager: holder.manager, keyId: holder.keyId } satisfies ManagerCaller;
  };
}

/** Anything of another channel is answered as if it did not exist: 404, never 403. */
export function assertOwnChannel(caller: ManagerCaller, channelId: string, what: string): void {
  if (caller.manager.channelId !== channelId) throw notFound(what);
}

/** Within the caller's own channel, a route only owners may use answers an agent 403, naming the role it needs. */
export function assertOwner(caller: ManagerCaller, action: string): void {
  if (caller.manager.role !== 'owner') throw ownerRequired(caller.manager.role, action);
}

export function ownerRequired(role: ManagerRole, action: string): HttpError {
  return new HttpError(403, 'OwnerRequired', `${action} needs the role owner; this key's manager is ${role === 'agent' ? 'an agent' : `a ${role}`}`, { requiredRole: 'owner', role });
}

export function notFound(what: string): HttpError {
  return new HttpError(404, 'NotFound', `${what} not found`);
}
