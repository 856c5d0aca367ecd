/**
 * What a test searches after hostile input: the workflow histories of a task queue as one text (for secrets and
 * message texts that must never be in them), and the links an API answer would have a browser open.
 */
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { runsOfTaskQueue } from './e2e-histories';

/** Every run of `taskQueue` (closed or running), its history as JSON, joined. */
export async function historiesOfTaskQueue(client: Client, taskQueue: string): Promise<string> {
  const histories: string[] = [];
  for await (const { history } of runsOfTaskQueue(client, taskQueue)) histories.push(historyToJSON(history));
  return histories.join('\n');
}

/** The `url`-named string fields of a JSON answer that `isSafe` refuses, with where they are. */
export function unsafeLinksIn(value: unknown, isSafe: (url: string) => boolean, at = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => unsafeLinksIn(item, isSafe, `${at}[${index}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, field]) => {
    const here = `${at}.${key}`;
    if (typeof field === 'string' && /url$/i.test(key)) return isSafe(field) ? [] : [`${here}: ${field.slice(0, 80)}`];
    return unsafeLinksIn(field, isSafe, here);
  });
}
