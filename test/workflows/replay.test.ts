/**
 * Replays the recorded histories in test/fixtures/histories with the current workflow code: a change that would
 * make running workflows nondeterministic fails here, not in production (DESIGN.md, "replay tests").
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';

const dir = path.resolve(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(dir).filter((file) => file.endsWith('.json'));

describe('replay of recorded histories', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s replays with the current workflow code', async (file) => {
    const history: unknown = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, history, `replay-${file}`)).resolves.toBeUndefined();
  });
});
