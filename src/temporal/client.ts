/**
 * The Temporal client of the API process. Lazy: the API starts, and reports "Temporal down", without a server.
 * Health checks use a second connection without the SDK's retry interceptor, so a check answers within its
 * deadline instead of retrying in the background.
 */
import { Client, Connection } from '@temporalio/client';
import { withTimeout } from '../async';

export interface TemporalClientOptions {
  address: string;
  namespace: string;
}

export interface TemporalAccess {
  client: Client;
  /** Resolves when the frontend answers within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function createTemporalAccess(options: TemporalClientOptions): TemporalAccess {
  const connection = Connection.lazy({ address: options.address });
  const healthConnection = Connection.lazy({ address: options.address, interceptors: [] });
  return {
    client: new Client({ connection, namespace: options.namespace }),
    async ping(timeoutMs = 2000) {
      await withTimeout(
        healthConnection.withDeadline(Date.now() + timeoutMs, () => healthConnection.healthService.check({})),
        timeoutMs + 100,
        'Temporal health check',
      );
    },
    async close() {
      await Promise.all([connection.close(), healthConnection.close()]);
    },
  };
}
