/**
 * A workflow's history as text a test can search: the history's JSON with every payload decoded (payloads are
 * base64 inside it), so "no message text and no token in Temporal" is checked against what is really stored.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export async function readableHistory(handle: WorkflowHandle): Promise<string> {
  const json = historyToJSON(await handle.fetchHistory());
  const decoded = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((match) => Buffer.from(match[1]!, 'base64').toString('utf8'));
  return [json, ...decoded].join('\n');
}
