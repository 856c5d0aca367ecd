/**
 * Every setting of the Meta emulator, parsed once from the environment with zod; a bad value stops it with the
 * variable's name. The only emulator module that reads `process.env`. Besides its own EMULATOR_* variables it reads
 * the Meta app's id, secret and verify token under the names the engine uses, because both sides must agree on the
 * app that is registered with Meta; their local defaults are the demo app's.
 */
import { z } from 'zod';
import type { DemoSeedConfig } from './seed';
import type { WebhookSenderOptions } from './webhook-sender';

const tcpPort = z.coerce.number().int().min(1).max(65535);
const httpUrl = z.string().url();
const milliseconds = (minimum: number) => z.coerce.number().int().min(minimum);

const emulatorEnvironmentSchema = z.object({
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  EMULATOR_HOST: z.string().min(1).default('127.0.0.1'),
  EMULATOR_PORT: tcpPort.default(4010),
  EMULATOR_PUBLIC_URL: httpUrl.optional(),
  EMULATOR_SEED_DEMO: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('true')
    .transform((flag) => ['true', '1', 'yes'].includes(flag)),
  META_APP_ID: z.string().min(1).default('100000000000001'),
  META_APP_SECRET: z.string().min(8).default('emulator-app-secret'),
  META_WEBHOOK_VERIFY_TOKEN: z.string().min(8).default('emulator-verify-token'),
  EMULATOR_WEBHOOK_URL: httpUrl.default('http://127.0.0.1:3000/webhooks/instagram'),
  // The seeded app's Facebook Login callbacks: the engine's routes (META-API 4.3).
  EMULATOR_DEAUTHORIZE_URL: httpUrl.default('http://127.0.0.1:3000/meta/deauthorize'),
  EMULATOR_DATA_DELETION_URL: httpUrl.default('http://127.0.0.1:3000/meta/data-deletion'),
  // Meta wants an answer within 5 seconds and unsubscribes an app whose deliveries fail for an hour (META-API 1.7).
  EMULATOR_WEBHOOK_TIMEOUT_MS: milliseconds(100).default(5000),
  EMULATOR_WEBHOOK_RETRY_DELAYS_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'must be a comma-separated list of milliseconds')
    .default('1000,5000,15000,60000,300000')
    .transform((list) => list.split(',').map(Number)),
  EMULATOR_WEBHOOK_GIVE_UP_MS: milliseconds(0).default(60 * 60 * 1000),
});

export interface EmulatorConfig {
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  host: string;
  port: number;
  /** Where the emulator is reached from outside: the base of the CDN links it puts in webhooks. */
  publicUrl: string;
  seed: DemoSeedConfig;
  webhooks: Omit<WebhookSenderOptions, 'legacySha1'>;
}

export class EmulatorConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid emulator configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'EmulatorConfigError';
  }
}

export function loadEmulatorConfig(source: Record<string, string | undefined> = process.env): EmulatorConfig {
  // `FOO=` in a shell means "not set", so the default applies.
  const setValues = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = emulatorEnvironmentSchema.safeParse(setValues);
  if (!parsed.success) {
    throw new EmulatorConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const env = parsed.data;
  return {
    logLevel: env.LOG_LEVEL,
    host: env.EMULATOR_HOST,
    port: env.EMULATOR_PORT,
    publicUrl: (env.EMULATOR_PUBLIC_URL ?? `http://127.0.0.1:${env.EMULATOR_PORT}`).replace(/\/+$/, ''),
    seed: {
      appId: env.META_APP_ID,
      appSecret: env.META_APP_SECRET,
      verifyToken: env.META_WEBHOOK_VERIFY_TOKEN,
      webhookUrl: env.EMULATOR_WEBHOOK_URL,
      deauthorizeCallbackUrl: env.EMULATOR_DEAUTHORIZE_URL,
      dataDeletionCallbackUrl: env.EMULATOR_DATA_DELETION_URL,
      demo: env.EMULATOR_SEED_DEMO,
    },
    webhooks: {
      timeoutMs: env.EMULATOR_WEBHOOK_TIMEOUT_MS,
      retryDelaysMs: env.EMULATOR_WEBHOOK_RETRY_DELAYS_MS,
      giveUpAfterMs: env.EMULATOR_WEBHOOK_GIVE_UP_MS,
    },
  };
}

/** Every variable the emulator reads (for checks of deployment files and of the boundary with the engine). */
export const emulatorConfigVariableNames: readonly string[] = Object.keys(emulatorEnvironmentSchema.shape);
