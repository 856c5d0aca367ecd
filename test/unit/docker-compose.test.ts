/**
 * No Docker engine runs here, so the deployment files are checked as text: docker-compose.yml parses, has the
 * agreed services, publishes the API alone, and its ports and environment match what the code reads.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { configVariableNames, encryptionKeyVariableNames, loadConfig, productionRequiredVariables } from '../../src/config';
import { customSearchAttributes } from '../../src/temporal/names';

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[] | string;
  ports?: unknown[];
  network_mode?: string;
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
}

const root = path.resolve(__dirname, '..', '..');
const composeText = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;

function service(name: string): ComposeService {
  const found = services[name];
  if (!found) throw new Error(`service ${name} missing`);
  return found;
}

function env(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** What an operator puts into the .env file beside docker-compose.yml: secrets of their own. */
const operatorEnvironment: Record<string, string> = {
  META_APP_ID: '2000000000000001',
  META_APP_SECRET: randomBytes(16).toString('hex'),
  META_WEBHOOK_VERIFY_TOKEN: randomBytes(16).toString('hex'),
  OPERATOR_TOKEN: randomBytes(24).toString('base64url'),
  TOKEN_ENCRYPTION_KEYS: `2025-06:${randomBytes(32).toString('base64')}`,
};

/**
 * Compose's interpolation of a whole value `${VAR}`, `${VAR:-default}` or `${VAR:?message}` from `variables`: an unset
 * or empty variable takes the default, or stops compose with the message.
 */
function interpolate(values: Record<string, string>, variables: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => {
      const reference = /^\$\{([A-Z_]+)(?::([-?])(.*))?\}$/.exec(value);
      if (!reference) return [key, value];
      const [, name, operator, argument] = reference;
      const set = variables[name!];
      if (set !== undefined && set !== '') return [key, set];
      if (operator === '?') throw new Error(`compose stops: ${argument}`);
      return [key, argument ?? ''];
    }),
  );
}

const withoutVariable = (name: string): Record<string, string> => Object.fromEntries(Object.entries(operatorEnvironment).filter(([key]) => key !== name));

describe('docker-compose.yml', () => {
  it('has the agreed services', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['mongodb', 'postgresql', 'temporal', 'temporal-ui', 'api', 'worker']));
    expect(service('mongodb').image).toMatch(/^mongo:/);
    expect(service('mongodb').command).toEqual(expect.arrayContaining(['--replSet']));
    expect(service('postgresql').image).toMatch(/^postgres:/);
    expect(service('temporal').image).toMatch(/^temporalio\/auto-setup:/);
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:/);
    expect(service('api').build).toBe('.');
    expect(service('worker').build).toBe('.');
  });

  it('runs the entry points the build produces', () => {
    const outDir = (JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string } }).compilerOptions;
    expect(outDir).toMatchObject({ outDir: 'dist', rootDir: 'src' });
    expect(service('api').command).toContain('dist/server.js');
    expect(service('worker').command).toContain('dist/worker.js');
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('RUN npm run build:engine');
    expect(dockerfile).toContain('dist/server.js');
  });

  it.each(['api', 'worker'])('gives %s only variables the code reads, and every one production requires', (name) => {
    const variables = Object.keys(env(name));
    expect(variables.filter((v) => !configVariableNames.includes(v))).toEqual([]);
    expect(productionRequiredVariables.filter((v) => !variables.includes(v))).toEqual([]);
    expect(encryptionKeyVariableNames.filter((v) => !variables.includes(v))).toEqual([]);
    // With the operator's secrets, the values pass the engine's own validation in production mode.
    const config = loadConfig(interpolate(env(name), operatorEnvironment));
    expect(config.env).toBe('production');
    expect(config.tokens.keyring.current.id).toBe('2025-06');
  });

  it('takes the single key of earlier deployments, and leaves neither key nor a missing secret unnoticed', () => {
    const singleKey = { ...withoutVariable('TOKEN_ENCRYPTION_KEYS'), TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    expect(loadConfig(interpolate(env('api'), singleKey)).tokens.keyring.current.id).toBe('k1');
    // Compose passes both key variables through (either may be set): the engine itself refuses to start with neither.
    expect(() => loadConfig(interpolate(env('worker'), withoutVariable('TOKEN_ENCRYPTION_KEYS')))).toThrow(/TOKEN_ENCRYPTION_KEYS: required when NODE_ENV=production/);
    expect(() => interpolate(env('api'), withoutVariable('OPERATOR_TOKEN'))).toThrow('compose stops: set OPERATOR_TOKEN');
  });

  it('publishes the API alone: MongoDB, Temporal and its UI stay on the compose network', () => {
    const published = Object.entries(services)
      .filter(([, definition]) => (definition.ports ?? []).length > 0 || definition.network_mode !== undefined)
      .map(([name, definition]) => [name, definition.ports, definition.network_mode]);
    expect(published).toEqual([['api', ['3000:3000'], undefined]]);
  });

  it('points the engine at the services by their names and ports', () => {
    const config = loadConfig(interpolate(env('api'), operatorEnvironment));
    const [temporalHost, temporalPort] = config.temporal.address.split(':');
    expect(services[temporalHost!]).toBeDefined();
    // The auto-setup image serves gRPC on 7233; its health check and the admin tools use the same address.
    expect(temporalPort).toBe('7233');
    expect(JSON.stringify(service('temporal').healthcheck)).toContain(config.temporal.address);
    expect(env('temporal-search-attributes').TEMPORAL_ADDRESS).toBe(config.temporal.address);
    const mongo = new URL(config.mongodb.uri);
    expect(services[mongo.hostname]).toBeDefined();
    expect(mongo.searchParams.get('replicaSet')).toBe('rs0');
    expect(service('mongodb').command).toContain('rs0');
    expect(env('temporal-ui').TEMPORAL_ADDRESS).toBe(config.temporal.address);
    expect(config.api.port).toBe(3000);
    // The engine's links to the UI lead where the documented loopback publication and SSH tunnel do.
    expect(config.temporal.uiUrl).toBe('http://localhost:8233');
    expect(composeText).toContain('ports: ["127.0.0.1:8233:8080"]');
    expect(composeText).toContain('ssh -L 8233:127.0.0.1:8233');
  });

  it('has the worker serve its metrics and the Temporal SDK export its own, on the compose network; the token optional', () => {
    const worker = loadConfig(interpolate(env('worker'), operatorEnvironment));
    expect(worker.metrics).toEqual({ token: null, worker: { host: '0.0.0.0', port: 9464 }, temporalBindAddress: '0.0.0.0:9465' });
    // The API serves /metrics on its own port; it has no worker port and installs no runtime.
    expect(loadConfig(interpolate(env('api'), operatorEnvironment)).metrics).toEqual({ token: null, worker: null, temporalBindAddress: null });
    const token = randomBytes(24).toString('base64url');
    expect(loadConfig(interpolate(env('api'), { ...operatorEnvironment, METRICS_TOKEN: token })).metrics.token).toBe(token);
  });

  it('declares every search attribute the workflows use', () => {
    const command = JSON.stringify(services['temporal-search-attributes']?.command);
    for (const key of customSearchAttributes) expect(command).toContain(key.name);
  });
});
