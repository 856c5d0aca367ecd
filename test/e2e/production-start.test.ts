/**
 * The built entry points, started as a deployment starts them (`node dist/server.js`, `node dist/worker.js` with
 * NODE_ENV=production): without the secrets, or with a development value, they exit at once, naming the variable.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../scripts/lib/processes';

jest.setTimeout(30_000);

/** Everything production needs but the secrets under test; nothing from the harness's environment. */
const baseEnvironment = {
  PATH: process.env.PATH ?? '',
  NODE_ENV: 'production',
  META_APP_ID: '2000000000000001',
  GRAPH_API_URL: 'https://graph.facebook.com',
  // Unreachable on purpose: a process that got past its settings would not get further.
  MONGODB_URI: 'mongodb://127.0.0.1:9/instagram_dm',
  TEMPORAL_ADDRESS: '127.0.0.1:9',
};

async function start(entry: string, env: Record<string, string>): Promise<{ exitCode: number | null; stderr: string }> {
  const script = path.join(repoRoot, 'dist', entry);
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [script], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { exitCode, stderr };
}

describe('a production start', () => {
  it.each([
    ['server.js', 'api failed to start'],
    ['worker.js', 'worker failed'],
  ])('of %s without the secrets exits non-zero, naming each missing one', async (entry, prefix) => {
    const { exitCode, stderr } = await start(entry, baseEnvironment);
    expect(exitCode).toBe(1);
    expect(stderr).toContain(`${prefix}: Invalid configuration:`);
    for (const name of ['META_APP_SECRET', 'META_WEBHOOK_VERIFY_TOKEN', 'OPERATOR_TOKEN', 'TOKEN_ENCRYPTION_KEYS']) {
      expect(stderr).toContain(`${name}: required when NODE_ENV=production`);
    }
  });

  it('with a development value exits non-zero, naming the variable', async () => {
    const { exitCode, stderr } = await start('server.js', {
      ...baseEnvironment,
      META_APP_SECRET: 'emulator-app-secret',
      META_WEBHOOK_VERIFY_TOKEN: 'a-verify-token-of-production',
      OPERATOR_TOKEN: 'an-operator-token-of-production',
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    expect(exitCode).toBe(1);
    expect(stderr).toContain('META_APP_SECRET: is a development value of this code, not a secret');
    expect(stderr).toContain('TOKEN_ENCRYPTION_KEY: key "k1" is a development key');
    expect(stderr).not.toContain('META_WEBHOOK_VERIFY_TOKEN');
  });
});
