/** Builds the worker with every workflow and activity; tests and `src/worker.ts` share it. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createDiagnosticsActivities } from '../activities/diagnostics';
import type { Models } from '../db/models';

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  models: Models;
}

export function createActivities(deps: Pick<WorkerDeps, 'models'>) {
  return { ...createDiagnosticsActivities({ models: deps.models }) };
}

export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities(deps),
  });
}
