/**
 * `npm start` as a user runs it: the launcher brings the whole stack up on its own ports, the API answers ready,
 * the Temporal UI answers, Ctrl-C (SIGINT) stops every child, and state survives a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort, isPortOpen, repoRoot } from '../../scripts/lib/processes';

jest.setTimeout(240_000);

/** The diagnostics routes are the operators': the launcher makes a token once, in the data folder, and keeps it. */
const asOperator = (dataDir: string) => ({ authorization: `Bearer ${readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim()}` });

interface Launch {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function launch(env: NodeJS.ProcessEnv): Launch {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-stack.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

async function waitForOutput(run: Launch, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (run.output.join('').includes(text)) return;
    if (run.child.exitCode !== null) throw new Error(`launcher exited with ${run.child.exitCode}:\n${run.output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`launcher did not print "${text}" within ${timeoutMs} ms:\n${run.output.join('')}`);
}

describe('npm start (the local stack launcher)', () => {
  let dataDir = '';
  let env: NodeJS.ProcessEnv;
  let ports: Record<'api' | 'temporal' | 'ui' | 'mongo' | 'emulator', number>;
  let current: Launch | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'igdm-stack-'));
    if (!existsSync(path.join(repoRoot, 'dist', 'server.js'))) throw new Error('dist/ is missing: run `npm test` (it builds) or `npm run build` first');
    ports = { api: await findFreePort(), temporal: await findFreePort(), ui: await findFreePort(), mongo: await findFreePort(), emulator: await findFreePort() };
    env = { ...process.env, DATA_DIR: dataDir, API_PORT: String(ports.api), TEMPORAL_PORT: String(ports.temporal), TEMPORAL_UI_PORT: String(ports.ui), MONGO_PORT: String(ports.mongo), EMULATOR_PORT: String(ports.emulator), LOG_LEVEL: 'warn' };
    // The launcher makes the install's own secrets: none may come from the harness.
    delete env.OPERATOR_TOKEN;
    delete env.TOKEN_ENCRYPTION_KEYS;
    delete env.TOKEN_ENCRYPTION_KEY;
    // The launcher must start its own services: the harness's addresses are not for it.
    delete env.TEMPORAL_ADDRESS;
    delete env.MONGODB_URI;
    delete env.TEMPORAL_UI_URL;
    delete env.GRAPH_API_URL;
    delete env.META_LOGIN_DIALOG_URL;
    delete env.EMULATOR_WEBHOOK_URL;
  });

  afterAll(async () => {
    if (current && current.child.exitCode === null) {
      current.child.kill('SIGINT');
      await current.exited;
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  let probeId = '';
  let probeWorkflowId = '';
  let keyring = '';

  it('starts everything, prints the URLs and answers ready', async () => {
    current = launch(env);
    // The launcher prints its URLs in several writes after "ready": wait for its last line.
    await waitForOutput(current, 'Ctrl-C stops everything.', 180_000);
    const printed = current.output.join('');
    expect(printed).toContain(`API            http://127.0.0.1:${ports.api}`);
    expect(printed).toContain(`Temporal UI    http://127.0.0.1:${ports.ui}/namespaces/default/workflows`);

    const ready = await fetch(`http://127.0.0.1:${ports.api}/readyz`);
    expect(ready.status).toBe(200);
    const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
    expect(ui.status).toBe(200);
    expect(printed).toContain(`Meta emulator  http://127.0.0.1:${ports.emulator}`);
    const emulator = await fetch(`http://127.0.0.1:${ports.emulator}/_emulator/health`);
    expect(emulator.status).toBe(200);

    expect(printed).toContain(`API reference  http://127.0.0.1:${ports.api}/docs`);
    expect(printed).toMatch(/round-trip -H "authorization: Bearer \$\(cat .*operator-token\)"/);
    const probe = await fetch(`http://127.0.0.1:${ports.api}/v1/diagnostics/round-trip`, { method: 'POST', headers: asOperator(dataDir) });
    expect(probe.status).toBe(200);
    const body = (await probe.json()) as { probeId: string; workflowId: string };
    probeId = body.probeId;
    probeWorkflowId = body.workflowId;

    // The Temporal UI's own API lists the workflow after that one call.
    const listed = await fetch(`http://127.0.0.1:${ports.ui}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId="${probeWorkflowId}"`)}`);
    expect(listed.status).toBe(200);
    expect(JSON.stringify(await listed.json())).toContain(probeWorkflowId);

    // The token keyring of this install, made once, readable by its owner only.
    const keyringFile = path.join(dataDir, 'token-encryption-keys');
    keyring = readFileSync(keyringFile, 'utf8').trim();
    expect(keyring).toMatch(/^local-1:[A-Za-z0-9+/]{43}=$/);
    expect(statSync(keyringFile).mode & 0o777).toBe(0o600);
  });

  it('stops every child on Ctrl-C', async () => {
    const run = current!;
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    for (const port of Object.values(ports)) expect(await isPortOpen(port)).toBe(false);
  });

  it('keeps its state across a restart', async () => {
    current = launch(env);
    await waitForOutput(current, 'Ctrl-C stops everything.', 180_000);
    // The same token and keyring after the restart: they were made once and kept.
    expect(readFileSync(path.join(dataDir, 'token-encryption-keys'), 'utf8').trim()).toBe(keyring);
    const readBack = await fetch(`http://127.0.0.1:${ports.api}/v1/diagnostics/round-trip/${probeId}`, { headers: asOperator(dataDir) });
    expect(readBack.status).toBe(200);
    expect(await readBack.json()).toMatchObject({ probeId, workflowId: probeWorkflowId });
    const listed = await fetch(`http://127.0.0.1:${ports.ui}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId="${probeWorkflowId}"`)}`);
    expect(JSON.stringify(await listed.json())).toContain(probeWorkflowId);
    current.child.kill('SIGINT');
    expect(await current.exited).toBe(0);
  });
});
