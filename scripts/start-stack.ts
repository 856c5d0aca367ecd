/**
 * `npm start`: runs the whole local stack in one terminal and stops all of it on Ctrl-C.
 * The database and the Temporal dev server keep their state under the data folder, so it survives a restart.
 * With MONGODB_URI / TEMPORAL_ADDRESS set, those services are used as they are and not started.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadEmulatorConfig } from '../emulator/config';
import { loadConfig, loadStackConfig } from '../src/config';
import {
  delay,
  localMongoUri,
  repoRoot,
  spawnManaged,
  startMongoServer,
  startTemporalDevServer,
  waitUntilReady,
  type ManagedProcess,
} from './lib/processes';
import { localSecretPath, withLocalSecrets } from './lib/local-secrets';

const say = (line: string): void => {
  process.stdout.write(`[stack] ${line}\n`);
};

async function main(): Promise<void> {
  const stack = loadStackConfig(path.join(repoRoot, '.data'));
  // The local operator token and token keyring, made once per install in the data folder, unless set.
  const childEnv: NodeJS.ProcessEnv = withLocalSecrets(process.env, stack.dataDir);
  if (stack.startMongo) childEnv.MONGODB_URI = localMongoUri(stack.mongoPort, 'instagram_dm');
  if (stack.startTemporal) {
    childEnv.TEMPORAL_ADDRESS = `127.0.0.1:${stack.temporalPort}`;
    childEnv.TEMPORAL_UI_URL = `http://127.0.0.1:${stack.temporalUiPort}`;
  }
  // Without GRAPH_API_URL the engine talks to the Meta emulator, which the launcher then runs too.
  if (stack.startEmulator) {
    const emulatorPort = loadEmulatorConfig(childEnv).port;
    childEnv.GRAPH_API_URL = `http://127.0.0.1:${emulatorPort}`;
    childEnv.META_LOGIN_DIALOG_URL ??= `http://127.0.0.1:${emulatorPort}/dialog/oauth`;
    const engineUrl = `http://127.0.0.1:${loadConfig(childEnv).api.port}`;
    childEnv.EMULATOR_WEBHOOK_URL ??= `${engineUrl}/webhooks/instagram`;
    childEnv.EMULATOR_DEAUTHORIZE_URL ??= `${engineUrl}/meta/deauthorize`;
    childEnv.EMULATOR_DATA_DELETION_URL ??= `${engineUrl}/meta/data-deletion`;
  }
  // Validates every setting before anything starts, naming the variable that is wrong.
  const config = loadConfig(childEnv);
  if (stack.startEmulator) loadEmulatorConfig(childEnv);

  const running: ManagedProcess[] = [];
  let shuttingDown = false;
  const shutdown = async (exitCode: number): Promise<never> => {
    if (!shuttingDown) {
      shuttingDown = true;
      say('stopping…');
      // Our processes first (they drain into the services), then the services.
      for (const child of [...running].reverse()) {
        await child.stop();
        say(`${child.name} stopped`);
      }
    }
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const watch = (child: ManagedProcess): ManagedProcess => {
    running.push(child);
    void child.exited.then((code) => {
      if (!shuttingDown) {
        say(`${child.name} exited unexpectedly (${code}); stopping the stack`);
        void shutdown(1);
      }
    });
    return child;
  };
  const logs = path.join(stack.dataDir, 'logs');

  try {
    if (stack.startMongo) {
      say(`starting the database on 127.0.0.1:${stack.mongoPort} (data in ${path.relative(repoRoot, stack.dataDir)}/mongo)`);
      watch(await startMongoServer({ port: stack.mongoPort, dataDir: path.join(stack.dataDir, 'mongo'), output: { file: path.join(logs, 'mongo-server.log') } }));
    } else {
      say('MONGODB_URI is set: using that database, not starting the local one');
    }
    if (stack.startTemporal) {
      say(`starting the Temporal dev server on 127.0.0.1:${stack.temporalPort} (UI on ${stack.temporalUiPort})`);
      watch(
        await startTemporalDevServer({
          port: stack.temporalPort,
          uiPort: stack.temporalUiPort,
          dbFile: path.join(stack.dataDir, 'temporal.db'),
          output: { file: path.join(logs, 'temporal.log') },
        }),
      );
    } else {
      say('TEMPORAL_ADDRESS is set: using that Temporal service, not starting a dev server');
    }

    const services = stack.startEmulator ? nodeServices : nodeServices.filter(([name]) => name !== 'meta-emulator');
    if (!stack.startEmulator) say('GRAPH_API_URL is set: using that Graph API, not starting the Meta emulator');
    for (const [name, entry] of services) {
      const script = path.join(repoRoot, 'dist', entry);
      if (!existsSync(script)) throw new Error(`${script} is missing: run 'npm run build'`);
      watch(spawnManaged({ name, command: process.execPath, args: ['--enable-source-maps', script], env: childEnv, output: 'inherit' }));
    }

    const api = running.find((child) => child.name === 'api');
    if (!api) throw new Error('api process missing');
    await waitUntilReady(api, () => isReady(`http://127.0.0.1:${config.api.port}/readyz`), 120000, 'see the [api] lines above');
  } catch (error) {
    say(`failed to start: ${(error as Error).message}`);
    await shutdown(1);
  }

  const api = config.api.publicBaseUrl;
  say('ready');
  say(`  API            ${api}  (health ${api}/healthz, readiness ${api}/readyz)`);
  say(`  Temporal UI    ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`);
  say(`  Temporal gRPC  ${config.temporal.address}`);
  say(`  MongoDB        ${redactUri(config.mongodb.uri)}`);
  if (stack.startEmulator) say(`  Meta emulator  ${config.meta.graphApiUrl}  (control API ${config.meta.graphApiUrl}/_emulator/state; link the demo account: npm run demo:link)`);
  say(`  API reference  ${api}/docs  (OpenAPI document ${api}/openapi.json)`);
  const operatorTokenFile = localSecretPath(stack.dataDir, 'operatorToken');
  const tokenArgument = process.env.OPERATOR_TOKEN ? '$OPERATOR_TOKEN' : `$(cat ${path.relative(process.cwd(), operatorTokenFile) || operatorTokenFile})`;
  say(`  try it         curl -X POST ${api}/v1/diagnostics/round-trip -H "authorization: Bearer ${tokenArgument}"`);
  say('Ctrl-C stops everything.');
  for (;;) await delay(60000);
}

/** The node processes of the project, in start order (stopped in reverse). */
const nodeServices: Array<[string, string]> = [
  ['meta-emulator', 'emulator/main.js'],
  ['worker', 'worker.js'],
  ['api', 'server.js'],
];

async function isReady(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return response.status === 200;
}

function redactUri(uri: string): string {
  return uri.replace(/\/\/[^@/]+@/, '//***@');
}

main().catch((error: unknown) => {
  process.stderr.write(`[stack] ${(error as Error).message}\n`);
  process.exit(1);
});
