import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig, loadStackConfig } from '../../src/config';

const newKey = (): string => randomBytes(32).toString('base64');
/** What `npm start` hands the engine in development: a local keyring (the code has no key of its own). */
const LOCAL_KEYS = { TOKEN_ENCRYPTION_KEYS: `local-1:${newKey()}` };
/** A production environment with secrets of its own. */
const PRODUCTION = {
  NODE_ENV: 'production',
  META_APP_ID: '123',
  META_APP_SECRET: 'a-production-secret',
  META_WEBHOOK_VERIFY_TOKEN: 'a-verify-token',
  OPERATOR_TOKEN: 'an-operator-token-of-production',
  TOKEN_ENCRYPTION_KEYS: `2025-06:${newKey()}`,
  GRAPH_API_URL: 'https://graph.facebook.com',
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the local defaults with an environment that sets only the local keyring', () => {
    const config = loadConfig(LOCAL_KEYS);
    expect(config.env).toBe('development');
    expect(config.api.port).toBe(3000);
    expect(config.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'instagram-dm', uiUrl: 'http://127.0.0.1:8233', maxConcurrentActivities: 32, maxCachedWorkflows: 1000 });
    expect(config.meta.graphApiUrl).toBe('http://127.0.0.1:4010');
    expect(config.meta).toMatchObject({ appSecret: 'emulator-app-secret', webhookVerifyToken: 'emulator-verify-token' });
    expect(config.tokens.keyring.current.id).toBe('local-1');
    expect(config.tokens.reauthPeriodDays).toBe(60);
  });

  it('reads and converts what is set', () => {
    const config = loadConfig({ ...LOCAL_KEYS, API_PORT: '8080', GRAPH_API_URL: 'https://graph.facebook.com/', GRAPH_API_VERSION: 'v24.0', REAUTH_PERIOD_DAYS: '90' });
    expect(config.api.port).toBe(8080);
    expect(config.meta.graphApiUrl).toBe('https://graph.facebook.com');
    expect(config.meta.graphApiVersion).toBe('v24.0');
    expect(config.tokens.reauthPeriodDays).toBe(90);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ ...LOCAL_KEYS, API_PORT: '' }).api.port).toBe(3000);
  });

  it('fails naming each wrong variable', () => {
    const problems = problemsOf({ ...LOCAL_KEYS, API_PORT: 'eighty', MONGODB_URI: 'postgres://x', GRAPH_API_VERSION: '25', REAUTH_PERIOD_DAYS: '120' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['API_PORT', 'GRAPH_API_VERSION', 'MONGODB_URI', 'REAUTH_PERIOD_DAYS']);
    expect(problems.find((p) => p.startsWith('MONGODB_URI'))).toContain('mongodb://');
  });

  it('serves no worker metrics and exports no Temporal SDK metrics unless told, and opens /metrics without a token', () => {
    expect(loadConfig(LOCAL_KEYS).metrics).toEqual({ token: null, worker: null, temporalBindAddress: null });
    const config = loadConfig({ ...LOCAL_KEYS, WORKER_METRICS_PORT: '9464', TEMPORAL_METRICS_BIND_ADDRESS: '[::]:9465', METRICS_TOKEN: 'a-scrape-token-of-16+' });
    expect(config.metrics).toEqual({ token: 'a-scrape-token-of-16+', worker: { host: '0.0.0.0', port: 9464 }, temporalBindAddress: '[::]:9465' });
    expect(loadConfig({ ...LOCAL_KEYS, WORKER_METRICS_PORT: '9464', WORKER_METRICS_HOST: '127.0.0.1' }).metrics.worker).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ ...LOCAL_KEYS, TEMPORAL_METRICS_BIND_ADDRESS: '0.0.0.0:9465' }).metrics.temporalBindAddress).toBe('0.0.0.0:9465');
  });

  it('names a wrong metrics setting', () => {
    const problems = problemsOf({ ...LOCAL_KEYS, WORKER_METRICS_PORT: '70000', TEMPORAL_METRICS_BIND_ADDRESS: '9465', METRICS_TOKEN: 'short' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['METRICS_TOKEN', 'TEMPORAL_METRICS_BIND_ADDRESS', 'WORKER_METRICS_PORT']);
    expect(problems.find((p) => p.startsWith('TEMPORAL_METRICS_BIND_ADDRESS'))).toContain('<host>:<port>');
  });

  it('refuses image URLs on private networks in production, allows them in development, and follows the setting', () => {
    expect(loadConfig(PRODUCTION).outbound.mediaFetchAllowPrivateNetwork).toBe(false);
    expect(loadConfig(LOCAL_KEYS).outbound.mediaFetchAllowPrivateNetwork).toBe(true);
    expect(loadConfig({ ...PRODUCTION, MEDIA_FETCH_ALLOW_PRIVATE_NETWORK: 'true' }).outbound.mediaFetchAllowPrivateNetwork).toBe(true);
    expect(loadConfig({ ...LOCAL_KEYS, MEDIA_FETCH_ALLOW_PRIVATE_NETWORK: 'no' }).outbound.mediaFetchAllowPrivateNetwork).toBe(false);
  });
});

describe('token encryption keys', () => {
  it('reads a keyring: the first key seals, the others only open', () => {
    const [current, older, oldest] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const { keyring } = loadConfig({ TOKEN_ENCRYPTION_KEYS: `k3:${current.toString('base64')}, k2:${older.toString('base64')},k1:${oldest.toString('base64')}` }).tokens;
    expect(keyring.current).toEqual({ id: 'k3', key: current });
    expect(keyring.previous).toEqual([
      { id: 'k2', key: older },
      { id: 'k1', key: oldest },
    ]);
  });

  it('still takes the single TOKEN_ENCRYPTION_KEY of existing deployments, as key k1', () => {
    const key = randomBytes(32);
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: key.toString('base64') }).tokens.keyring).toEqual({ current: { id: 'k1', key }, previous: [] });
  });

  it('has no built-in key, not even for development', () => {
    expect(problemsOf({})).toEqual([
      'TOKEN_ENCRYPTION_KEYS: required (`npm start` makes a local keyring in .data/token-encryption-keys): <id>:<32 bytes base64>[,<older id>:<older key>...], or the single TOKEN_ENCRYPTION_KEY',
    ]);
  });

  it('refuses keys that are not 32 bytes of base64, malformed entries, an id given twice, and both variables at once', () => {
    expect(problemsOf({ TOKEN_ENCRYPTION_KEY: randomBytes(16).toString('base64') })).toEqual(['TOKEN_ENCRYPTION_KEY: must be 32 bytes encoded as base64']);
    expect(problemsOf({ TOKEN_ENCRYPTION_KEYS: `k2:${randomBytes(31).toString('base64')}` })).toEqual(['TOKEN_ENCRYPTION_KEYS: key "k2" must be 32 bytes encoded as base64']);
    expect(problemsOf({ TOKEN_ENCRYPTION_KEYS: `k2:${newKey().replace(/.$/, '!')}` })).toEqual(['TOKEN_ENCRYPTION_KEYS: key "k2" must be base64']);
    expect(problemsOf({ TOKEN_ENCRYPTION_KEYS: newKey() })[0]).toMatch(/^TOKEN_ENCRYPTION_KEYS: each entry must be <id>:<32 bytes base64>/);
    expect(problemsOf({ TOKEN_ENCRYPTION_KEYS: `k2:${newKey()},` })[0]).toMatch(/^TOKEN_ENCRYPTION_KEYS: each entry must be .*\(entry 2\)$/);
    expect(problemsOf({ TOKEN_ENCRYPTION_KEYS: `k2:${newKey()},k2:${newKey()}` })).toEqual(['TOKEN_ENCRYPTION_KEYS: key id "k2" appears twice']);
    expect(problemsOf({ TOKEN_ENCRYPTION_KEYS: `k2:${newKey()}`, TOKEN_ENCRYPTION_KEY: newKey() })).toEqual([
      'TOKEN_ENCRYPTION_KEYS: set it or TOKEN_ENCRYPTION_KEY, not both (the single key goes into the keyring as k1:<key>)',
    ]);
  });
});

describe('secrets in production', () => {
  it('starts with secrets of its own', () => {
    const config = loadConfig(PRODUCTION);
    expect(config.env).toBe('production');
    expect(config.api.operatorToken).toBe(PRODUCTION.OPERATOR_TOKEN);
    expect(config.tokens.keyring.current.id).toBe('2025-06');
    expect(loadConfig({ ...PRODUCTION, TOKEN_ENCRYPTION_KEYS: undefined, TOKEN_ENCRYPTION_KEY: newKey() }).tokens.keyring.current.id).toBe('k1');
  });

  it('requires every secret explicitly, naming each missing variable', () => {
    expect(problemsOf({ NODE_ENV: 'production', META_APP_ID: '123' })).toEqual([
      'META_APP_SECRET: required when NODE_ENV=production',
      'META_WEBHOOK_VERIFY_TOKEN: required when NODE_ENV=production',
      'OPERATOR_TOKEN: required when NODE_ENV=production',
      'GRAPH_API_URL: required when NODE_ENV=production',
      'TOKEN_ENCRYPTION_KEYS: required when NODE_ENV=production: <id>:<32 bytes base64>[,<older id>:<older key>...], or the single TOKEN_ENCRYPTION_KEY',
    ]);
  });

  it.each(['META_APP_SECRET', 'META_WEBHOOK_VERIFY_TOKEN', 'OPERATOR_TOKEN'] as const)('refuses to start without %s', (name) => {
    expect(problemsOf({ ...PRODUCTION, [name]: '' })).toEqual([`${name}: required when NODE_ENV=production`]);
  });

  it('refuses the development values of the code, typed in explicitly', () => {
    expect(problemsOf({ ...PRODUCTION, META_APP_SECRET: 'emulator-app-secret', META_WEBHOOK_VERIFY_TOKEN: 'emulator-verify-token' })).toEqual([
      'META_APP_SECRET: is a development value of this code, not a secret: set your own when NODE_ENV=production',
      'META_WEBHOOK_VERIFY_TOKEN: is a development value of this code, not a secret: set your own when NODE_ENV=production',
    ]);
  });

  it('refuses the former built-in development key (32 bytes of 0x07) and keys like it, current or previous', () => {
    const formerDevelopmentKey = Buffer.alloc(32, 7).toString('base64');
    expect(problemsOf({ ...PRODUCTION, TOKEN_ENCRYPTION_KEYS: undefined, TOKEN_ENCRYPTION_KEY: formerDevelopmentKey })).toEqual([
      'TOKEN_ENCRYPTION_KEY: key "k1" is a development key (all its bytes are equal), not a secret: make one with `openssl rand -base64 32`',
    ]);
    expect(problemsOf({ ...PRODUCTION, TOKEN_ENCRYPTION_KEYS: `k2:${newKey()},k1:${Buffer.alloc(32, 0).toString('base64')}` })).toEqual([
      'TOKEN_ENCRYPTION_KEYS: key "k1" is a development key (all its bytes are equal), not a secret: make one with `openssl rand -base64 32`',
    ]);
  });

  it('says all of it in the message the entry points print', () => {
    expect(() => loadConfig({ ...PRODUCTION, OPERATOR_TOKEN: undefined, META_APP_SECRET: 'emulator-app-secret' })).toThrow(
      'Invalid configuration:\n  META_APP_SECRET: is a development value of this code, not a secret: set your own when NODE_ENV=production\n  OPERATOR_TOKEN: required when NODE_ENV=production',
    );
  });
});

describe('loadStackConfig', () => {
  it('starts both services when no address is given', () => {
    expect(loadStackConfig('/data', {})).toMatchObject({ startTemporal: true, startMongo: true, dataDir: '/data', temporalPort: 7233, temporalUiPort: 8233, mongoPort: 27017 });
  });

  it('starts nothing that is given by address', () => {
    const stack = loadStackConfig('/data', { TEMPORAL_ADDRESS: 'temporal:7233', MONGODB_URI: 'mongodb://db/x', DATA_DIR: '/elsewhere' });
    expect(stack).toMatchObject({ startTemporal: false, startMongo: false, dataDir: '/elsewhere' });
  });

  it('fails naming a wrong port', () => {
    expect(() => loadStackConfig('/data', { MONGO_PORT: '99999' })).toThrow(/MONGO_PORT/);
  });
});
