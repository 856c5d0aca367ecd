/**
 * One answer to a scrape, for the API's route and the worker's server alike: the registry in Prometheus' text
 * format, or 401 when a metrics token is configured and the request does not carry it.
 */
import type { Registry } from 'prom-client';
import { sameSecret } from '../security/same-secret';

export type ScrapeAnswer = { status: 200; contentType: string; body: string } | { status: 401; message: string };

const BEARER = /^Bearer\s+(\S+)$/i;

/** Open without a token (a scrape on a private network); with one, only `Authorization: Bearer <token>`. */
export function scrapeAllowed(authorization: string | undefined, token: string | null): boolean {
  if (token === null) return true;
  const match = BEARER.exec(authorization?.trim() ?? '');
  return match !== null && sameSecret(match[1]!, token);
}

export async function scrape(registry: Pick<Registry, 'metrics' | 'contentType'>, authorization: string | undefined, token: string | null): Promise<ScrapeAnswer> {
  if (!scrapeAllowed(authorization, token)) return { status: 401, message: 'send the metrics token (setting METRICS_TOKEN) as "Authorization: Bearer <token>"' };
  return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
}
