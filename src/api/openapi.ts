/**
 * The OpenAPI 3.1 document of the API, generated from the route declarations with zod's own JSON Schema output
 * (draft 2020-12, the dialect of OpenAPI 3.1). Nothing here is written by hand but the words around the schemas.
 */
import { z } from 'zod';
import { errorBodySchema } from './errors';
import { pathParameterNames, type AuthKind, type ResponseSpecs, type RouteDocumentation } from './route-definitions';
import { namedSchemas } from './schema-names';

type JsonSchema = Record<string, unknown>;

// A type, not an interface: it is then assignable to the loose JSON shape its own route declares.
export type OpenApiDocument = {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
};

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
  tags: Array<{ name: string; description: string }>;
}

const componentRef = (name: string): string => `#/components/schemas/${name}`;

/**
 * One schema as JSON Schema. Requests are described as a client writes them (`input`: before defaults and
 * coercion), answers as the API writes them (`output`). The named schemas are converted alongside, so that a
 * use of one becomes a `$ref` to its component.
 */
function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  for (const [name, named] of namedSchemas()) if (named === schema) return { $ref: componentRef(name) };
  const registry = z.registry<{ id: string }>();
  for (const [name, named] of namedSchemas()) registry.add(named, { id: name });
  registry.add(schema, { id: '__subject' });
  const converted = z.toJSONSchema(registry, { io, uri: componentRef, unrepresentable: 'any' }).schemas.__subject!;
  return withoutRootKeywords(converted);
}

function namedComponents(io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [name, named] of namedSchemas()) registry.add(named, { id: name });
  const converted = z.toJSONSchema(registry, { io, uri: componentRef, unrepresentable: 'any' }).schemas;
  return Object.fromEntries(Object.entries(converted).map(([name, schema]) => [name, withoutRootKeywords(schema as JsonSchema)]));
}

function withoutRootKeywords(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** `/v1/conversations/:conversationId` → `/v1/conversations/{conversationId}`. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parametersOf(schema: z.ZodObject | undefined, location: 'path' | 'query' | 'header'): unknown[] {
  if (!schema) return [];
  const json = toJsonSchema(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: location,
      required: location === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: propertySchema,
    };
  });
}

function requestBodyOf(route: RouteDocumentation): unknown {
  if (route.rawBody) {
    return { description: route.rawBody.description, required: route.rawBody.required, content: { [route.rawBody.contentType]: { schema: toJsonSchema(route.rawBody.schema, 'input') } } };
  }
  if (!route.body) return undefined;
  const content: Record<string, unknown> = {};
  if (route.body.json) content['application/json'] = { schema: toJsonSchema(route.body.json, 'input') };
  if (route.body.multipart) {
    const { fields, files } = route.body.multipart;
    const fieldsSchema = toJsonSchema(fields, 'input');
    const fileProperties = Object.fromEntries(
      Object.entries(files).map(([name, file]) => [
        name,
        {
          type: 'string',
          contentMediaType: 'application/octet-stream',
          description: [file.description, file.mediaTypes ? `Accepted: ${file.mediaTypes.join(', ')}.` : '', file.maxBytes ? `At most ${file.maxBytes} bytes.` : ''].filter(Boolean).join(' '),
        },
      ]),
    );
    const required = [...((fieldsSchema.required ?? []) as string[]), ...Object.entries(files).filter(([, file]) => file.required).map(([name]) => name)];
    content['multipart/form-data'] = {
      schema: { ...fieldsSchema, type: 'object', properties: { ...((fieldsSchema.properties ?? {}) as JsonSchema), ...fileProperties }, required },
      encoding: Object.fromEntries(Object.entries(files).filter(([, file]) => file.mediaTypes).map(([name, file]) => [name, { contentType: file.mediaTypes!.join(', ') }])),
    };
  }
  return { ...(route.body.description ? { description: route.body.description } : {}), required: route.body.required, content };
}

/** The refusals the definition layer itself makes (router built by `buildRouter`), added to what the route declares. */
function impliedResponses(route: RouteDocumentation): ResponseSpecs {
  const implied: ResponseSpecs = {};
  // A route served by hand (the webhooks) declares all of its answers itself.
  if (!('handler' in route)) return implied;
  const error = (description: string) => ({ description, schema: errorBodySchema });
  if (route.params || route.query || route.headers || route.body) {
    implied[400] = error(
      'ValidationFailed: a parameter or the body is not valid; the message names each field. InvalidPathEncoding: a path parameter is not valid percent-encoded UTF-8. InvalidJson: the body is not JSON; JsonTooDeep: it nests too deep; InvalidContentEncoding: it is not what its Content-Encoding says',
    );
  }
  if (route.auth !== 'none') implied[401] = error('Unauthenticated: no `Authorization: Bearer <key>`, a malformed one, or a key that is not valid');
  if (route.body) {
    implied[413] = error('PayloadTooLarge: the body is over the limit');
    implied[415] = error('UnsupportedMediaType: the body is not of a content type this route reads; UnsupportedEncoding: a Content-Encoding other than gzip, deflate or br (none for multipart)');
  }
  return implied;
}

function responsesOf(route: RouteDocumentation): Record<string, unknown> {
  const all: ResponseSpecs = { ...impliedResponses(route), ...route.responses };
  return Object.fromEntries(
    Object.entries(all).map(([status, spec]) => [
      status,
      {
        description: spec.description,
        ...(spec.headers ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) } : {}),
        content: { [spec.contentType ?? 'application/json']: { schema: toJsonSchema(spec.schema, 'output') } },
      },
    ]),
  );
}

const securityOf: Record<AuthKind, unknown[]> = {
  none: [],
  manager: [{ managerApiKey: [] }],
  operator: [{ operatorToken: [] }],
  operatorOrManager: [{ operatorToken: [] }, { managerApiKey: [] }],
};

export function buildOpenApiDocument(routes: readonly RouteDocumentation[], info: DocumentInfo): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const path = toOpenApiPath(route.path);
    const operations = (paths[path] ??= {});
    if (operations[route.method]) throw new Error(`${route.method.toUpperCase()} ${path} is declared twice`);
    const pathParams = pathParameterNames(route.path);
    const parameters = [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query'), ...parametersOf(route.headers, 'header')];
    if (pathParams.some((name) => !parameters.some((parameter) => (parameter as { name: string; in: string }).name === name))) {
      throw new Error(`${route.method.toUpperCase()} ${path}: every path parameter needs a schema`);
    }
    const requestBody = requestBodyOf(route);
    operations[route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [...route.tags],
      security: securityOf[route.auth],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: responsesOf(route),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: info.description },
    tags: info.tags,
    paths,
    components: {
      schemas: namedComponents('output'),
      securitySchemes: {
        managerApiKey: { type: 'http', scheme: 'bearer', description: "A manager's API key: the route answers only for that manager's channel; anything of another channel is 404." },
        operatorToken: { type: 'http', scheme: 'bearer', description: 'The operator token (setting OPERATOR_TOKEN), for the admin and diagnostics routes.' },
      },
    },
  };
}
