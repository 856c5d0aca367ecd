/** The Temporal client of the API process. Lazy: the API starts and reports "Temporal down" instead of failing. */
import { Client, Connection } from '@temporalio/client';
import { withTimeout } from '../db/connection';

export interface TemporalClientOptions {
  address: string;
  namespace: string;
}

export function createTemporalClient(options: TemporalClientOptions): Client {
  const connection = Connection.lazy({ address: options.address });
  return new Client({ connection, namespace: options.namespace });
}

/** Resolves when the frontend answers within `timeoutMs`. */
export async function pingTemporal(client: Client, timeoutMs = 2000): Promise<void> {
  await withTimeout(
    client.connection.withDeadline(Date.now() + timeoutMs, () => client.workflowService.getSystemInfo({})),
    timeoutMs + 100,
    'Temporal health check',
  );
}
