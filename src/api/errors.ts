/** HTTP errors of the API: every refusal is `{error: {type, message, details?}}` with a 4xx that names the problem. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
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

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const http = toHttpError(error);
    if (http.status >= 500) logger.error('request failed', { method: req.method, path: req.path, error });
    const body: ErrorBody = { error: { type: http.type, message: http.message, ...(http.details ? { details: http.details } : {}) } };
    res.status(http.status).json(body);
  };
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return new HttpError(400, 'InvalidJson', `request body is not valid JSON: ${parserError.message}`);
    case 'entity.too.large':
      return new HttpError(413, 'PayloadTooLarge', `request body exceeds the limit of ${parserError.limit ?? '?'} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'UnsupportedEncoding', parserError.message);
    case 'request.aborted':
      return new HttpError(400, 'RequestAborted', 'the client aborted the request');
    default:
      return new HttpError(500, 'InternalError', 'internal error');
  }
}
