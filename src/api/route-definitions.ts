/**
 * Routes declared once: method, path, who may call, zod schemas of what comes in and of every answer, and the
 * handler. `buildRouter` makes the Express router from these declarations (authentication, parsing, 400s naming
 * the field) and `buildOpenApiDocument` (openapi.ts) makes the API document from the same list, so the two
 * cannot drift apart.
 */
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Manager } from '../db/models/manager';
import { errorBodySchema, HttpError, validationError, type RequestPart } from './errors';
import { assertJsonDepth } from './json-depth';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call: nobody in particular; a manager's API key (the route then answers only for that manager's
 * channel); the operator token alone (the admin routes: creating channels is no manager's business); or, for the
 * diagnostics, the operator token or any manager's key.
 */
export type AuthKind = 'none' | 'manager' | 'operator' | 'operatorOrManager';

export interface ManagerCaller {
  kind: 'manager';
  manager: Manager;
  /** The key the request came with (so a manager can tell which of their keys it is). */
  keyId: string;
}
export interface OperatorCaller {
  kind: 'operator';
}
export type Caller = ManagerCaller | OperatorCaller;
export type CallerOf<A extends AuthKind> = A extends 'manager' ? ManagerCaller : A extends 'operator' ? OperatorCaller : A extends 'operatorOrManager' ? Caller : null;

/** JSON, text, or any other media type (an image's bytes: its schema is then a string, the bytes). */
export type ResponseContentType = 'application/json' | 'text/plain' | 'text/html' | (string & {});

export interface ResponseSpec {
  description: string;
  schema: z.ZodType;
  /** JSON unless said otherwise; any other answer's schema is a string. */
  contentType?: ResponseContentType;
  /** Response headers worth documenting (name → description). */
  headers?: Record<string, string>;
}
export type ResponseSpecs = Record<number, ResponseSpec>;

/** An error answer: always the one error body. */
export function errorResponse(description: string): ResponseSpec {
  return { description, schema: errorBodySchema };
}

export interface FileFieldSpec {
  description: string;
  required: boolean;
  /** Media types the route accepts for this file (documented; the handler or the domain enforces them). */
  mediaTypes?: readonly string[];
  maxBytes?: number;
}

/** A `multipart/form-data` body: text fields validated with zod, and named file fields. */
export interface MultipartSpec<F extends z.ZodObject = z.ZodObject> {
  fields: F;
  files: Record<string, FileFieldSpec>;
}

export interface BodySpec<J extends z.ZodType | undefined = z.ZodType | undefined, M extends MultipartSpec | undefined = MultipartSpec | undefined> {
  description?: string;
  /** A body may be left out when false; an absent body is then validated as `{}` (so defaults apply). */
  required: boolean;
  json?: J;
  multipart?: M;
}

/** A file of a multipart body, as the multipart parser hands it over. */
export interface UploadedFile {
  fieldName: string;
  filename: string;
  mediaType: string;
  data: Buffer;
}

export interface ParsedMultipart {
  fields: Record<string, string>;
  files: UploadedFile[];
}

/** Reads a `multipart/form-data` request within the route's declared file fields (the parser lives in multipart.ts). */
export type MultipartParser = (req: Request, spec: MultipartSpec) => Promise<ParsedMultipart>;

type Output<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export type MultipartBody<M extends MultipartSpec> = { kind: 'multipart'; fields: z.output<M['fields']>; files: Partial<Record<keyof M['files'] & string, UploadedFile>> };

/** A JSON-only body arrives as its parsed value; a body that may also be multipart arrives tagged with its kind. */
type JsonOf<B> = B extends { json: infer J extends z.ZodType } ? z.output<J> : never;
export type BodyOf<B> = B extends { multipart: infer M extends MultipartSpec }
  ? ([JsonOf<B>] extends [never] ? never : { kind: 'json'; value: JsonOf<B> }) | MultipartBody<M>
  : B extends { json: z.ZodType }
    ? JsonOf<B>
    : undefined;

export interface HandlerInput<P, Q, H, B, A extends AuthKind> {
  params: Output<P>;
  query: Output<Q>;
  headers: Output<H>;
  body: BodyOf<B>;
  caller: CallerOf<A>;
}

/** What a handler answers: one of its declared statuses with a body of that status's schema. */
export type Reply<R extends ResponseSpecs> = {
  [S in keyof R & number]: { status: S; body: z.input<R[S]['schema']>; headers?: Record<string, string> };
}[keyof R & number];

/** What the document needs to know of a route. Routes served by hand (webhooks) are declared with this alone. */
export interface RouteDocumentation {
  method: HttpMethod;
  /** Express syntax (`/v1/conversations/:conversationId`); the document writes `{conversationId}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  auth: AuthKind;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Request headers, by their canonical names (`Idempotency-Key`). */
  headers?: z.ZodObject;
  body?: BodySpec;
  /** A body read as raw bytes by its own route (the webhook's signed JSON). Documentation only. */
  rawBody?: { description: string; contentType: string; schema: z.ZodType; required: boolean };
  responses: ResponseSpecs;
}

type RawReply = { status: number; body: unknown; headers?: Record<string, string> };

export interface RouteDefinition extends RouteDocumentation {
  handler: (input: HandlerInput<unknown, unknown, unknown, unknown, AuthKind>) => RawReply | Promise<RawReply>;
}

export interface RouteSpec<P extends z.ZodObject | undefined, Q extends z.ZodObject | undefined, H extends z.ZodObject | undefined, B extends BodySpec | undefined, R extends ResponseSpecs, A extends AuthKind>
  extends Omit<RouteDocumentation, 'params' | 'query' | 'headers' | 'body' | 'responses' | 'auth' | 'rawBody'> {
  auth: A;
  params?: P;
  query?: Q;
  headers?: H;
  body?: B;
  responses: R;
  // Checked against the declared responses, not used to infer them: each `status` stays a literal.
  handler: (input: HandlerInput<P, Q, H, B, A>) => Reply<NoInfer<R>> | Promise<Reply<NoInfer<R>>>;
}

/** Declares a route; the handler's input and answer are typed from the schemas. */
export function defineRoute<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  H extends z.ZodObject | undefined = undefined,
  B extends BodySpec | undefined = undefined,
  R extends ResponseSpecs = ResponseSpecs,
  A extends AuthKind = AuthKind,
>(spec: RouteSpec<P, Q, H, B, R, A>): RouteDefinition {
  return spec;
}

/** The path parameters named in an Express path, in order. */
export function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]!);
}

/** Fails at start-up when a declaration names a path parameter its schema does not have, or the other way round. */
export function assertParamsDeclared(route: RouteDocumentation): void {
  const inPath = pathParameterNames(route.path).sort();
  const declared = Object.keys(route.params?.shape ?? {}).sort();
  if (inPath.join(',') !== declared.join(',')) {
    throw new Error(`${route.method.toUpperCase()} ${route.path}: path parameters [${inPath.join(', ')}] but params schema [${declared.join(', ')}]`);
  }
}

export interface RouterDeps {
  /** Answers who calls, or throws a 401 HttpError; `none` routes are not asked. */
  authenticate: (req: Request, kind: Exclude<AuthKind, 'none'>) => Promise<Caller>;
  /** Needed only by routes that declare a multipart body. */
  parseMultipart?: MultipartParser;
  jsonLimit?: string;
}

export function buildRouter(routes: readonly RouteDefinition[], deps: RouterDeps): Router {
  const router = Router();
  // The depth is judged on the bytes (after any Content-Encoding is undone), before the body is parsed.
  const parseJson = express.json({ limit: deps.jsonLimit ?? '256kb', type: ['application/json', 'application/*+json'], verify: (_req, _res, bytes) => assertJsonDepth(bytes) });
  for (const route of routes) {
    assertParamsDeclared(route);
    const handle: RequestHandler = async (req, res) => {
      const caller = route.auth === 'none' ? null : await deps.authenticate(req, route.auth);
      const params = validate(route.params, req.params, 'params');
      const query = validate(route.query, req.query, 'query');
      const headers = validate(route.headers, readHeaders(req, route.headers), 'headers');
      const body = route.body ? await readBody(req, res, route.body, parseJson, deps.parseMultipart) : undefined;
      const reply = await route.handler({ params, query, headers, body, caller } as HandlerInput<unknown, unknown, unknown, unknown, AuthKind>);
      const spec = route.responses[reply.status];
      if (!spec) throw new Error(`${route.operationId} answered ${reply.status}, which it does not declare`);
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status);
      if ((spec.contentType ?? 'application/json') === 'application/json') res.json(reply.body);
      else res.type(spec.contentType!).send(reply.body);
    };
    router[route.method](route.path, handle);
  }
  return router;
}

function validate(schema: z.ZodType | undefined, value: unknown, where: RequestPart): unknown {
  if (!schema) return {};
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, where);
  return parsed.data;
}

function readHeaders(req: Request, schema: z.ZodObject | undefined): Record<string, string> {
  if (!schema) return {};
  return Object.fromEntries(Object.keys(schema.shape).flatMap((name) => (req.get(name) === undefined ? [] : [[name, req.get(name)!]])));
}

function hasBody(req: Request): boolean {
  return req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? '0') > 0;
}

async function readBody(req: Request, res: Response, spec: BodySpec, parseJson: RequestHandler, parseMultipart: MultipartParser | undefined): Promise<unknown> {
  if (!hasBody(req)) {
    if (spec.required) throw new HttpError(400, 'ValidationFailed', 'body: required', { problems: ['body: required'] });
    return spec.multipart ? { kind: 'json', value: validate(spec.json, {}, 'body') } : validate(spec.json, {}, 'body');
  }
  if (spec.multipart && req.is('multipart/form-data')) {
    if (!parseMultipart) throw new Error('this route declares a multipart body but the app has no multipart parser');
    // The multipart parser reads the bytes as they come: a compressed upload would only look malformed.
    const encoding = req.get('content-encoding') ?? 'identity';
    if (encoding.toLowerCase() !== 'identity') throw new HttpError(415, 'UnsupportedEncoding', `Content-Encoding ${encoding} is not supported for multipart/form-data: send the upload as it is`);
    const parsed = await parseMultipart(req, spec.multipart);
    const fields = validate(spec.multipart.fields, parsed.fields, 'body');
    const files: Record<string, UploadedFile> = {};
    for (const file of parsed.files) {
      if (!(file.fieldName in spec.multipart.files)) throw new HttpError(400, 'ValidationFailed', `body.${file.fieldName}: unknown file field`, { problems: [`body.${file.fieldName}: unknown file field`] });
      files[file.fieldName] = file;
    }
    const missing = Object.entries(spec.multipart.files).filter(([name, field]) => field.required && !files[name]).map(([name]) => `body.${name}: required file`);
    if (missing.length > 0) throw new HttpError(400, 'ValidationFailed', missing.join('; '), { problems: missing });
    return { kind: 'multipart', fields, files };
  }
  if (spec.json && req.is(['application/json', 'application/*+json'])) {
    // body-parser's errors carry the `type` the error handler maps to 400/413/415.
    await new Promise<void>((resolve, reject) => parseJson(req, res, (error?: unknown) => (error ? reject(error instanceof Error ? error : new Error('the body could not be read')) : resolve())));
    const value = validate(spec.json, req.body, 'body');
    return spec.multipart ? { kind: 'json', value } : value;
  }
  const accepted = [...(spec.json ? ['application/json'] : []), ...(spec.multipart ? ['multipart/form-data'] : [])];
  throw new HttpError(415, 'UnsupportedMediaType', `send the body as ${accepted.join(' or ')} (Content-Type: ${req.get('content-type') ?? 'none'})`);
}
