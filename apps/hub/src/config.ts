/**
 * Hub settings: SPEC "Running" plus the limits the hub enforces. Read once at start from the
 * environment and validated, so a bad value stops the hub with a message naming the variable instead
 * of surfacing later as odd behaviour.
 */
import { isIP } from 'node:net';
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

/** proxy-addr's (Fastify's) names for address ranges, accepted besides addresses and CIDRs. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

/** `false`, or the addresses/CIDRs of the proxies whose X-Forwarded-For is believed. */
const trustedProxies = z
  .string()
  .optional()
  .transform((text, ctx): false | string[] => {
    if (text === undefined || text === 'false' || text === '0') return false;
    const entries = text
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e.length > 0);
    const bad = entries.find((e) => !isAddressOrCidr(e));
    if (entries.length === 0 || bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          text === 'true' || text === '1'
            ? "list the proxies' addresses or CIDRs (e.g. 127.0.0.1,10.0.0.0/8): true would believe X-Forwarded-For from anyone"
            : `expected comma-separated addresses or CIDRs (e.g. 127.0.0.1,10.0.0.0/8), got ${JSON.stringify(bad ?? text)}`,
      });
      return z.NEVER;
    }
    return entries;
  });

/** Each key, the environment variable it comes from, and its schema (with the default). */
const settings = {
  host: { env: 'EDGEWIRE_HOST', schema: z.string().min(1).default('127.0.0.1') },
  port: { env: 'EDGEWIRE_PORT', schema: z.coerce.number().int().min(0).max(65535).default(8080) },
  /** `undefined` (only through `startHub` overrides) keeps the embedded database in memory. */
  dataDir: { env: 'EDGEWIRE_DATA_DIR', schema: z.string().min(1).optional().default('./.edgewire') },
  databaseUrl: { env: 'DATABASE_URL', schema: z.string().url().optional() },
  redisUrl: { env: 'REDIS_URL', schema: z.string().url().optional() },
  /**
   * Seed nodes of a Redis Cluster, comma-separated `host:port` or `redis://[user:password@]host:port`;
   * takes the place of REDIS_URL.
   */
  redisClusterNodes: {
    env: 'REDIS_CLUSTER_NODES',
    schema: z
      .string()
      .optional()
      .transform((text) =>
        text
          ?.split(',')
          .map((node) => node.trim())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(
            z.string().refine((node) => {
              try {
                const url = new URL(node.includes('://') ? node : `redis://${node}`);
                return /^rediss?:$/.test(url.protocol) && url.hostname !== '' && url.pathname.length <= 1;
              } catch {
                return false;
              }
            }, 'expected host:port or redis://host:port entries, comma-separated'),
          )
          .optional(),
      ),
  },
  /** Messages kept per watched stream for recovery (SPEC "Recovery of missed messages"); 0 keeps none. */
  historySize: { env: 'EDGEWIRE_HISTORY_SIZE', schema: nonNegativeInt.max(1_000_000).default(1000) },
  /** How long history is kept: older messages are not replayed, and a stream no one watches is dropped. */
  historyTtlSec: { env: 'EDGEWIRE_HISTORY_TTL_SEC', schema: positiveInt.max(86_400).default(120) },
  /** PEM certificate (chain) file: with `tlsKey`, the hub serves HTTPS and WSS itself. */
  tlsCert: { env: 'EDGEWIRE_TLS_CERT', schema: z.string().min(1).optional() },
  /** PEM private key file of `tlsCert`. */
  tlsKey: { env: 'EDGEWIRE_TLS_KEY', schema: z.string().min(1).optional() },
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
  /**
   * Handshakes whose token check may be under way at once; more are told to retry in a second (429), so a
   * slow database sheds load at once instead of queueing handshakes until their clients give up.
   */
  handshakesPending: { env: 'EDGEWIRE_HANDSHAKES_PENDING', schema: positiveInt.default(100) },
  /**
   * Connections the kernel may hold waiting for the hub to accept them (listen backlog; Linux caps it at
   * net.core.somaxconn). Node's 511 overflows when a fleet of thousands reconnects at once after a
   * restart: the dropped SYNs are retried after 1, 3, 7 s, so agents' handshakes time out instead of
   * getting a quick answer (a 429 when over the handshake rate).
   */
  listenBacklog: { env: 'EDGEWIRE_LISTEN_BACKLOG', schema: positiveInt.default(4096) },
  /** WebSocket handshakes per second the hub starts from all addresses together (burst: 2 s worth). */
  handshakeRate: { env: 'EDGEWIRE_HANDSHAKE_RATE', schema: positiveInt.default(1000) },
  /**
   * Handshakes per second from one address (burst: 2 s worth). Generous: behind a NAT or a load balancer
   * a whole fleet shares one address, and after a hub restart all of it reconnects at once.
   */
  handshakeRatePerAddress: { env: 'EDGEWIRE_HANDSHAKE_RATE_PER_ADDRESS', schema: positiveInt.default(500) },
  /** Sustained `sub`/`unsub` frames per second one connection may send (burst: 5 s worth). */
  subscribeRate: { env: 'EDGEWIRE_SUBSCRIBE_RATE', schema: positiveInt.default(20) },
  /** Filters one connection may hold. */
  maxSubscriptions: { env: 'EDGEWIRE_MAX_SUBSCRIPTIONS', schema: positiveInt.default(256) },
  /** Subscription-index memory one connection's filters may take (estimated, see subscription-limits.ts). */
  maxSubscriptionBytes: {
    env: 'EDGEWIRE_MAX_SUBSCRIPTION_BYTES',
    schema: positiveInt.min(16 * 1024).default(512 * 1024),
  },
  /** Filters all connections of one token may hold together (on this instance). */
  maxSubscriptionsPerToken: {
    env: 'EDGEWIRE_MAX_SUBSCRIPTIONS_PER_TOKEN',
    schema: positiveInt.default(4096),
  },
  /** Subscription-index memory all connections of one token may take together (on this instance). */
  maxSubscriptionBytesPerToken: {
    env: 'EDGEWIRE_MAX_SUBSCRIPTION_BYTES_PER_TOKEN',
    schema: positiveInt.min(16 * 1024).default(8 * 1024 * 1024),
  },
  /** Invalid frames within 10 s after which the connection is closed with 4008. */
  invalidFrameTolerance: { env: 'EDGEWIRE_INVALID_FRAME_TOLERANCE', schema: positiveInt.default(50) },
  /** Repeated log events (invalid frames, refused handshakes) are summed up in one line this often. */
  logSummarySec: {
    env: 'EDGEWIRE_LOG_SUMMARY_SEC',
    schema: z.coerce.number().positive().max(3600).default(10),
  },
  /** Repeated log events of one kind logged in full per summary interval before they are only counted. */
  logSummaryBurst: { env: 'EDGEWIRE_LOG_SUMMARY_BURST', schema: nonNegativeInt.default(10) },
  /** `/api` requests per second accepted from one address (burst: 5 s worth). */
  apiRatePerAddress: { env: 'EDGEWIRE_API_RATE', schema: positiveInt.default(50) },
  /** `/api` requests answered 401 per minute per address before the address gets 429 for a while. */
  apiAuthFailuresPerMinute: { env: 'EDGEWIRE_API_AUTH_FAILURES', schema: positiveInt.default(30) },
  /**
   * Live WebSocket connections from one address (on this instance). Generous: a fleet of thousands
   * behind a carrier NAT shares one address, and the handshake rates already bound how fast they come.
   */
  maxConnectionsPerAddress: {
    env: 'EDGEWIRE_MAX_CONNECTIONS_PER_ADDRESS',
    schema: positiveInt.default(10_000),
  },
  /** How long a client may take to send a complete request (a handshake's headers included). */
  handshakeTimeoutMs: {
    env: 'EDGEWIRE_HANDSHAKE_TIMEOUT_MS',
    schema: positiveInt.min(100).max(600_000).default(10_000),
  },
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
  /** Points one history answer may carry, all its series together; each series gets an equal share. */
  historyMaxPoints: {
    env: 'EDGEWIRE_HISTORY_MAX_POINTS',
    schema: positiveInt.max(1_000_000).default(20_000),
  },
  /**
   * Metrics one device may have. A telemetry frame bringing one more is refused whole with an error
   * naming the metric; nothing of it is stored or acked, and the device keeps it buffered.
   */
  maxMetricsPerDevice: {
    env: 'EDGEWIRE_MAX_METRICS_PER_DEVICE',
    schema: positiveInt.max(100_000).default(1000),
  },
  /** permessage-deflate costs CPU and memory per socket; off unless asked for. */
  perMessageDeflate: { env: 'EDGEWIRE_PERMESSAGE_DEFLATE', schema: booleanText },
  /**
   * Behind a reverse proxy every client has the proxy's address. Listing the proxies (addresses or CIDRs)
   * makes the hub take the client's address from X-Forwarded-For, believed only when the connection
   * comes from one of them; `false` (none) by default.
   */
  trustProxy: { env: 'EDGEWIRE_TRUST_PROXY', schema: trustedProxies },
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
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    const missing = config.tlsCert === undefined ? 'EDGEWIRE_TLS_CERT' : 'EDGEWIRE_TLS_KEY';
    throw new ConfigError(
      `${missing}: required too when the other of EDGEWIRE_TLS_CERT/EDGEWIRE_TLS_KEY is set`,
    );
  }
  return config as HubConfig;
}
