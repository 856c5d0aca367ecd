/** HTTP errors of the API: every refusal is `{error: {type, message, details?}}` with a 4xx that names the problem. */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../logger';
import { describeIssues } from '../validation-issues';
import { namedSchema } from './schema-names';

/** The one body of every error answer; `type` is stable (clients branch on it), `message` is for people. */
export const errorBodySchema = namedSchema(
  'Error',
  z.object({
    error: z.object({
      type: z.string().describe('stable name of the error, e.g. ValidationFailed, NotFound, Unauthenticated'),
      message: z.string().describe('what went wrong, naming the field or the thing'),
      details: z.record(z.string(), z.unknown()).optional().describe('ValidationFailed: `problems`, one entry per field'),
      errorId: z.string().optional().describe('InternalError: the id under which the engine logged the failure; quote it to the operator'),
    }),
  }),
);
export type ErrorBody = z.infer<typeof errorBodySchema>;

export type RequestPart = 'body' | 'query' | 'params' | 'headers';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function validationError(error: z.ZodError, where: RequestPart): HttpError {
  const problems = describeIssues(error.issues, { where });
  return new HttpError(400, 'ValidationFailed', problems.join('; '), { problems });
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'NotFound', `no route for ${req.method} ${req.path}`));
};

/** Set on a response whose error the error handler has logged, so that the request log does not log it again. */
export const ERROR_LOGGED = 'errorLogged';

/** What Express, its body parsers (body-parser, raw-body), zlib and the router put on the errors they raise. */
interface FrameworkError extends Error {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  code?: unknown;
  expose?: unknown;
  limit?: unknown;
  encoding?: unknown;
}

/**
 * A client's mistake (an HttpError of ours, or a framework error carrying a 4xx) is answered with its status and a
 * message naming it. Anything else is a bug of ours: logged once under an id, answered 500 with that id and nothing
 * of its internals.
 */
export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const refusal = clientRefusal(error, req);
    if (refusal && refusal.status < 500) {
      sendError(res, refusal);
      return;
    }
    res.locals[ERROR_LOGGED] = true;
    if (refusal) {
      // A 5xx the code chose (the database or Temporal is down): the reason is known, no stack is needed.
      logger.error('request not served', { method: req.method, path: req.path, status: refusal.status, type: refusal.type, reason: refusal.message });
      sendError(res, refusal);
      return;
    }
    const errorId = randomUUID();
    logger.error('internal error', { errorId, method: req.method, path: req.path, error });
    // An answer already under way cannot turn into an error answer: the client sees the connection end instead.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, new HttpError(500, 'InternalError', `internal error; the operator finds it in the log under ${errorId}`), errorId);
  };
}

function sendError(res: Response, http: HttpError, errorId?: string): void {
  const body: ErrorBody = {
    error: { type: http.type, message: http.message, ...(http.details ? { details: http.details } : {}), ...(errorId ? { errorId } : {}) },
  };
  res.status(http.status).json(body);
}

/** The refusal an error stands for, or null when it is no refusal at all (a bug). */
function clientRefusal(error: unknown, req: Request): HttpError | null {
  if (error instanceof HttpError) return error;
  if (!(error instanceof Error)) return null;
  const framework = error as FrameworkError;
  const status = typeof framework.status === 'number' ? framework.status : framework.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  return namedFrameworkRefusal(framework, req) ?? new HttpError(status, typeOfStatus(status), framework.expose === false ? (STATUS_CODES[status] ?? 'refused') : framework.message);
}

/** The framework errors a client causes, each under a name that says what to fix. */
function namedFrameworkRefusal(error: FrameworkError, req: Request): HttpError | null {
  const encoding = req.get('content-encoding') ?? 'identity';
  if (error instanceof URIError) {
    // The router decodes path parameters before any route (or its key check) runs.
    return new HttpError(400, 'InvalidPathEncoding', `a path parameter is not valid percent-encoded UTF-8 (${clipped(req.path)})`);
  }
  if (typeof error.code === 'string' && error.code.startsWith('Z_')) {
    return new HttpError(400, 'InvalidContentEncoding', `the body is not valid ${clipped(encoding)} data as its Content-Encoding says: ${error.message}`);
  }
  switch (error.type) {
    case 'entity.parse.failed':
      return new HttpError(400, 'InvalidJson', `request body is not valid JSON: ${error.message}`);
    case 'entity.too.large':
      return new HttpError(413, 'PayloadTooLarge', `request body exceeds the limit of ${typeof error.limit === 'number' ? error.limit : '?'} bytes`);
    case 'encoding.unsupported':
      return new HttpError(415, 'UnsupportedEncoding', `Content-Encoding ${clipped(encoding)} is not supported: send the body as it is, or as gzip, deflate or br`);
    case 'charset.unsupported':
      return new HttpError(415, 'UnsupportedCharset', error.message);
    case 'parameters.too.many':
      return new HttpError(413, 'TooManyParameters', error.message);
    case 'request.size.invalid':
      return new HttpError(400, 'BodyLengthMismatch', 'the body is not as long as its Content-Length says');
    case 'request.aborted':
      return new HttpError(400, 'RequestAborted', 'the client aborted the request');
    default:
      return null;
  }
}

/** `Unsupported Media Type` → `UnsupportedMediaType`: the type of a refusal known only by its status. */
function typeOfStatus(status: number): string {
  return (STATUS_CODES[status] ?? 'BadRequest').replace(/[^A-Za-z0-9]+(.)?/g, (_match, next: string | undefined) => (next ?? '').toUpperCase());
}

/** A client's text quoted in a message: a bounded length, so that a long path does not make a long answer. */
function clipped(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
