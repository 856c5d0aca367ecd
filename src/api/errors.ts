/** HTTP errors of the API: every refusal is `{error: {type, message}}` with a 4xx that names the problem. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ZodError } from 'zod';
import type { Logger } from '../logger';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function validationError(error: ZodError, where: 'body' | 'query' | 'params'): HttpError {
  const problems = error.issues.map((issue) => `${[where, ...issue.path].join('.')}: ${issue.message}`);
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
    res.status(http.status).json({ error: { type: http.type, message: http.message, ...(http.details ? { details: http.details } : {}) } });
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
