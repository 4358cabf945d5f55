/**
 * `startHub`: opens storage, builds every part, wires them together and listens. The same function
 * runs `edgewire-hub serve` and the hubs that tests (ours, the storage writer's, the agent's) start.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AdminService, createAdminParts } from './admin/admin-service.js';
import { DataDirLock, HUB_HOLDER } from './admin/data-dir-lock.js';
import { DeviceActivityRecorder } from './admin/device-activity.js';
import { removeLocalAdmin, writeLocalAdmin } from './admin/local-admin.js';
import { CallerResolver } from './api/callers.js';
import { operatorRoutes } from './api/operator-routes.js';
import { OriginPolicy } from './api/origin.js';
import { buildApp } from './app.js';
import { Handshake } from './auth/handshake.js';
import { createReadAuthorizer } from './auth/read-authorizer.js';
import { listenForRevocations } from './auth/revocation-listener.js';
import { TokenCache } from './auth/token-cache.js';
import { Broker } from './broker.js';
import type { ControlEvent } from './bus/bus.js';
import { LocalFanout } from './bus/local-fanout.js';
import { MemoryBus } from './bus/memory-bus.js';
import { Recoveries } from './bus/recovery.js';
import { RedisBus } from './bus/redis-bus.js';
import { MemorySlots } from './cluster/connection-slots.js';
import { LocalGenerations } from './cluster/device-generations.js';
import { InstanceLease } from './cluster/instance-lease.js';
import { connectRedis, createRedis, redisTargetOf } from './cluster/redis-client.js';
import { RedisGenerations } from './cluster/redis-generations.js';
import { RedisSlots } from './cluster/redis-slots.js';
import { RedisViewerLists } from './cluster/redis-viewer-lists.js';
import { ConfigError, type HubConfig, loadConfig } from './config.js';
import { ConnectionManager } from './connections/connection-manager.js';
import { FrameHandler } from './connections/frame-handler.js';
import { Heartbeat } from './connections/heartbeat.js';
import { ClusterConnections } from './connections/live-connections.js';
import { ConnectionRegistry } from './connections/registry.js';
import { createMetrics } from './http/metrics.js';
import { MetricLimit } from './ingest/metric-limit.js';
import { TelemetryIngest } from './ingest/telemetry-ingest.js';
import type { TelemetrySink } from './ingest/telemetry-sink.js';
import { LogSummary } from './log-summary.js';
import { createLogger } from './logger.js';
import { localViewerLists, PageViewerList } from './operators/page-viewers.js';
import { SessionStore } from './operators/session-store.js';
import { SignIn } from './operators/sign-in.js';
import { SignInThrottle } from './operators/sign-in-throttle.js';
import { ClusterPresence, LocalPresence, presenceOf } from './presence.js';
import { RedisRetainedStore } from './retained/redis-retained-store.js';
import { MemoryRetainedStore } from './retained/retained-store.js';
import { HubStats } from './stats.js';
import { Batcher } from './storage/batcher.js';
import { type Database, openDatabase } from './storage/database.js';
import { migrate } from './storage/migrate.js';
import { readingsStorageOptionsFromEnv } from './storage/migrations/0002_readings.js';
import { migrations } from './storage/migrations/index.js';
import { listMetricsOfDevices } from './telemetry/history.js';
import { prepareReadingsStorage } from './telemetry/readings-storage.js';
import { RollupAdvance } from './telemetry/rollup-advance.js';
import type { StorageMode } from './telemetry/storage-mode.js';
import { TelemetryWriter } from './telemetry/telemetry-writer.js';

export interface HubOptions extends Partial<HubConfig> {
  /**
   * Builds the telemetry sink in place of the storage writer (tests plug in instrumented ones).
   * `metrics` is the hub's Prometheus registry, for the writer's own metrics on `/metrics`.
   */
  telemetrySink?: (ctx: { database: Database; logger: Logger; metrics: Registry }) => TelemetrySink;
  /** Where log lines go (tests capture them); stdout otherwise. */
  logDestination?: DestinationStream;
  /** Environment to read settings from; `process.env` by default. */
  env?: Record<string, string | undefined>;
  /** Told the text of every database statement (tests count them; see `OpenOptions`). */
  onStatement?: (text: string) => void;
}

export interface RunningHub {
  /** e.g. http://127.0.0.1:43123 */
  url: string;
  app: FastifyInstance;
  database: Database;
  admin: AdminService;
  config: HubConfig;
  logger: Logger;
  /**
   * Graceful: stop taking handshakes and frames, store and ack what was taken, close sockets with 1001,
   * close storage.
   */
  close(): Promise<void>;
}

/**
 * Opens the configured database, applies pending migrations and the readings storage settings
 * (`EDGEWIRE_CHUNK_INTERVAL`, `EDGEWIRE_COMPRESS_AFTER`, `EDGEWIRE_RETENTION` from `env`), and says
 * which storage mode it runs in (and why not TimescaleDB, when not).
 */
export async function openMigratedDatabase(
  config: HubConfig,
  logger: Logger,
  env: Record<string, string | undefined> = process.env,
  onStatement?: (text: string) => void,
): Promise<{ database: Database; storageMode: StorageMode }> {
  const storageOptions = readingsStorageOptionsFromEnv(env);
  // PGlite gets a directory of its own, so the hub's other files (admin endpoint) never mix with its data.
  const pgliteDir = config.dataDir === undefined ? undefined : join(config.dataDir, 'pgdata');
  const database = await openDatabase({ url: config.databaseUrl, dataDir: pgliteDir, onStatement });
  try {
    const applied = await migrate(database, migrations);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const storageMode = await prepareReadingsStorage(database, storageOptions, logger);
    return { database, storageMode };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** The certificate and key files, read once at start; a file that cannot be read names its setting. */
function readTls(config: HubConfig): { cert: Buffer; key: Buffer } | undefined {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const read = (path: string, setting: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigError(
        `${setting}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  };
  return { cert: read(config.tlsCert, 'EDGEWIRE_TLS_CERT'), key: read(config.tlsKey, 'EDGEWIRE_TLS_KEY') };
}

export async function startHub(options: HubOptions = {}): Promise<RunningHub> {
  const { telemetrySink, logDestination, env, onStatement, ...overrides } = options;
  const config = loadConfig(env ?? process.env, overrides);
  const logger = createLogger(config.logLevel, logDestination);
  const tls = readTls(config);
  // Before anything opens the directory: a second hub on it is refused here, naming the first.
  const lock = config.dataDir === undefined ? undefined : DataDirLock.acquire(config.dataDir, HUB_HOLDER);
  const cleanups: Array<() => Promise<void>> = [async () => lock?.release()];
  try {
    const { database, storageMode } = await openMigratedDatabase(
      config,
      logger,
      env ?? process.env,
      onStatement,
    );
    cleanups.unshift(() => database.close());
    // Batched statements still waiting (device activity of the sockets just closed, token use) run
    // before the database closes.
    const batched: Array<{ drain(): Promise<void> }> = [];
    cleanups.unshift(async () => {
      await Promise.all(batched.map((b) => b.drain()));
    });
    const redis = redisTargetOf(config);
    const history = { size: config.historySize, ttlMs: config.historyTtlSec * 1000 };
    const bus = redis
      ? await RedisBus.connect({ target: redis, prefix: config.redisPrefix, logger, history })
      : new MemoryBus(history);
    cleanups.unshift(() => bus.close());
    const stats = new HubStats();
    const registry = new ConnectionRegistry(bus);
    const metrics = createMetrics(stats, registry);
    const sink: TelemetrySink = telemetrySink
      ? telemetrySink({ database, logger, metrics })
      : new TelemetryWriter({
          database,
          logger,
          registry: metrics,
          maxQueueBytes: config.storageQueueBytes,
          batchReadings: config.storageBatchReadings,
          batchDelayMs: config.storageBatchDelayMs,
          storageMode,
        });
    let sinkClosed: Promise<void> | undefined;
    const closeSink = () => {
      sinkClosed ??= sink.close();
      return sinkClosed;
    };
    cleanups.unshift(closeSink);
    if (storageMode !== 'timescaledb') {
      // Stopped before the writer's last flush, which needs no advance: its late rows roll themselves up.
      const rollups = new RollupAdvance({ database, logger });
      rollups.start();
      cleanups.unshift(() => rollups.close());
    }

    const retained = redis
      ? await RedisRetainedStore.connect(redis, config.redisPrefix, logger)
      : new MemoryRetainedStore();
    cleanups.unshift(() => retained.close());
    const broker = new Broker(bus, retained);
    const adminParts = createAdminParts(database, bus, {
      scryptLog2N: config.passwordScryptLog2N,
      presence: () => presenceOf(retained),
    });
    const tokenCache = new TokenCache(adminParts.tokens, config.tokenCacheMs);
    const deviceActivity = new DeviceActivityRecorder(adminParts.devices);
    const storedMetrics = new Batcher<string, undefined, string[]>((batch) =>
      listMetricsOfDevices(database, [...batch.keys()]),
    );
    batched.push(tokenCache, deviceActivity, storedMetrics);
    const admin = new AdminService(adminParts);
    // Events a client can repeat at will are logged at a bounded rate (first ones in full, then a summary).
    const summarised = (message: string, level: 'info' | 'warn', keyName: string) => {
      const summary = new LogSummary(logger, {
        message,
        level,
        keyName,
        intervalMs: config.logSummarySec * 1000,
        burst: config.logSummaryBurst,
      });
      cleanups.push(async () => summary.close());
      return summary;
    };
    const recoveries = new Recoveries(bus);
    const ingest = new TelemetryIngest(
      broker,
      sink,
      bus,
      new MetricLimit(
        config.maxMetricsPerDevice,
        async (deviceId) => (await storedMetrics.submit(deviceId, undefined)) ?? [],
      ),
    );
    const frames = new FrameHandler(
      registry,
      broker,
      ingest,
      stats,
      config,
      recoveries,
      summarised('invalid frame', 'warn', 'conn'),
    );
    const clusterState = redis ? createRedis(redis, logger, 'cluster state', 'commands') : undefined;
    if (clusterState) {
      await connectRedis(clusterState, 'cluster state');
      cleanups.unshift(() => clusterState.quit().then(() => {}));
    }
    const lease = clusterState
      ? new InstanceLease(clusterState, `{${config.redisPrefix}}`, logger)
      : undefined;
    if (lease) {
      await lease.refresh();
      cleanups.unshift(() => lease.release());
    }
    const presence =
      clusterState && lease
        ? new ClusterPresence(broker, clusterState, lease, logger)
        : new LocalPresence(broker);
    cleanups.unshift(() => presence.close());
    // Who is looking at which device page: in a cluster, each instance's part is shared in Redis.
    const pageViewers = new PageViewerList(
      broker,
      clusterState && lease ? new RedisViewerLists(clusterState, lease) : localViewerLists,
      (error) => logger.warn({ err: error.message }, 'sharing page viewers failed'),
    );
    registry.observe(pageViewers);
    cleanups.unshift(async () => pageViewers.close());
    const connections = new ConnectionManager({
      registry,
      presence,
      bus,
      frames,
      stats,
      logger,
      limits: config,
      heartbeatSec: config.heartbeatSec,
      deviceActivity,
    });
    const live = new ClusterConnections(registry, bus);
    const revoke = (event: ControlEvent) => {
      if (event.type === 'token-invalidated') tokenCache.clear();
      connections.onControl(event);
    };
    bus.attach(new LocalFanout(registry, retained, stats, recoveries), (event) => {
      revoke(event);
      live.onControl(event);
    });
    // Every instance hears the database itself: changes made anywhere, SQL included, close connections.
    const unlisten = await listenForRevocations(database, logger, revoke, () => tokenCache.clear());
    cleanups.unshift(unlisten);
    const slots = clusterState && lease ? new RedisSlots(clusterState, lease, logger) : new MemorySlots();
    const generations =
      clusterState && lease ? new RedisGenerations(clusterState, lease, logger) : new LocalGenerations();
    const sessions = new SessionStore(database, config);
    const origins = new OriginPolicy(config.allowedOrigins);
    const handshake = new Handshake(
      tokenCache,
      slots,
      generations,
      stats,
      config,
      summarised('handshake refused', 'info', 'address'),
      {
        origins,
        find: (secret) => sessions.find(secret),
      },
    );
    const adminSecret = randomBytes(32).toString('base64url');
    const callers = new CallerResolver(sessions, adminParts.apiTokens, adminSecret);
    const signIn = new SignIn(
      adminParts.users,
      sessions,
      adminParts.hasher,
      new SignInThrottle(database, config),
    );
    let closing: Promise<void> | undefined;
    const app = await buildApp({
      config,
      tls,
      logger,
      database,
      sink,
      bus,
      draining: () => closing !== undefined,
      stats,
      registry,
      handshake,
      connections,
      metrics,
      callers,
      origins,
      apiRoutes: operatorRoutes({
        admin,
        signIn,
        sessions,
        connections: live,
        origins,
        cookies: config,
        sessionMaxSec: config.sessionMaxSec,
      }),
      authorizeRead: createReadAuthorizer(tokenCache, callers),
      apiRefusalLog: summarised('api request refused', 'info', 'address'),
      // Every frame taken reaches the writer (or is answered so the agent resends it), then the
      // writer's last flush stores and acks them before the 1001s, so they are not sent again.
      beforeGoingAway: async () => {
        await ingest.stop();
        await closeSink();
      },
    });
    cleanups.unshift(() => app.close());
    await app.listen({ host: config.host, port: config.port, backlog: config.listenBacklog });
    const heartbeat = new Heartbeat(registry, config.heartbeatSec);
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
    lock?.announce(url);
    if (config.dataDir) writeLocalAdmin(config.dataDir, { url, secret: adminSecret, pid: process.pid });
    logger.info({ url, driver: database.driver, storage: storageMode }, 'hub listening');

    const close = () => {
      closing ??= (async () => {
        logger.info('hub shutting down');
        heartbeat.stop();
        if (config.dataDir) removeLocalAdmin(config.dataDir, process.pid);
        // The server first (see beforeGoingAway): it stops taking handshakes, drains ingest into
        // storage and flushes it, then closes the sockets with 1001.
        for (const cleanup of cleanups) await cleanup();
        logger.info('hub stopped');
      })();
      return closing;
    };
    return { url, app, database, admin, config, logger, close };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    throw error;
  }
}
