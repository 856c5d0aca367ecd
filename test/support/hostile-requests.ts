/**
 * Hostile requests to every route of the API document, generated with fast-check: path parameters that are real
 * ids of this channel or another, strings of any script, bad percent-encoding and very long ones; queries and
 * bodies of any shape; every kind of caller (none, a malformed Authorization, an unknown key, an agent, an owner,
 * another channel's owner, the operator); wrong and unsupported content types and encodings; methods the path does
 * not serve. What a request may be answered is judged by `judgeApiAnswer`.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

export type CallerKind = 'none' | 'malformed' | 'unknown-key' | 'agent' | 'owner' | 'other-owner' | 'operator';

export interface Callers {
  agentKey: string;
  ownerKey: string;
  otherOwnerKey: string;
  operatorToken: string;
}

/** One route of the API document: its method, its path in Express syntax, and whether it needs a caller. */
export interface DocumentedRoute {
  method: string;
  /** `/v1/conversations/{conversationId}` as the document writes it. */
  path: string;
  needsCaller: boolean;
  /** Only an owner of the channel may call it (a manager who is an agent is refused). */
  operationId: string;
}

export interface HostileRequest {
  route: DocumentedRoute;
  method: string;
  /** Already encoded (or deliberately badly encoded), ready to append to the base URL. */
  path: string;
  caller: CallerKind;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
  /** Whether the path's parameters name only ids of the channel of the owner and agent keys. */
  idsOfMine: boolean;
}

interface OpenApiOperation {
  operationId: string;
  security?: unknown[];
}

/** The routes of a served API document (`GET /openapi.json`). */
export function documentedRoutes(document: { paths: Record<string, Record<string, OpenApiOperation>> }): DocumentedRoute[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({ method: method.toUpperCase(), path, needsCaller: (operation.security ?? []).length > 0, operationId: operation.operationId })),
  );
}

const BAD_ENCODINGS = ['%E0%A4%A', '%', '%zz', '%C3%28', '%ED%A0%80', 'a%2', '%00', '..%2F..%2Fetc'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

/** A path parameter: one of `ids` (real ones), or something made up, or something badly encoded (left raw). */
function parameterValue(ids: string[]): fc.Arbitrary<{ raw: string; real: boolean }> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ids).map((id) => ({ raw: encodeURIComponent(id), real: true })) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map((text) => ({ raw: encodeURIComponent(text), real: false })) },
    { weight: 1, arbitrary: fc.constantFrom(...BAD_ENCODINGS).map((raw) => ({ raw, real: false })) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((length) => ({ raw: 'x'.repeat(length), real: false })) },
  );
}

function queryString(): fc.Arbitrary<string> {
  const key = fc.oneof(fc.constantFrom('limit', 'cursor', 'state', 'before', 'after', 'wait', 'q', 'sort'), fc.string({ maxLength: 12 }));
  const value = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('-1', '0', '1e309', 'NaN', '[object Object]', '%', '%E0%A4%A'), fc.integer().map(String));
  return fc.array(fc.tuple(key, value, fc.boolean()), { maxLength: 4 }).map((pairs) =>
    pairs.length === 0 ? '' : `?${pairs.map(([name, text, raw]) => `${encodeURIComponent(name)}=${raw ? text : encodeURIComponent(text)}`).join('&')}`,
  );
}

/** Nested `depth` deep: arrays or objects inside each other. */
export function nestedJson(depth: number, asArrays: boolean): string {
  return asArrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

interface BodyCase {
  body: Uint8Array | undefined;
  headers: Record<string, string>;
}

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');

function bodyCase(): fc.Arbitrary<BodyCase> {
  const json = (body: string, extra: Record<string, string> = {}): BodyCase => ({ body: utf8(body), headers: { 'content-type': 'application/json', ...extra } });
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<BodyCase>({ body: undefined, headers: {} }) },
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => json(JSON.stringify(value))) },
    {
      weight: 3,
      arbitrary: fc
        .record({ text: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 1_200 }), fc.integer(), fc.constant(null)), split: fc.oneof(fc.boolean(), fc.string({ maxLength: 5 })), sender: fc.constantFrom('manager', 'bot', 'customer', ''), imageUrl: fc.constantFrom('javascript:alert(1)', 'file:///etc/passwd', 'http://127.0.0.1:1/x.png', 'data:text/html,<b>', 'https://') }, { requiredKeys: [] })
        .map((value) => json(JSON.stringify(value))),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((text) => json(text)) },
    { weight: 1, arbitrary: fc.constantFrom(2_000, 20_000).chain((depth) => fc.boolean().map((asArrays) => json(nestedJson(depth, asArrays)))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => json(Buffer.from(bytes).toString('latin1'), { 'content-encoding': 'gzip' })) },
    { weight: 1, arbitrary: fc.constantFrom('br', 'deflate', 'compress', 'x-made-up', 'gzip, gzip').map((encoding) => json('{"text":"hi"}', { 'content-encoding': encoding })) },
    { weight: 1, arbitrary: fc.constant(json('', { 'content-encoding': 'gzip' })).map((value) => ({ ...value, body: gzipSync(utf8('{"text":"zipped"}')) })) },
    { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'multipart/form-data', 'application/json; charset=utf-16').map((type) => ({ body: utf8('{"text":"hi"}'), headers: { 'content-type': type } })) },
    { weight: 1, arbitrary: fc.constant<BodyCase>({ body: new Uint8Array(6 * 1024 * 1024).fill(0x20), headers: { 'content-type': 'application/json' } }) },
  );
}

function authorization(caller: CallerKind, callers: Callers): fc.Arbitrary<Record<string, string>> {
  switch (caller) {
    case 'none':
      return fc.constant({});
    case 'malformed':
      return fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer two words', 'token-without-scheme', `Bearer ${'k'.repeat(10_000)}`, 'Bearer \u00e9\u00e9').map((value) => ({ authorization: value }));
    case 'unknown-key':
      return fc.string({ minLength: 1, maxLength: 60, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'.split('')) }).map((key) => ({ authorization: `Bearer ${key}` }));
    case 'agent':
      return fc.constant({ authorization: `Bearer ${callers.agentKey}` });
    case 'owner':
      return fc.constant({ authorization: `Bearer ${callers.ownerKey}` });
    case 'other-owner':
      return fc.constant({ authorization: `Bearer ${callers.otherOwnerKey}` });
    case 'operator':
      return fc.constant({ authorization: `Bearer ${callers.operatorToken}` });
  }
}

/** A request to one of `routes`, with path parameters from `ids` (this channel's) or made up. */
export function hostileRequest(routes: DocumentedRoute[], ids: string[], callers: Callers): fc.Arbitrary<HostileRequest> {
  const callerKinds: CallerKind[] = ['none', 'malformed', 'unknown-key', 'agent', 'owner', 'other-owner', 'operator'];
  return fc
    .record({
      route: fc.constantFrom(...routes),
      caller: fc.constantFrom(...callerKinds),
      otherMethod: fc.option(fc.constantFrom(...METHODS), { freq: 5 }),
      query: queryString(),
      body: bodyCase(),
      parameters: fc.array(parameterValue(ids), { minLength: 4, maxLength: 4 }),
    })
    .chain((drawn) =>
      authorization(drawn.caller, callers).map((auth): HostileRequest => {
        let index = 0;
        let idsOfMine = true;
        const path = drawn.route.path.replace(/\{[^}]+\}/g, () => {
          const parameter = drawn.parameters[index++ % drawn.parameters.length]!;
          idsOfMine &&= parameter.real;
          return parameter.raw;
        });
        return {
          route: drawn.route,
          method: drawn.otherMethod ?? drawn.route.method,
          path: `${path}${drawn.query}`,
          caller: drawn.caller,
          headers: { ...drawn.body.headers, ...auth },
          body: drawn.body.body,
          idsOfMine,
        };
      }),
    );
}

export interface Answer {
  status: number;
  contentType: string;
  text: string;
}

/**
 * What is wrong with an answer, or undefined: never a 5xx; a 4xx says what was wrong in the API's error shape; a
 * route that needs a caller refuses one without a valid key; another channel's owner never reads or changes this
 * channel's data.
 */
export function judgeApiAnswer(request: HostileRequest, answer: Answer): string | undefined {
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 300)}`;
  if (answer.status >= 400 && request.method !== 'HEAD') {
    if (!answer.contentType.includes('application/json')) return `a ${answer.status} that is not JSON (${answer.contentType})`;
    const error = (JSON.parse(answer.text) as { error?: { type?: unknown; message?: unknown } }).error;
    if (typeof error?.type !== 'string' || typeof error.message !== 'string' || error.message.length === 0) return `a ${answer.status} without an error type and message: ${answer.text.slice(0, 200)}`;
  }
  const sameRoute = request.method === request.route.method;
  const anonymous = request.caller === 'none' || request.caller === 'malformed' || request.caller === 'unknown-key';
  if (sameRoute && request.route.needsCaller && anonymous && answer.status < 400) return `answered ${answer.status} to a caller without a valid key`;
  if (sameRoute && request.caller === 'other-owner' && request.idsOfMine && request.route.path.includes('{') && answer.status < 300) {
    return `another channel's owner was answered ${answer.status} on this channel's ${request.route.path}`;
  }
  return undefined;
}
