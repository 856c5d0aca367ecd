import { ConfigError, loadConfig, loadStackConfig } from '../../src/config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the local defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.api.port).toBe(3000);
    expect(config.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'instagram-dm', uiUrl: 'http://127.0.0.1:8233', maxConcurrentActivities: 32 });
    expect(config.meta.graphApiUrl).toBe('http://127.0.0.1:4010');
    expect(config.tokens.encryptionKey).toHaveLength(32);
    expect(config.tokens.reauthPeriodDays).toBe(60);
  });

  it('reads and converts what is set', () => {
    const config = loadConfig({ API_PORT: '8080', GRAPH_API_URL: 'https://graph.facebook.com/', GRAPH_API_VERSION: 'v24.0', REAUTH_PERIOD_DAYS: '90' });
    expect(config.api.port).toBe(8080);
    expect(config.meta.graphApiUrl).toBe('https://graph.facebook.com');
    expect(config.meta.graphApiVersion).toBe('v24.0');
    expect(config.tokens.reauthPeriodDays).toBe(90);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ API_PORT: '' }).api.port).toBe(3000);
  });

  it('fails naming each wrong variable', () => {
    const problems = problemsOf({ API_PORT: 'eighty', MONGODB_URI: 'postgres://x', GRAPH_API_VERSION: '25', REAUTH_PERIOD_DAYS: '120' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['API_PORT', 'GRAPH_API_VERSION', 'MONGODB_URI', 'REAUTH_PERIOD_DAYS']);
    expect(problems.find((p) => p.startsWith('MONGODB_URI'))).toContain('mongodb://');
  });

  it('refuses an encryption key that is not 32 bytes', () => {
    expect(problemsOf({ TOKEN_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') })).toEqual(['TOKEN_ENCRYPTION_KEY: must be 32 bytes encoded as base64']);
  });

  it('requires the secrets explicitly in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production', META_APP_ID: '123' });
    expect(problems).toEqual([
      'META_APP_SECRET: required when NODE_ENV=production',
      'META_WEBHOOK_VERIFY_TOKEN: required when NODE_ENV=production',
      'TOKEN_ENCRYPTION_KEY: required when NODE_ENV=production',
      'GRAPH_API_URL: required when NODE_ENV=production',
    ]);
  });

  it('refuses image URLs on private networks in production, allows them in development, and follows the setting', () => {
    const production = { NODE_ENV: 'production', META_APP_ID: '123', META_APP_SECRET: 'a-production-secret', META_WEBHOOK_VERIFY_TOKEN: 'a-verify-token', TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'), GRAPH_API_URL: 'https://graph.facebook.com' };
    expect(loadConfig(production).outbound.mediaFetchAllowPrivateNetwork).toBe(false);
    expect(loadConfig({}).outbound.mediaFetchAllowPrivateNetwork).toBe(true);
    expect(loadConfig({ ...production, MEDIA_FETCH_ALLOW_PRIVATE_NETWORK: 'true' }).outbound.mediaFetchAllowPrivateNetwork).toBe(true);
    expect(loadConfig({ MEDIA_FETCH_ALLOW_PRIVATE_NETWORK: 'no' }).outbound.mediaFetchAllowPrivateNetwork).toBe(false);
  });
});

describe('loadStackConfig', () => {
  it('starts both services when no address is given', () => {
    expect(loadStackConfig('/data', {})).toMatchObject({ startTemporal: true, startMongo: true, dataDir: '/data', temporalPort: 7233, temporalUiPort: 8233, ferretDbPort: 27017 });
  });

  it('starts nothing that is given by address', () => {
    const stack = loadStackConfig('/data', { TEMPORAL_ADDRESS: 'temporal:7233', MONGODB_URI: 'mongodb://db/x', DATA_DIR: '/elsewhere' });
    expect(stack).toMatchObject({ startTemporal: false, startMongo: false, dataDir: '/elsewhere' });
  });

  it('fails naming a wrong port', () => {
    expect(() => loadStackConfig('/data', { FERRETDB_PORT: '99999' })).toThrow(/FERRETDB_PORT/);
  });
});
