/**
 * The worker's `/metrics`: the worker has no HTTP server of its own, and what its activities count lives in its
 * process, so it serves its registry on a port of its own (WORKER_METRICS_PORT).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
import { scrape } from './scrape';

export interface MetricsServerOptions {
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  host: string;
  /** 0: any free port (tests). */
  port: number;
  token: string | null;
  logger: Pick<Logger, 'warn'>;
}

export interface MetricsServer {
  /** The port it listens on (the one chosen when asked for 0). */
  port: number;
  close(): Promise<void>;
}

function answerJson(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: { type, message } }));
}

async function handle(options: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://worker').pathname;
  if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return answerJson(res, 404, 'NotFound', 'only GET /metrics is served here');
  const answer = await scrape(options.registry, req.headers.authorization, options.token);
  if (answer.status === 401) return answerJson(res, 401, 'Unauthenticated', answer.message);
  res.writeHead(200, { 'content-type': answer.contentType }).end(req.method === 'HEAD' ? undefined : answer.body);
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    handle(options, req, res).catch((error: unknown) => {
      options.logger.warn('metrics scrape failed', { error: (error as Error).message });
      if (!res.headersSent) answerJson(res, 500, 'Unexpected', 'the metrics could not be collected');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A scraper keeps its connection open between scrapes: without this, the worker's stop would wait for it.
      server.closeAllConnections();
      return closed;
    },
  };
}
