/** API-key authentication of the inbox API: `Authorization: Bearer <key>` names a manager of one channel. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Models } from '../db/models';
import { hashApiKey, type Manager } from '../db/models/manager';
import { HttpError } from './errors';

export function createManagerAuth(models: Pick<Models, 'managers'>): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new HttpError(401, 'Unauthenticated', 'send the API key as "Authorization: Bearer <key>"');
    const manager = await models.managers.findOne({ apiKeyHash: hashApiKey(match[1]!) }).lean<Manager>();
    if (!manager) throw new HttpError(401, 'Unauthenticated', 'the API key is not valid');
    res.locals.manager = manager;
    next();
  };
}

export function currentManager(res: Response): Manager {
  const manager = res.locals.manager as Manager | undefined;
  if (!manager) throw new HttpError(401, 'Unauthenticated', 'no manager on this request');
  return manager;
}

/** Anything of another channel is answered as if it did not exist. */
export function assertSameChannel(res: Response, channelId: string, what: string): void {
  if (currentManager(res).channelId !== channelId) throw new HttpError(404, 'NotFound', `${what} not found`);
}
