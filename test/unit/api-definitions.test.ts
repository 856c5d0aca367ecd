/** The route-definition layer and the one formatter of zod issues, without a server. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { loadConfig } from '../../src/config';
import { decodeCursor, encodeCursor } from '../../src/api/cursor';
import { buildOpenApiDocument } from '../../src/api/openapi';
import { assertParamsDeclared, defineRoute, errorResponse } from '../../src/api/route-definitions';
import { describeIssues, formatIssues } from '../../src/validation-issues';
import type { Json } from '../support/inbox-fixtures';

const info = { title: 'test', version: 'v1', description: 'test', tags: [] };

describe('describeIssues', () => {
  const schema = z.object({ name: z.string(), nested: z.object({ count: z.number().int() }) }).strict();

  it('names each field with where it is, and each unknown field on its own', () => {
    const parsed = schema.safeParse({ name: 3, nested: { count: 1.5 }, extra: 1, more: 2 });
    expect(parsed.success).toBe(false);
    expect(describeIssues(parsed.error!.issues, { where: 'body' })).toEqual([
      'body.name: Invalid input: expected string, received number',
      'body.nested.count: Invalid input: expected int, received number',
      'body.extra: unknown field',
      'body.more: unknown field',
    ]);
  });

  it('names an issue of the whole value with the root label', () => {
    const parsed = z.string().safeParse(1);
    expect(formatIssues(parsed.error!.issues, { rootLabel: '(body)' })).toBe('(body): Invalid input: expected string, received number');
    expect(formatIssues(parsed.error!.issues)).toBe('(root): Invalid input: expected string, received number');
  });
});

describe('cursors', () => {
  it('round-trip, and refuse one of another list or one that is not a cursor', () => {
    const cursor = encodeCursor('messages', { at: 1767225600000, id: 'mid-1' });
    expect(decodeCursor('messages', cursor)).toEqual({ at: 1767225600000, id: 'mid-1' });
    expect(decodeCursor('conversations', cursor)).toBeNull();
    expect(decodeCursor('messages', 'not a cursor')).toBeNull();
    expect(decodeCursor('messages', Buffer.from('["messages","x","y"]').toString('base64url'))).toBeNull();
  });
});

describe('route declarations', () => {
  it('refuse a path parameter without a schema, and a schema for a parameter the path lacks', () => {
    const route = { method: 'get' as const, path: '/v1/things/:thingId', operationId: 'getThing', summary: 's', tags: [], auth: 'none' as const, responses: {} };
    expect(() => assertParamsDeclared(route)).toThrow('path parameters [thingId] but params schema []');
    expect(() => assertParamsDeclared({ ...route, params: z.object({ thingId: z.string(), other: z.string() }) })).toThrow('params schema [other, thingId]');
    expect(() => assertParamsDeclared({ ...route, params: z.object({ thingId: z.string() }) })).not.toThrow();
  });

  it('describe a body that is JSON or multipart with a file, headers, and the implied refusals', () => {
    const route = defineRoute({
      method: 'post',
      path: '/v1/conversations/:conversationId/messages',
      operationId: 'sendMessage',
      summary: 'Send a message',
      tags: ['outbound'],
      auth: 'manager',
      params: z.object({ conversationId: z.string() }),
      query: z.object({ wait: z.enum(['sent']).optional() }),
      headers: z.object({ 'Idempotency-Key': z.string().max(200).optional() }),
      body: {
        required: true,
        json: z.object({ text: z.string() }),
        multipart: { fields: z.object({ text: z.string().optional() }), files: { image: { description: 'The image', required: true, mediaTypes: ['image/jpeg', 'image/png'], maxBytes: 8 * 1024 * 1024 } } },
      },
      responses: { 202: { description: 'Accepted', schema: z.object({ messageId: z.string() }) }, 409: errorResponse('WindowClosed') },
      handler: ({ body }) => ({ status: 202, body: { messageId: body.kind === 'json' ? body.value.text : (body.files.image?.filename ?? '') } }),
    });
    const document = buildOpenApiDocument([route], info);
    const operation = document.paths['/v1/conversations/{conversationId}/messages']!.post as Json;
    expect(operation.security).toEqual([{ managerApiKey: [] }]);
    expect(operation.parameters.map((p: { name: string; in: string; required: boolean }) => [p.name, p.in, p.required])).toEqual([
      ['conversationId', 'path', true],
      ['wait', 'query', false],
      ['Idempotency-Key', 'header', false],
    ]);
    expect(Object.keys(operation.requestBody.content)).toEqual(['application/json', 'multipart/form-data']);
    const multipart = operation.requestBody.content['multipart/form-data'];
    expect(multipart.schema.properties.image).toMatchObject({ type: 'string', contentMediaType: 'application/octet-stream' });
    expect(multipart.schema.required).toEqual(['image']);
    expect(multipart.encoding).toEqual({ image: { contentType: 'image/jpeg, image/png' } });
    expect(Object.keys(operation.responses).sort()).toEqual(['202', '400', '401', '409', '413', '415']);
    expect(operation.responses['409'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
  });
});

describe('OPERATOR_TOKEN', () => {
  it('is optional outside production, and refused by name when too short to be a secret', () => {
    const development = { TOKEN_ENCRYPTION_KEYS: `local-1:${randomBytes(32).toString('base64')}` };
    expect(loadConfig(development).api.operatorToken).toBeNull();
    expect(loadConfig({ ...development, OPERATOR_TOKEN: 'an-operator-token-long-enough' }).api.operatorToken).toBe('an-operator-token-long-enough');
    expect(() => loadConfig({ ...development, OPERATOR_TOKEN: 'short' })).toThrow(/OPERATOR_TOKEN: must be at least 16 characters/);
  });
});
