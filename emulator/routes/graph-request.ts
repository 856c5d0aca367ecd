/** Reading a Graph call: Meta accepts the token and the parameters in the query string or in the body alike. */
import type { Request } from 'express';

function firstString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** Meta takes the token from the Authorization header, the query string or the body. */
export function tokenFrom(req: Request): string | undefined {
  const header = req.get('authorization');
  const match = header ? /^(?:Bearer|OAuth)\s+(.+)$/i.exec(header.trim()) : null;
  if (match?.[1]) return match[1];
  const fromQuery = firstString((req.query as Record<string, unknown>).access_token);
  if (fromQuery) return fromQuery;
  const body = req.body as Record<string, unknown> | undefined;
  return body && typeof body === 'object' ? firstString(body.access_token) : undefined;
}

export function param(req: Request, name: string): string | undefined {
  const fromQuery = firstString((req.query as Record<string, unknown>)[name]);
  if (fromQuery !== undefined) return fromQuery;
  const body = req.body as Record<string, unknown> | undefined;
  return body && typeof body === 'object' ? firstString(body[name]) : undefined;
}

export function requestedFields(req: Request, fallback: string[]): string[] {
  const raw = param(req, 'fields');
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field.length > 0);
}
