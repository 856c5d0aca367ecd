/** The emulator's own settings (emulator/config.ts), and the line between them and the engine's. */
import { configVariableNames } from '../../src/config';
import { emulatorConfigVariableNames, EmulatorConfigError, loadEmulatorConfig } from '../../emulator/config';

describe('loadEmulatorConfig', () => {
  it('gives the local defaults with an empty environment', () => {
    expect(loadEmulatorConfig({})).toEqual({
      logLevel: 'info',
      host: '127.0.0.1',
      port: 4010,
      publicUrl: 'http://127.0.0.1:4010',
      seed: {
        appId: '100000000000001',
        appSecret: 'emulator-app-secret',
        verifyToken: 'emulator-verify-token',
        webhookUrl: 'http://127.0.0.1:3000/webhooks/instagram',
        deauthorizeCallbackUrl: 'http://127.0.0.1:3000/meta/deauthorize',
        dataDeletionCallbackUrl: 'http://127.0.0.1:3000/meta/data-deletion',
        demo: true,
      },
      webhooks: { timeoutMs: 5000, retryDelaysMs: [1000, 5000, 15000, 60000, 300000], giveUpAfterMs: 3_600_000 },
    });
  });

  it('reads and converts what is set', () => {
    const config = loadEmulatorConfig({
      EMULATOR_PORT: '4999',
      EMULATOR_PUBLIC_URL: 'https://meta.example.test/',
      EMULATOR_SEED_DEMO: 'no',
      META_APP_ID: '42',
      META_APP_SECRET: 'a-longer-secret',
      EMULATOR_WEBHOOK_RETRY_DELAYS_MS: '10,20',
      EMULATOR_WEBHOOK_GIVE_UP_MS: '0',
    });
    expect(config.port).toBe(4999);
    expect(config.publicUrl).toBe('https://meta.example.test');
    expect(config.seed).toMatchObject({ appId: '42', appSecret: 'a-longer-secret', demo: false });
    expect(config.webhooks).toMatchObject({ retryDelaysMs: [10, 20], giveUpAfterMs: 0 });
  });

  it('derives its public URL from its port when none is set', () => {
    expect(loadEmulatorConfig({ EMULATOR_PORT: '4020' }).publicUrl).toBe('http://127.0.0.1:4020');
  });

  it('treats an empty value as unset', () => {
    expect(loadEmulatorConfig({ EMULATOR_PORT: '', EMULATOR_SEED_DEMO: '' })).toMatchObject({ port: 4010, seed: { demo: true } });
  });

  it('fails naming each wrong variable', () => {
    let thrown: unknown;
    try {
      loadEmulatorConfig({ EMULATOR_PORT: 'eighty', EMULATOR_WEBHOOK_URL: 'not a url', EMULATOR_WEBHOOK_RETRY_DELAYS_MS: '1s,2s', EMULATOR_SEED_DEMO: 'maybe' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EmulatorConfigError);
    const { problems } = thrown as EmulatorConfigError;
    expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual(['EMULATOR_PORT', 'EMULATOR_SEED_DEMO', 'EMULATOR_WEBHOOK_RETRY_DELAYS_MS', 'EMULATOR_WEBHOOK_URL']);
    expect(problems.find((problem) => problem.startsWith('EMULATOR_WEBHOOK_RETRY_DELAYS_MS'))).toContain('comma-separated list of milliseconds');
  });
});

describe('the emulator and the engine read their own variables', () => {
  it('leaves every EMULATOR_* variable to the emulator', () => {
    expect(configVariableNames.filter((name) => name.startsWith('EMULATOR_'))).toEqual([]);
    expect(emulatorConfigVariableNames.filter((name) => name.startsWith('EMULATOR_')).length).toBeGreaterThan(0);
  });

  it('shares only the log level and the Meta app they must agree on', () => {
    const shared = emulatorConfigVariableNames.filter((name) => configVariableNames.includes(name));
    expect(shared.sort()).toEqual(['LOG_LEVEL', 'META_APP_ID', 'META_APP_SECRET', 'META_WEBHOOK_VERIFY_TOKEN']);
  });
});
