/** The time-skipping test server from .tools (installed by scripts/setup-tools.sh), for workflow tests. */
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { toolsBin } from '../../scripts/lib/processes';
import { customSearchAttributes } from '../../src/temporal/names';
import { installQuietTemporalRuntime } from './temporal-runtime';

export async function createTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  installQuietTemporalRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: path.join(toolsBin, 'temporal-test-server') } },
  });
  // The workflows upsert the engine's search attributes, which the server must know, as the dev server does.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(customSearchAttributes.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  return env;
}

