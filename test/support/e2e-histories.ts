/**
 * Histories of the workflows an end-to-end test ran, saved for the replay test (`npm run record:e2e-histories`
 * picks a few of them into test/fixtures/histories/e2e). Only with RECORD_E2E_HISTORIES=<folder> set: a test
 * engine then writes, as it stops, the history of every run of its task queue (closed or still running, every run
 * of a workflow continued as new) to <folder>/<test file>/<workflow type>~<workflow id>~<run id>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

/** Where to save histories, when asked to. */
export function e2eHistoriesFolder(): string | undefined {
  return process.env.RECORD_E2E_HISTORIES || undefined;
}

/** The test file running (its name without `.test.ts`): the scenario the saved histories come from. */
function testFileLabel(): string {
  const testPath = typeof expect === 'undefined' ? undefined : expect.getState().testPath;
  return testPath ? path.basename(testPath).replace(/\.test\.ts$/, '') : 'engine';
}

/**
 * Saves the history of every run of `taskQueue`. Called before the runs still going are terminated: a run's history
 * then ends where the test left it, which replays up to its last completed workflow task.
 */
export async function saveTaskQueueHistories(client: Client, taskQueue: string, folder: string): Promise<number> {
  const into = path.join(folder, testFileLabel());
  mkdirSync(into, { recursive: true });
  let saved = 0;
  for await (const { execution, history } of runsOfTaskQueue(client, taskQueue)) {
    const name = [execution.type, execution.workflowId, execution.runId].map((part) => part.replace(/[^A-Za-z0-9._-]+/g, '_')).join('~');
    writeFileSync(path.join(into, `${name}.json`), `${historyToJSON(history)}\n`);
    saved += 1;
  }
  return saved;
}

/** Every run of `taskQueue`, closed or running (every run of a workflow continued as new), with its history. */
export async function* runsOfTaskQueue(client: Client, taskQueue: string): AsyncGenerator<{ execution: WorkflowExecutionInfo; history: History }> {
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    yield { execution, history: await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory() };
  }
}
