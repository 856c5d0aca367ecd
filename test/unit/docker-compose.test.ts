/**
 * No Docker engine runs here, so the deployment files are checked as text: docker-compose.yml parses, has the
 * agreed services, and its ports and environment match what the code reads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { configVariableNames, loadConfig, productionRequiredVariables } from '../../src/config';
import { customSearchAttributes } from '../../src/temporal/names';

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[] | string;
  ports?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }> | string[];
}

const root = path.resolve(__dirname, '..', '..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;

function service(name: string): ComposeService {
  const found = services[name];
  if (!found) throw new Error(`service ${name} missing`);
  return found;
}

function env(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** `${VAR:-default}` → default, `${VAR:?msg}` → a placeholder value that satisfies the schema. */
function resolveInterpolation(values: Record<string, string>): Record<string, string> {
  const placeholders: Record<string, string> = { TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') };
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => {
      const withDefault = /^\$\{[A-Z_]+:-(.*)\}$/.exec(value);
      if (withDefault) return [key, withDefault[1]!];
      if (/^\$\{[A-Z_]+:\?.*\}$/.test(value)) return [key, placeholders[key] ?? `placeholder-${key.toLowerCase()}`];
      return [key, value];
    }),
  );
}

function publishedPort(name: string, containerPort: number): number | undefined {
  const mapping = service(name).ports?.find((p) => p.endsWith(`:${containerPort}`));
  return mapping === undefined ? undefined : Number(mapping.split(':')[0]);
}

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
    // The values pass the engine's own validation in production mode.
    expect(() => loadConfig(resolveInterpolation(env(name)))).not.toThrow();
  });

  it('points the engine at the services by their names and ports', () => {
    const config = loadConfig(resolveInterpolation(env('api')));
    const [temporalHost, temporalPort] = config.temporal.address.split(':');
    expect(services[temporalHost!]).toBeDefined();
    expect(publishedPort(temporalHost!, Number(temporalPort))).toBe(7233);
    const mongo = new URL(config.mongodb.uri);
    expect(services[mongo.hostname]).toBeDefined();
    expect(mongo.searchParams.get('replicaSet')).toBe('rs0');
    expect(service('mongodb').command).toContain('rs0');
    expect(env('temporal-ui').TEMPORAL_ADDRESS).toBe(config.temporal.address);
    expect(publishedPort('api', config.api.port)).toBe(3000);
    expect(publishedPort('temporal-ui', 8080)).toBe(8233);
    expect(config.temporal.uiUrl).toBe('http://localhost:8233');
  });

  it('declares every search attribute the workflows use', () => {
    const command = JSON.stringify(services['temporal-search-attributes']?.command);
    for (const key of customSearchAttributes) expect(command).toContain(key.name);
  });
});
