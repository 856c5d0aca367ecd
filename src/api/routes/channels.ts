/**
 * Channels, their managers and the managers' API keys. An operator creates a channel with its first owner (operator
 * token only); owners invite managers; a manager issues and revokes their own keys, an owner anyone's of the
 * channel. Another channel's anything is 404; an agent where an owner is needed is 403 OwnerRequired.
 */
import { z } from 'zod';
import type { ChannelDirectory } from '../../channels/directory';
import { managerRoles, type Manager } from '../../db/models/manager';
import { assertOwnChannel, assertOwner, notFound } from '../auth';
import { apiKeySecretSchema, channelSchema, managerSchema, presentChannel, presentManager, presentRevokedKey, revokedKeySchema } from '../channel-presenters';
import { cursorParameter, nextCursorSchema } from '../cursor';
import { defineRoute, errorResponse, type ManagerCaller, type RouteDefinition } from '../route-definitions';

export interface ChannelRoutesDeps {
  directory: Pick<ChannelDirectory, 'createChannelWithOwner' | 'addManager' | 'findManager' | 'listManagers' | 'issueApiKey' | 'revokeApiKey'>;
}

const id = z.string().min(1);
const personName = z.string().trim().min(1).max(200);
const keyIdSchema = z.string().describe('Names the key (for revoking it); not the key');

/** The manager a key route is about: one of the caller's channel, and the caller themself unless an owner. */
async function managerForKeys(directory: ChannelRoutesDeps['directory'], caller: ManagerCaller, managerId: string, action: string): Promise<Manager> {
  const manager = await directory.findManager(caller.manager.channelId, managerId);
  if (!manager) throw notFound(`manager ${managerId}`);
  if (manager.managerId !== caller.manager.managerId) assertOwner(caller, action);
  return manager;
}

export function createChannelRoutes(deps: ChannelRoutesDeps): RouteDefinition[] {
  const { directory } = deps;

  return [
    defineRoute({
      method: 'post',
      path: '/v1/admin/channels',
      operationId: 'createChannel',
      summary: 'Create a channel with its first owner',
      description: 'Operator token only (setting OPERATOR_TOKEN); a manager key is refused. The owner’s API key is in this answer only.',
      tags: ['admin'],
      auth: 'operator',
      body: { required: true, json: z.object({ name: z.string().trim().min(1).max(200), owner: z.object({ name: personName }).strict() }).strict() },
      responses: {
        201: { description: 'The channel, its owner and the owner’s key', schema: z.object({ channel: channelSchema, owner: managerSchema, keyId: keyIdSchema, apiKey: apiKeySecretSchema }) },
      },
      handler: async ({ body }) => {
        const created = await directory.createChannelWithOwner({ name: body.name, ownerName: body.owner.name });
        return { status: 201, body: { channel: presentChannel(created.channel), owner: presentManager(created.manager), keyId: created.keyId, apiKey: created.apiKey } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/channels/:channelId/managers',
      operationId: 'inviteManager',
      summary: 'Invite a manager to the channel (owners)',
      description: 'The new manager’s API key is in this answer only: hand it to them.',
      tags: ['managers'],
      auth: 'manager',
      params: z.object({ channelId: id }),
      body: { required: true, json: z.object({ name: personName, role: z.enum(managerRoles) }).strict() },
      responses: {
        201: { description: 'The new manager and their key', schema: z.object({ manager: managerSchema, keyId: keyIdSchema, apiKey: apiKeySecretSchema }) },
        403: errorResponse('OwnerRequired: only owners invite managers'),
        404: errorResponse('NotFound: no such channel for this key'),
      },
      handler: async ({ params, body, caller }) => {
        assertOwnChannel(caller, params.channelId, `channel ${params.channelId}`);
        assertOwner(caller, 'inviting a manager');
        const created = await directory.addManager({ channelId: params.channelId, name: body.name, role: body.role });
        return { status: 201, body: { manager: presentManager(created.manager), keyId: created.keyId, apiKey: created.apiKey } };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/channels/:channelId/managers',
      operationId: 'listManagers',
      summary: "The channel's managers, newest first",
      description: 'Ordered by creation time, then id. Page with `cursor` = the previous answer’s `nextCursor`.',
      tags: ['managers'],
      auth: 'manager',
      params: z.object({ channelId: id }),
      query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50).describe('Rows per page (1–200)'), cursor: cursorParameter('managers').optional() }).strict(),
      responses: {
        200: { description: 'A page of managers', schema: z.object({ managers: z.array(managerSchema), nextCursor: nextCursorSchema }) },
        404: errorResponse('NotFound: no such channel for this key'),
      },
      handler: async ({ params, query, caller }) => {
        assertOwnChannel(caller, params.channelId, `channel ${params.channelId}`);
        const page = await directory.listManagers(params.channelId, { limit: query.limit, ...(query.cursor ? { after: query.cursor } : {}) });
        return { status: 200, body: { managers: page.rows.map(presentManager), nextCursor: page.nextCursor } };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/managers/:managerId/api-keys',
      operationId: 'issueApiKey',
      summary: 'Issue another API key for a manager',
      description: 'A manager issues keys for themself; an owner for any manager of the channel. The key is in this answer only.',
      tags: ['managers'],
      auth: 'manager',
      params: z.object({ managerId: id }),
      responses: {
        201: { description: 'The new key', schema: z.object({ keyId: keyIdSchema, apiKey: apiKeySecretSchema }) },
        403: errorResponse('OwnerRequired: an agent issues keys only for themself'),
        404: errorResponse('NotFound: no such manager in this key’s channel'),
      },
      handler: async ({ params, caller }) => {
        const manager = await managerForKeys(directory, caller, params.managerId, "issuing another manager's key");
        const issued = await directory.issueApiKey(manager);
        return { status: 201, body: { keyId: issued.keyId, apiKey: issued.apiKey } };
      },
    }),

    defineRoute({
      method: 'delete',
      path: '/v1/managers/:managerId/api-keys/:keyId',
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      description: 'From then on the key answers 401. Revoking it again answers the first revocation. A manager revokes their own keys; an owner anyone’s of the channel.',
      tags: ['managers'],
      auth: 'manager',
      params: z.object({ managerId: id, keyId: id }),
      responses: {
        200: { description: 'The key is revoked', schema: revokedKeySchema },
        403: errorResponse('OwnerRequired: an agent revokes only their own keys'),
        404: errorResponse('NotFound: no such manager in this key’s channel, or no such key of the manager'),
      },
      handler: async ({ params, caller }) => {
        const manager = await managerForKeys(directory, caller, params.managerId, "revoking another manager's key");
        const revoked = await directory.revokeApiKey(manager, params.keyId);
        if (revoked.outcome === 'no-such-key') throw notFound(`key ${params.keyId} of manager ${params.managerId}`);
        return { status: 200, body: presentRevokedKey(revoked.key) };
      },
    }),
  ];
}
