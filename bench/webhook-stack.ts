/**
 * The stack `npm run bench:webhooks` measures, each part a process of its own so its CPU is its own: the Temporal dev
 * server and the local database (bench/lib.ts startLocalServices, unless TEMPORAL_ADDRESS / MONGODB_URI name them),
 * the Meta emulator (emulator/main.ts), the engine's API (dist/server.js) and worker (dist/worker.js) configured as
 * `npm start` configures them, and the ceiling (bench/ceiling-server.ts). The emulator's demo Instagram account is
 * linked to a channel: its Page token through Meta's own steps, the linked account written in the database (as
 * bench/accounts.ts seeds them), the app subscribed to the Page so the emulator delivers its customers' messages.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import type { Connection as MongooseConnection } from 'mongoose';
import { DEMO } from '../emulator/seed';
import { withLocalSecrets } from '../scripts/lib/local-secrets';
import { findFreePort, isPortOpen, waitUntilReady, type ManagedProcess } from '../scripts/lib/processes';
import { createChannelDirectory } from '../src/channels/directory';
import { loadConfig, type AppConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { createModels, ensureIndexes, type Models } from '../src/db/models';
import { newLinkedAccount } from '../src/db/models/linked-account';
import { createConfiguredGraphClient } from '../src/graph/configured';
import { REQUIRED_SCOPES, WEBHOOK_FIELDS } from '../src/linking/permissions';
import { createTokenCipher } from '../src/security/token-cipher';
import { terminateRunningWorkflows } from '../test/support/engine';
import { buildEngine, startNodeProcess, waitForHttpOk, waitForPoller } from './engine-processes';
import { emulatorControl, pool, servicePid, startLocalServices, type LocalServices } from './lib';

/** The processes the report shows CPU for; a pid left undefined is a service the environment named (not measured). */
export const MEASURED = ['api', 'worker', 'temporal', 'database', 'emulator', 'ceiling'] as const;
export type MeasuredName = (typeof MEASURED)[number];

export interface Customer {
  username: string;
  igsid: string;
}

export interface WebhookStack {
  /** The engine's configuration, as its API and worker read it from their environment. */
  config: AppConfig;
  apiUrl: string;
  ceilingUrl: string;
  emulatorUrl: string;
  models: Models;
  igAccountId: string;
  /** The channel owner's key, for the inbox API. */
  apiKey: string;
  pids: Record<MeasuredName, number | undefined>;
  description: string;
  /** Where a process of the stack writes its output. */
  logFile(name: 'api' | 'worker' | 'emulator' | 'ceiling'): string;
  /** Throws when the API, the worker or the emulator has exited: nothing would finish a wait. */
  assertRunning(): void;
}

/** What the run started, so that the end, a failure or a signal stops all of it. */
export interface Launched {
  processes: ManagedProcess[];
  services?: LocalServices;
  database?: MongooseConnection;
  temporal?: Connection;
  /** Done before the connections close: for services the environment named, this run's workflows and database go. */
  cleanUps: Array<() => Promise<void>>;
}

export function createStopper(launched: Launched, keepLogs: () => boolean): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stopProcess = (child: ManagedProcess): Promise<void> => child.stop().catch((error: unknown) => console.error(`${child.name} stop: ${(error as Error).message}`));
  return () =>
    (stopping ??= (async () => {
      // The API first (no new dispatches), then the worker while the services it uses still answer, the clean-ups
      // while the connections are open, then the rest.
      const byName = (name: string): ManagedProcess[] => launched.processes.filter((child) => child.name === name);
      for (const child of [...byName('api'), ...byName('worker')]) await stopProcess(child);
      for (const cleanUp of launched.cleanUps) await cleanUp().catch((error: unknown) => console.error(`clean-up: ${(error as Error).message}`));
      await Promise.all(launched.processes.map(stopProcess));
      await launched.temporal?.close().catch(() => undefined);
      await launched.database?.close().catch(() => undefined);
      await launched.services?.stop({ keepLogs: keepLogs() }).catch(() => undefined);
    })());
}

/** Distinct free ports (for the API, the ceiling and the emulator). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await findFreePort());
  return [...ports];
}

/** The run's own database on a server the environment named, dropped at the end; the local one is thrown away whole. */
function runDatabaseUri(uri: string, runId: string): string {
  const url = new URL(uri);
  url.pathname = `/igdm_bench_webhooks_${runId}`;
  return url.toString();
}

/**
 * The engine's environment as `npm start` builds it (scripts/start-stack.ts): the caller's environment, the local
 * secrets (made in the run's throw-away folder, not the install's), the services, and the emulator in Meta's place.
 */
function engineEnvironment(options: { workDir: string; apiPort: number; emulatorUrl: string; mongoUri: string; runId: string }): NodeJS.ProcessEnv {
  return {
    ...withLocalSecrets(process.env, options.workDir),
    MONGODB_URI: options.mongoUri,
    GRAPH_API_URL: options.emulatorUrl,
    META_LOGIN_DIALOG_URL: `${options.emulatorUrl}/dialog/oauth`,
    // Loopback and a free port instead of 0.0.0.0:3000: nothing outside the machine reaches the run, and an
    // `npm start` running meanwhile keeps its port.
    API_HOST: '127.0.0.1',
    API_PORT: String(options.apiPort),
    // A worker of another engine on the same Temporal server must not take this run's tasks.
    TEMPORAL_TASK_QUEUE: `bench-webhooks-${options.runId}`,
  };
}

function emulatorEnvironment(port: number, apiUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // The emulator stands in for Meta: its request log is not the engine's work.
    LOG_LEVEL: 'warn',
    EMULATOR_HOST: '127.0.0.1',
    EMULATOR_PORT: String(port),
    EMULATOR_PUBLIC_URL: `http://127.0.0.1:${port}`,
    EMULATOR_SEED_DEMO: 'true',
    EMULATOR_WEBHOOK_URL: `${apiUrl}/webhooks/instagram`,
    EMULATOR_DEAUTHORIZE_URL: `${apiUrl}/meta/deauthorize`,
    EMULATOR_DATA_DELETION_URL: `${apiUrl}/meta/data-deletion`,
  };
}

interface StackProcesses {
  api: ManagedProcess;
  worker: ManagedProcess;
  emulator: ManagedProcess;
  ceiling: ManagedProcess;
}

/** The four node processes, each with its log in the run's folder; ready when each answers (the worker: polls). */
async function startProcesses(options: { env: NodeJS.ProcessEnv; ports: { api: number; ceiling: number; emulator: number }; client: Client; taskQueue: string; log: (name: string) => string; track: (child: ManagedProcess) => void }): Promise<StackProcesses> {
  const { env, ports, log } = options;
  const start = (name: string, entry: string, processEnv: NodeJS.ProcessEnv): ManagedProcess => {
    const child = startNodeProcess({ name, entry, env: processEnv, logFile: log(name) });
    options.track(child);
    return child;
  };
  const apiUrl = `http://127.0.0.1:${ports.api}`;
  const started: StackProcesses = {
    emulator: start('emulator', 'emulator/main.ts', emulatorEnvironment(ports.emulator, apiUrl)),
    worker: start('worker', 'dist/worker.js', env),
    api: start('api', 'dist/server.js', env),
    ceiling: start('ceiling', 'bench/ceiling-server.ts', { ...env, API_PORT: String(ports.ceiling) }),
  };
  await Promise.all([
    waitUntilReady(started.emulator, () => isPortOpen(ports.emulator), 60_000, `see ${log('emulator')}`),
    waitForHttpOk(started.api, `${apiUrl}/readyz`, 120_000, `see ${log('api')}`),
    waitForHttpOk(started.ceiling, `http://127.0.0.1:${ports.ceiling}/healthz`, 60_000, `see ${log('ceiling')}`),
    waitForPoller(started.worker, options.client, options.taskQueue),
  ]);
  return started;
}

/**
 * Starts everything and links the demo account. `track` hears of each process as it is spawned, so a Ctrl-C during
 * the start-up stops it too.
 */
export async function startWebhookStack(options: { runId: string; build: boolean; launched: Launched; track: (child: ManagedProcess) => void; say: (line: string) => void }): Promise<WebhookStack> {
  const { runId, launched, track, say } = options;
  let step = performance.now();
  const externalMongo = process.env.MONGODB_URI;
  const externalTemporal = Boolean(process.env.TEMPORAL_ADDRESS);
  const [services] = await Promise.all([
    startLocalServices('igdm_bench_webhooks', { onProcess: track }).then((started) => (launched.services = started)),
    options.build ? buildEngine(path.join(os.tmpdir(), `igdm-bench-webhooks-build-${runId}.log`), track) : undefined,
  ]);
  say(`set-up:   services started${options.build ? ' and the engine built into dist/' : ''} in ${seconds(performance.now() - step)} s`);

  step = performance.now();
  const [api, ceiling, emulator] = (await freePorts(3)) as [number, number, number];
  const emulatorUrl = `http://127.0.0.1:${emulator}`;
  const mongoUri = externalMongo ? runDatabaseUri(externalMongo, runId) : process.env.MONGODB_URI!;
  const env = engineEnvironment({ workDir: services.workDir, apiPort: api, emulatorUrl, mongoUri, runId });
  const config = loadConfig(env);
  launched.database = await connectDatabase({ uri: config.mongodb.uri });
  const models = createModels(launched.database);
  await ensureIndexes(models);
  launched.temporal = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: launched.temporal, namespace: config.temporal.namespace });
  if (externalTemporal) launched.cleanUps.push(() => terminateRunningWorkflows(client, config.temporal.taskQueue));
  if (externalMongo) launched.cleanUps.push(() => launched.database!.dropDatabase());
  const log = (name: string): string => path.join(services.workDir, `${name}.log`);
  const processes = await startProcesses({ env, ports: { api, ceiling, emulator }, client, taskQueue: config.temporal.taskQueue, log, track });
  say(`          API, worker, emulator and ceiling answering ${seconds(performance.now() - step)} s after they were started`);
  const { apiKey } = await linkDemoAccount(config, models, emulatorUrl, runId);

  const pidOf = (name: string): number | undefined => servicePid(services, name);
  const engineProcesses = [processes.api, processes.worker, processes.emulator];
  return {
    config,
    apiUrl: `http://127.0.0.1:${api}`,
    ceilingUrl: `http://127.0.0.1:${ceiling}`,
    emulatorUrl,
    models,
    igAccountId: DEMO.igAccount.id,
    apiKey,
    pids: {
      api: processes.api.child.pid,
      worker: processes.worker.child.pid,
      temporal: pidOf('temporal'),
      database: pidOf('mongo-server'),
      emulator: processes.emulator.child.pid,
      ceiling: processes.ceiling.child.pid,
    },
    logFile: log,
    description: `${services.description}; the API (dist/server.js), the worker (dist/worker.js), the Meta emulator and the ceiling each a process of its own; loopback only; logs in ${services.workDir} (removed at the end unless --keep-logs)`,
    assertRunning() {
      const gone = engineProcesses.find(({ child }) => child.exitCode !== null || child.signalCode !== null);
      if (gone) throw new Error(`the ${gone.name} process exited (${gone.child.exitCode ?? gone.child.signalCode}): see ${log(gone.name)}`);
    },
  };
}

/**
 * The demo account linked to a new channel: the Page token from Meta's steps (login dialog → code → long-lived user
 * token → /me/accounts), the app subscribed to the Page, the linked account written with the token sealed by the
 * engine's key, and the channel's owner with an API key.
 */
async function linkDemoAccount(config: AppConfig, models: Models, emulatorUrl: string, runId: string): Promise<{ apiKey: string }> {
  const graph = createConfiguredGraphClient(config.meta);
  const redirectUri = 'http://127.0.0.1:9/v1/oauth/facebook/callback';
  const { code } = await emulatorControl<{ code?: string }>(emulatorUrl, '/dialog/complete', { client_id: config.meta.appId, redirect_uri: redirectUri, scope: [...REQUIRED_SCOPES], email: DEMO.user.email, password: DEMO.user.password });
  if (code === undefined) throw new Error("the emulator's login dialog gave no code");
  const shortLived = await graph.exchangeCode({ code, redirectUri });
  const longLived = await graph.exchangeForLongLivedToken(shortLived.accessToken);
  const page = (await graph.listPages(longLived.accessToken)).find((candidate) => candidate.id === DEMO.page.id);
  if (!page?.accessToken) throw new Error('the demo Page is missing from /me/accounts');
  await graph.subscribeApp(page.id, page.accessToken, WEBHOOK_FIELDS);

  const channelId = `bench-${runId}`;
  const { apiKey } = await createChannelDirectory({ models, now: Date.now }).createChannelWithOwner({ channelId, name: 'Demo shop', ownerName: 'Bench owner' });
  const pageToken = createTokenCipher(config.tokens.keyring).seal(page.accessToken, { boundTo: DEMO.igAccount.id });
  await models.linkedAccounts.create({
    ...newLinkedAccount({ igAccountId: DEMO.igAccount.id, channelId, pageId: page.id, username: DEMO.igAccount.username, pageToken }),
    linkedByFacebookUserId: DEMO.user.id,
    tokenExpiresAt: null,
  });
  return { apiKey };
}

/**
 * `count` customers made at the emulator, each of whom writes once through it: the engine fetches each profile and
 * starts each conversation workflow, so the load that follows signals conversations that are open (and warms the
 * engine's code). Done when every first message is stored.
 */
export async function openConversations(stack: WebhookStack, count: number, timeoutMs: number): Promise<Customer[]> {
  const before = await stack.models.messages.estimatedDocumentCount();
  const customers: Customer[] = [];
  const tag = randomUUID().slice(0, 8);
  await pool(count, 8, async (index) => {
    const username = `bench.${tag}.customer${index}`;
    await emulatorControl(stack.emulatorUrl, '/ig-users', { username, name: `Bench Customer ${index}` });
    const sent = await emulatorControl<{ igsid: string }>(stack.emulatorUrl, `/ig-accounts/${stack.igAccountId}/inbound`, { from: { username }, kind: 'text', text: `Hi, this is customer ${index}` });
    customers[index] = { username, igsid: sent.igsid };
  });
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    stack.assertRunning();
    const stored = (await stack.models.messages.estimatedDocumentCount()) - before;
    if (stored >= count) return customers;
    if (performance.now() > deadline) throw new Error(`opening conversations: ${stored} of ${count} first messages stored in ${seconds(timeoutMs)} s`);
    await sleep(200);
  }
}

export const seconds = (valueMs: number): string => (valueMs / 1000).toFixed(1);
