/**
 * One Graph call on the wire: the URL under the configured version, the token in the Authorization header, a
 * timeout per call, and Meta's answer turned into parsed data or a domain error. A call that may have reached
 * Meta and cannot safely be repeated fails as an unknown outcome; every URL in a log line or an error is scrubbed.
 */
import type { z } from 'zod';
import {
  TransientUpstreamError,
  UnexpectedResponseError,
  UnknownOutcomeError,
  UpstreamError,
} from '../domain/errors';
import type { Logger } from '../logger';
import { formatIssues } from '../validation-issues';
import { mapMetaError, type MetaErrorContext, metaErrorBodySchema } from './meta-errors';
import { scrubUrl } from './redaction';

export interface GraphTransportOptions {
  /** Scheme and host, e.g. https://graph.facebook.com. */
  baseUrl: string;
  /** Graph version, e.g. v25.0. */
  version: string;
  timeoutMs: number;
  fetchImpl?: typeof fetch;
  logger?: Logger;
}

export interface GraphRequest<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  accessToken?: string;
  body?: unknown;
  schema: S;
  /** A repeat of the call cannot do harm, so a timeout is a plain transient failure. */
  idempotent: boolean;
  errorContext?: MetaErrorContext;
  /** This call's own limit, instead of the client's. */
  timeoutMs?: number;
}

/** Makes a Graph call and answers its data, checked against the call's schema. */
export type GraphRequester = <S extends z.ZodType>(call: GraphRequest<S>) => Promise<z.output<S>>;

function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return cause?.code === 'ECONNREFUSED' || cause?.code === 'ENOTFOUND';
}

/** The error for a call that got no answer: transient when repeating it is harmless or it never left, else an unknown outcome. */
function noAnswerError(call: GraphRequest<z.ZodType>, error: unknown, timedOut: boolean, where: string, timeoutMs: number): Error {
  if (call.idempotent || isConnectionRefused(error)) {
    return new TransientUpstreamError(timedOut ? `${where} timed out after ${timeoutMs} ms` : `${where} failed: network error`);
  }
  return new UnknownOutcomeError(
    timedOut
      ? `${where} timed out after ${timeoutMs} ms: Meta may have acted on it`
      : `${where} failed mid-flight: Meta may have acted on it`,
  );
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Meta's error body wins over the status; a failed status without one is transient for 5xx and 429. */
function readAnswer<S extends z.ZodType>(call: GraphRequest<S>, response: Response, text: string, where: string): z.output<S> {
  const json = parseJson(text);
  const metaError = metaErrorBodySchema.safeParse(json);
  if (metaError.success) {
    throw mapMetaError(
      response.status,
      metaError.data,
      { businessUseCaseUsage: response.headers.get('x-business-use-case-usage') },
      call.errorContext,
    );
  }
  if (!response.ok) {
    const upstream = { httpStatus: response.status };
    if (response.status >= 500 || response.status === 429) {
      throw new TransientUpstreamError(`${where} answered HTTP ${response.status}`, upstream);
    }
    throw new UpstreamError(`${where} answered HTTP ${response.status} without a Graph error body`, upstream);
  }
  const parsed = call.schema.safeParse(json);
  if (!parsed.success) {
    throw new UnexpectedResponseError(`${where} answered an unexpected shape: ${formatIssues(parsed.error.issues, { rootLabel: '(body)' })}`, {
      httpStatus: response.status,
    });
  }
  return parsed.data;
}

export function createGraphTransport(options: GraphTransportOptions): GraphRequester {
  const fetchImpl = options.fetchImpl ?? fetch;
  const root = `${options.baseUrl.replace(/\/+$/, '')}/${options.version}`;

  function callUrl(call: GraphRequest<z.ZodType>): URL {
    const url = new URL(`${root}${call.path}`);
    for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
    return url;
  }

  function callHeaders(call: GraphRequest<z.ZodType>): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.accessToken !== undefined) headers.authorization = `Bearer ${call.accessToken}`;
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    return headers;
  }

  return async function request<S extends z.ZodType>(call: GraphRequest<S>): Promise<z.output<S>> {
    const url = callUrl(call);
    const where = `${call.method} ${scrubUrl(url)}`;
    const timeoutMs = call.timeoutMs ?? options.timeoutMs;
    const started = Date.now();

    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: call.method,
        headers: callHeaders(call),
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as { name?: string } | null)?.name === 'TimeoutError';
      options.logger?.warn('graph call failed', { call: where, timedOut, durationMs: Date.now() - started });
      throw noAnswerError(call, error, timedOut, where, timeoutMs);
    }

    const text = await response.text().catch(() => '');
    options.logger?.debug('graph call', { call: where, status: response.status, durationMs: Date.now() - started });
    return readAnswer(call, response, text, where);
  };
}
