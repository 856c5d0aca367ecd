/**
 * Every setting of the engine, parsed once from the environment with zod.
 * This is the only module that reads `process.env`; everything else receives a typed `AppConfig`.
 * A bad or missing value fails fast with the variable's name.
 */
import { z } from 'zod';
import { KEY_ID_PATTERN, type TokenKey, type TokenKeyring } from './security/token-cipher';
import { describeIssues } from './validation-issues';

const port = z.coerce.number().int().min(1).max(65535);
const url = z.string().url();
const boolFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** The Meta emulator's seeded app: local defaults, so a development engine and the emulator agree with no set-up. */
const EMULATOR_APP_SECRET = 'emulator-app-secret';
const EMULATOR_VERIFY_TOKEN = 'emulator-verify-token';
/** The single key of existing deployments (`TOKEN_ENCRYPTION_KEY`) seals under this id. */
export const SINGLE_KEY_ID = 'k1';

const base64Key = z
  .string()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64')
  .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes encoded as base64')
  .transform((value) => Buffer.from(value, 'base64'));

/** `id:base64key,id:base64key`: the first key is the current one (it seals), the others only open. */
const keyringList = z.string().transform((value, context): Required<TokenKeyring> => {
  const keys: TokenKey[] = [];
  for (const entry of value.split(',').map((part) => part.trim())) {
    const separator = entry.indexOf(':');
    const id = separator < 0 ? '' : entry.slice(0, separator);
    if (!KEY_ID_PATTERN.test(id)) {
      context.addIssue({ code: 'custom', message: `each entry must be <id>:<32 bytes base64>, the id of 1 to 32 letters, digits, '_', '.' or '-' (entry ${keys.length + 1})` });
      return z.NEVER;
    }
    const key = base64Key.safeParse(entry.slice(separator + 1));
    if (!key.success) {
      context.addIssue({ code: 'custom', message: `key "${id}" ${key.error.issues[0]?.message ?? 'is not valid'}` });
      return z.NEVER;
    }
    if (keys.some((known) => known.id === id)) {
      context.addIssue({ code: 'custom', message: `key id "${id}" appears twice` });
      return z.NEVER;
    }
    keys.push({ id, key: key.data });
  }
  const [current, ...previous] = keys;
  if (!current) {
    context.addIssue({ code: 'custom', message: 'must name at least one key' });
    return z.NEVER;
  }
  return { current, previous };
});

// Local defaults match the stack that `npm start` runs (and the emulator's seeded app); the only secrets with a
// default are the emulator's, which production refuses (see `productionSecretProblems` below).
const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),

  API_HOST: z.string().min(1).default('0.0.0.0'),
  API_PORT: port.default(3000),
  PUBLIC_BASE_URL: url.optional(),
  // A 1,000-entry batch of plain messages is about 400 KB; Meta's largest deliveries stay well under this.
  WEBHOOK_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  WEBHOOK_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(2000),
  // With nothing to sweep, rounds back off to this: each reads the pending events, a scan on the local database.
  WEBHOOK_SWEEP_IDLE_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  // Entries the ingress stores at once; a delivery past it is refused at once (503, Retry-After) rather than piled
  // onto a database that is already behind. One delivery always passes when nothing else is being stored.
  WEBHOOK_MAX_ENTRIES_IN_FLIGHT: z.coerce.number().int().min(1).default(2000),
  // A signal Temporal refuses (not: cannot be reached) is tried this many times, backing off from the delay and
  // doubling up to the longest one; then its events are parked with the reason instead of retried for ever.
  WEBHOOK_DISPATCH_REFUSAL_ATTEMPTS: z.coerce.number().int().min(1).default(8),
  WEBHOOK_DISPATCH_REFUSAL_DELAY_MS: z.coerce.number().int().min(10).default(5_000),
  WEBHOOK_DISPATCH_REFUSAL_MAX_DELAY_MS: z.coerce.number().int().min(10).default(5 * 60_000),
  // A customer's message to an open conversation is recorded by the API itself, without a signal to the
  // conversation's workflow (src/inbound/message-projector.ts); false sends every event through the workflow.
  WEBHOOK_RECORD_OPEN_CONVERSATIONS: boolFlag.default(true),
  // A customer's profile is fetched on the first message of each conversation and when older than this (B10).
  PROFILE_STALE_AFTER_SECONDS: z.coerce.number().int().min(0).default(600),
  // How long a reply request may wait: for the conversation to take it, and for its outcome with `?wait=sent`.
  SEND_WAIT_LIMIT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  // Fetching an image a manager links to: bounded in time (the size bound is Instagram's 8 MB).
  MEDIA_FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  // Image URLs on loopback or private networks: allowed in development and tests (local servers), refused
  // otherwise, so the send API cannot be used to reach the engine's own network.
  MEDIA_FETCH_ALLOW_PRIVATE_NETWORK: boolFlag.optional(),
  // Opens the admin routes (creating channels) and the diagnostics to an operator (`Authorization: Bearer <token>`);
  // unset (development only): no admin routes, and managers' keys only for the diagnostics.
  OPERATOR_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('instagram-dm'),
  TEMPORAL_UI_URL: url.default('http://127.0.0.1:8233'),
  // Activities mostly wait on the database: more in flight than it can serve only lengthens each one.
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(1000).default(32),
  // Workflows kept in the worker's memory between their tasks (about 0.3-0.5 MB each); the others are replayed from
  // their history when their next task comes. Bounded so the worker's memory does not grow with the open
  // conversations and accounts (the SDK would size it from the heap limit: over 2,000 with a 4 GB heap).
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(1000),

  // Prometheus. The API serves /metrics on its own port. The worker serves nothing unless given a port: every
  // replica (and every test worker) would otherwise compete for one address.
  WORKER_METRICS_PORT: port.optional(),
  WORKER_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  // The Temporal SDK's own metrics (task slots, poll and schedule latencies), exported by its native runtime. Set,
  // the worker installs that runtime once at start; unset, the SDK's default runtime runs, exporting nothing.
  TEMPORAL_METRICS_BIND_ADDRESS: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be <host>:<port>, e.g. 0.0.0.0:9465 or [::]:9465').optional(),
  // The API's port faces the internet (Meta must reach the webhook): with a token set, a scrape must carry it.
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),

  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI').default('mongodb://127.0.0.1:27017/instagram_dm'),

  GRAPH_API_URL: url.default('http://127.0.0.1:4010'),
  GRAPH_API_VERSION: z.string().regex(/^v\d+\.\d+$/, 'must look like v25.0').default('v25.0'),
  GRAPH_API_TIMEOUT_MS: z.coerce.number().int().min(100).default(10000),
  META_LOGIN_DIALOG_URL: url.default('http://127.0.0.1:4010/dialog/oauth'),
  META_APP_ID: z.string().min(1).default('100000000000001'),
  META_APP_SECRET: z.string().min(8).default(EMULATOR_APP_SECRET),
  META_WEBHOOK_VERIFY_TOKEN: z.string().min(8).default(EMULATOR_VERIFY_TOKEN),

  // AES-256-GCM keys for tokens at rest: a keyring (`id:base64,...`, first = current), or one key (id `k1`).
  TOKEN_ENCRYPTION_KEYS: keyringList.optional(),
  TOKEN_ENCRYPTION_KEY: base64Key.optional(),
  REAUTH_PERIOD_DAYS: z.coerce.number().int().min(1).max(90).default(60),
});

/** Settings that have a local default (or none) but must be set explicitly when NODE_ENV=production. */
const productionRequired = ['META_APP_ID', 'META_APP_SECRET', 'META_WEBHOOK_VERIFY_TOKEN', 'OPERATOR_TOKEN', 'GRAPH_API_URL'] as const;
/** Production needs one of these two (the keyring, or the single key of deployments made before the keyring). */
const encryptionKeyVariables = ['TOKEN_ENCRYPTION_KEYS', 'TOKEN_ENCRYPTION_KEY'] as const;

/**
 * Values this code (or its earlier versions) uses for local development: public, so never secrets. Production
 * refuses them even when typed in explicitly.
 */
const developmentSecretValues: Partial<Record<(typeof productionRequired)[number], readonly string[]>> = {
  META_APP_SECRET: [EMULATOR_APP_SECRET],
  META_WEBHOOK_VERIFY_TOKEN: [EMULATOR_VERIFY_TOKEN],
};

/**
 * A key whose 32 bytes are all the same: the former built-in development key (32 × 0x07) and its kin (all zeros,
 * `Buffer.alloc(32, n)`), which anyone can guess.
 */
function isGuessableKey(key: Buffer): boolean {
  return key.every((byte) => byte === key[0]);
}

export type Environment = Record<string, string | undefined>;

export interface AppConfig {
  env: 'development' | 'test' | 'production';
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  api: { host: string; port: number; publicBaseUrl: string; webhookMaxBodyBytes: number; operatorToken: string | null };
  outbound: { waitLimitMs: number; mediaFetchTimeoutMs: number; mediaFetchAllowPrivateNetwork: boolean };
  inbound: {
    sweepIntervalMs: number;
    sweepIdleIntervalMs: number;
    /** Entries being stored at once before deliveries are refused with 503 and Retry-After. */
    maxEntriesInFlight: number;
    /** A signal Temporal refuses: tries and back-off before its events are parked. */
    refusalRetry: { attempts: number; baseDelayMs: number; maxDelayMs: number };
    profileStaleAfterMs: number;
    /** A customer's message to an open conversation is recorded by the API, without its workflow. */
    recordOpenConversations: boolean;
  };
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string; maxConcurrentActivities: number; maxCachedWorkflows: number };
  metrics: {
    /** `Authorization: Bearer <token>` required on every /metrics when set. */
    token: string | null;
    /** Null: the worker serves no /metrics. */
    worker: { host: string; port: number } | null;
    /** Null: the Temporal SDK's metrics are not exported. */
    temporalBindAddress: string | null;
  };
  mongodb: { uri: string };
  meta: {
    graphApiUrl: string;
    graphApiVersion: string;
    graphApiTimeoutMs: number;
    loginDialogUrl: string;
    appId: string;
    appSecret: string;
    webhookVerifyToken: string;
  };
  tokens: { keyring: Required<TokenKeyring>; reauthPeriodDays: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Treats empty strings as unset, so `FOO=` in a shell falls back to the default. */
function withoutEmptyValues(source: Environment): Environment {
  return Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
}

export function loadConfig(source: Environment = process.env): AppConfig {
  const raw = withoutEmptyValues(source);
  const parsed = environmentSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(describeIssues(parsed.error.issues));
  }
  const e = parsed.data;
  const problems = [...(e.NODE_ENV === 'production' ? productionSecretProblems(raw, e) : []), ...keyringProblems(e)];
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      publicBaseUrl: e.PUBLIC_BASE_URL ?? `http://127.0.0.1:${e.API_PORT}`,
      webhookMaxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES,
      operatorToken: e.OPERATOR_TOKEN ?? null,
    },
    inbound: {
      sweepIntervalMs: e.WEBHOOK_SWEEP_INTERVAL_MS,
      sweepIdleIntervalMs: e.WEBHOOK_SWEEP_IDLE_INTERVAL_MS,
      maxEntriesInFlight: e.WEBHOOK_MAX_ENTRIES_IN_FLIGHT,
      refusalRetry: { attempts: e.WEBHOOK_DISPATCH_REFUSAL_ATTEMPTS, baseDelayMs: e.WEBHOOK_DISPATCH_REFUSAL_DELAY_MS, maxDelayMs: e.WEBHOOK_DISPATCH_REFUSAL_MAX_DELAY_MS },
      profileStaleAfterMs: e.PROFILE_STALE_AFTER_SECONDS * 1000,
      recordOpenConversations: e.WEBHOOK_RECORD_OPEN_CONVERSATIONS,
    },
    outbound: {
      waitLimitMs: e.SEND_WAIT_LIMIT_MS,
      mediaFetchTimeoutMs: e.MEDIA_FETCH_TIMEOUT_MS,
      mediaFetchAllowPrivateNetwork: e.MEDIA_FETCH_ALLOW_PRIVATE_NETWORK ?? e.NODE_ENV !== 'production',
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL,
      maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    },
    metrics: {
      token: e.METRICS_TOKEN ?? null,
      worker: e.WORKER_METRICS_PORT === undefined ? null : { host: e.WORKER_METRICS_HOST, port: e.WORKER_METRICS_PORT },
      temporalBindAddress: e.TEMPORAL_METRICS_BIND_ADDRESS ?? null,
    },
    mongodb: { uri: e.MONGODB_URI },
    meta: {
      graphApiUrl: e.GRAPH_API_URL.replace(/\/+$/, ''),
      graphApiVersion: e.GRAPH_API_VERSION,
      graphApiTimeoutMs: e.GRAPH_API_TIMEOUT_MS,
      loginDialogUrl: e.META_LOGIN_DIALOG_URL,
      appId: e.META_APP_ID,
      appSecret: e.META_APP_SECRET,
      webhookVerifyToken: e.META_WEBHOOK_VERIFY_TOKEN,
    },
    tokens: { keyring: configuredKeyring(e), reauthPeriodDays: e.REAUTH_PERIOD_DAYS },
  };
}

type ParsedEnvironment = z.infer<typeof environmentSchema>;

/** Exactly one source of keys. There is no built-in key, not even for development: it would be public. */
function keyringProblems(e: ParsedEnvironment): string[] {
  if (e.TOKEN_ENCRYPTION_KEYS && e.TOKEN_ENCRYPTION_KEY) {
    return ['TOKEN_ENCRYPTION_KEYS: set it or TOKEN_ENCRYPTION_KEY, not both (the single key goes into the keyring as k1:<key>)'];
  }
  if (e.TOKEN_ENCRYPTION_KEYS || e.TOKEN_ENCRYPTION_KEY) return [];
  const how = e.NODE_ENV === 'production' ? 'required when NODE_ENV=production' : 'required (`npm start` makes a local keyring in .data/token-encryption-keys)';
  return [`TOKEN_ENCRYPTION_KEYS: ${how}: <id>:<32 bytes base64>[,<older id>:<older key>...], or the single TOKEN_ENCRYPTION_KEY`];
}

function configuredKeyring(e: ParsedEnvironment): Required<TokenKeyring> {
  if (e.TOKEN_ENCRYPTION_KEYS) return e.TOKEN_ENCRYPTION_KEYS;
  if (e.TOKEN_ENCRYPTION_KEY) return { current: { id: SINGLE_KEY_ID, key: e.TOKEN_ENCRYPTION_KEY }, previous: [] };
  throw new ConfigError(keyringProblems(e));
}

/** Production starts only with secrets of its own: each one set, and none of them a known development value. */
function productionSecretProblems(raw: Environment, e: ParsedEnvironment): string[] {
  const problems: string[] = [];
  for (const name of productionRequired) {
    const value = raw[name];
    if (value === undefined) problems.push(`${name}: required when NODE_ENV=production`);
    else if (developmentSecretValues[name]?.includes(value)) problems.push(`${name}: is a development value of this code, not a secret: set your own when NODE_ENV=production`);
  }
  const guessableKeys = (variable: string, keys: readonly TokenKey[]): string[] =>
    keys
      .filter(({ key }) => isGuessableKey(key))
      .map(({ id }) => `${variable}: key "${id}" is a development key (all its bytes are equal), not a secret: make one with \`openssl rand -base64 32\``);
  if (e.TOKEN_ENCRYPTION_KEYS) problems.push(...guessableKeys('TOKEN_ENCRYPTION_KEYS', [e.TOKEN_ENCRYPTION_KEYS.current, ...e.TOKEN_ENCRYPTION_KEYS.previous]));
  if (e.TOKEN_ENCRYPTION_KEY) problems.push(...guessableKeys('TOKEN_ENCRYPTION_KEY', [{ id: SINGLE_KEY_ID, key: e.TOKEN_ENCRYPTION_KEY }]));
  return problems;
}

/**
 * What the local stack launcher (`npm start`, the test harness) needs: which services to start itself.
 * `TEMPORAL_ADDRESS` / `MONGODB_URI` set means "use that, start nothing".
 */
export interface StackConfig {
  startTemporal: boolean;
  startMongo: boolean;
  /** No GRAPH_API_URL set: the engine uses the local Meta emulator, which the launcher starts. */
  startEmulator: boolean;
  /** Where the local services keep their state (git-ignored). */
  dataDir: string;
  temporalPort: number;
  temporalUiPort: number;
  /** The local database's port (mongo-java-server on H2). */
  mongoPort: number;
}

const stackSchema = z.object({
  DATA_DIR: z.string().min(1).optional(),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  MONGO_PORT: port.default(27017),
});

export function loadStackConfig(defaultDataDir: string, source: Environment = process.env): StackConfig {
  const raw = withoutEmptyValues(source);
  const parsed = stackSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(describeIssues(parsed.error.issues));
  }
  const e = parsed.data;
  return {
    startTemporal: raw.TEMPORAL_ADDRESS === undefined,
    startMongo: raw.MONGODB_URI === undefined,
    startEmulator: raw.GRAPH_API_URL === undefined,
    dataDir: e.DATA_DIR ?? defaultDataDir,
    temporalPort: e.TEMPORAL_PORT,
    temporalUiPort: e.TEMPORAL_UI_PORT,
    mongoPort: e.MONGO_PORT,
  };
}

/** Every variable the engine and the local launcher read (for checks of deployment files). */
export const configVariableNames: readonly string[] = [...Object.keys(environmentSchema.shape), ...Object.keys(stackSchema.shape), 'TEMPORAL_ADDRESS', 'MONGODB_URI'];
/** Set explicitly in production, each of them. */
export const productionRequiredVariables: readonly string[] = productionRequired;
/** Production needs one of these: the keyring, or the single key. */
export const encryptionKeyVariableNames: readonly string[] = encryptionKeyVariables;
