/**
 * Hub settings: SPEC "Running" plus the limits the hub enforces. Read once at start from the
 * environment and validated, so a bad value stops the hub with a message naming the variable instead
 * of surfacing later as odd behaviour.
 */
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const positiveInt = z.coerce.number().int().positive();
const booleanText = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');
const nonNegativeInt = z.coerce.number().int().min(0);
const originList = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const origins = text
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o.length > 0);
    for (const origin of origins) {
      if (!URL.canParse(origin) || new URL(origin).origin !== origin.toLowerCase()) {
        ctx.addIssue({
          code: 'custom',
          message: `expected origins like https://ops.example.com, got ${origin}`,
        });
        return z.NEVER;
      }
    }
    return origins;
  });

/** Each key, the environment variable it comes from, and its schema (with the default). */
const settings = {
  host: { env: 'EDGEWIRE_HOST', schema: z.string().min(1).default('127.0.0.1') },
  port: { env: 'EDGEWIRE_PORT', schema: z.coerce.number().int().min(0).max(65535).default(8080) },
  /** `undefined` (only through `startHub` overrides) keeps the embedded database in memory. */
  dataDir: { env: 'EDGEWIRE_DATA_DIR', schema: z.string().min(1).optional().default('./.edgewire') },
  databaseUrl: { env: 'DATABASE_URL', schema: z.string().url().optional() },
  redisUrl: { env: 'REDIS_URL', schema: z.string().url().optional() },
  /** Prefix of the Redis channels, so that several clusters (or test runs) can share one Redis. */
  redisPrefix: { env: 'EDGEWIRE_REDIS_PREFIX', schema: z.string().min(1).default('edgewire') },
  heartbeatSec: { env: 'EDGEWIRE_HEARTBEAT_SEC', schema: z.coerce.number().positive().max(3600).default(20) },
  maxFrameBytes: { env: 'EDGEWIRE_MAX_FRAME_BYTES', schema: positiveInt.min(1024).default(65536) },
  logLevel: { env: 'EDGEWIRE_LOG_LEVEL', schema: z.enum(LOG_LEVELS).default('info') },
  /** Sustained `pub`/`telemetry` frames per second one connection may send. */
  publishRate: { env: 'EDGEWIRE_PUBLISH_RATE', schema: positiveInt.default(1000) },
  /** Frames a connection may send in a burst above `publishRate`. */
  publishBurst: { env: 'EDGEWIRE_PUBLISH_BURST', schema: positiveInt.default(2000) },
  /** Rate-limited frames in a row after which the connection is closed with 4008. */
  publishStrikes: { env: 'EDGEWIRE_PUBLISH_STRIKES', schema: positiveInt.default(100) },
  /** Outbound bytes queued on one socket beyond which further messages are dropped. */
  maxQueuedBytes: { env: 'EDGEWIRE_MAX_QUEUED_BYTES', schema: positiveInt.default(4 * 1024 * 1024) },
  /** How long a socket may stay over `maxQueuedBytes` before it is closed with 4008. */
  slowConsumerGraceMs: { env: 'EDGEWIRE_SLOW_CONSUMER_GRACE_MS', schema: nonNegativeInt.default(5000) },
  /** WebSocket handshakes per second accepted from one address (burst: 5 s worth). */
  handshakeRatePerAddress: { env: 'EDGEWIRE_HANDSHAKE_RATE', schema: positiveInt.default(50) },
  /** Connections of one device within a minute before it is told to back off (flapping). */
  deviceConnectsPerMinute: { env: 'EDGEWIRE_DEVICE_CONNECTS_PER_MINUTE', schema: positiveInt.default(15) },
  /** How long a looked-up token is trusted without asking the database again; revocation clears it. */
  tokenCacheMs: { env: 'EDGEWIRE_TOKEN_CACHE_MS', schema: nonNegativeInt.default(5000) },
  /** Memory the storage writer's queue may hold; beyond it devices are told to slow down (rate_limited). */
  storageQueueBytes: { env: 'EDGEWIRE_STORAGE_QUEUE_BYTES', schema: positiveInt.default(64 * 1024 * 1024) },
  /** A storage statement starts as soon as this many readings are queued. */
  storageBatchReadings: {
    env: 'EDGEWIRE_STORAGE_BATCH_READINGS',
    schema: positiveInt.max(100_000).default(5000),
  },
  /** Longest a reading waits for company before its statement starts, in ms. */
  storageBatchDelayMs: {
    env: 'EDGEWIRE_STORAGE_BATCH_DELAY_MS',
    schema: positiveInt.max(10_000).default(20),
  },
  /** permessage-deflate costs CPU and memory per socket; off unless asked for. */
  perMessageDeflate: { env: 'EDGEWIRE_PERMESSAGE_DEFLATE', schema: booleanText },
  /**
   * Behind the TLS reverse proxy every client has the proxy's address; trusting its X-Forwarded-For
   * restores per-client handshake limits. Only enable it when the hub is reachable through the proxy alone.
   */
  trustProxy: { env: 'EDGEWIRE_TRUST_PROXY', schema: booleanText },
  /** The operators' web app (built assets) served at `/`; by default the monorepo's apps/dashboard/dist. */
  dashboardDir: { env: 'EDGEWIRE_DASHBOARD_DIR', schema: z.string().min(1).optional() },
  /** Origins besides the hub's own whose pages may use the operator cookie (comma-separated). */
  allowedOrigins: { env: 'EDGEWIRE_ALLOWED_ORIGINS', schema: originList },
  /** The hub sits behind TLS (a proxy) even if no `X-Forwarded-Proto` says so: cookies get `Secure`. */
  behindTls: { env: 'EDGEWIRE_BEHIND_TLS', schema: booleanText },
  /** An operator session unused for this long ends. */
  sessionIdleSec: { env: 'EDGEWIRE_SESSION_IDLE_SEC', schema: positiveInt.default(30 * 60) },
  /** An operator session ends this long after sign-in, whatever the activity. */
  sessionMaxSec: { env: 'EDGEWIRE_SESSION_MAX_SEC', schema: positiveInt.default(12 * 3600) },
  /** Wrong passwords for one name before 429 (an address gets three times as many). */
  signInMaxFailures: { env: 'EDGEWIRE_SIGNIN_MAX_FAILURES', schema: positiveInt.default(10) },
  /** How long a name or address stays locked out after its last failure. */
  signInLockoutSec: { env: 'EDGEWIRE_SIGNIN_LOCKOUT_SEC', schema: positiveInt.default(15 * 60) },
  /** scrypt cost as log2(N): 17 is OWASP's recommendation (128 MiB per hash); lower only for tests. */
  passwordScryptLog2N: {
    env: 'EDGEWIRE_PASSWORD_SCRYPT_LOG2N',
    schema: z.coerce.number().int().min(14).max(20).default(17),
  },
} as const;

type Settings = typeof settings;
export type HubConfig = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Builds the configuration from the environment, then `overrides` (already typed values, e.g. from
 * tests). Throws `ConfigError` naming the first bad variable.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<HubConfig> = {},
): HubConfig {
  const config: Record<string, unknown> = {};
  for (const [key, { env: name, schema }] of Object.entries(settings)) {
    if (Object.hasOwn(overrides, key)) {
      // Overrides come typed from code (tests, embedding programs), not from text.
      config[key] = (overrides as Record<string, unknown>)[key];
      continue;
    }
    const text = env[name];
    const result = (schema as z.ZodType).safeParse(text === '' ? undefined : text);
    if (!result.success) {
      // The value itself is not echoed: DATABASE_URL and REDIS_URL may carry passwords.
      throw new ConfigError(`${name}: ${result.error.issues[0]?.message ?? 'invalid value'}`);
    }
    config[key] = result.data;
  }
  return config as HubConfig;
}
