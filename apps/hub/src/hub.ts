/**
 * `startHub`: opens storage, builds every part, wires them together and listens. The same function
 * runs `edgewire-hub serve` and the hubs that tests (ours, the storage writer's, the agent's) start.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AdminService } from './admin/admin-service.js';
import { removeLocalAdmin, writeLocalAdmin } from './admin/local-admin.js';
import { buildApp } from './app.js';
import { Handshake } from './auth/handshake.js';
import { createReadAuthorizer } from './auth/read-authorizer.js';
import { TokenCache } from './auth/token-cache.js';
import { TokenStore } from './auth/token-store.js';
import { Broker } from './broker.js';
import { LocalFanout } from './bus/local-fanout.js';
import { MemoryBus } from './bus/memory-bus.js';
import { RedisBus } from './bus/redis-bus.js';
import { MemorySlots } from './cluster/connection-slots.js';
import { RedisSlots } from './cluster/redis-slots.js';
import { type HubConfig, loadConfig } from './config.js';
import { ConnectionManager } from './connections/connection-manager.js';
import { FrameHandler } from './connections/frame-handler.js';
import { Heartbeat } from './connections/heartbeat.js';
import { ConnectionRegistry } from './connections/registry.js';
import { createMetrics } from './http/metrics.js';
import { MetricLimit } from './ingest/metric-limit.js';
import { TelemetryIngest } from './ingest/telemetry-ingest.js';
import type { TelemetrySink } from './ingest/telemetry-sink.js';
import { createLogger } from './logger.js';
import { RedisRetainedStore } from './retained/redis-retained-store.js';
import { MemoryRetainedStore } from './retained/retained-store.js';
import { HubStats } from './stats.js';
import { type Database, openDatabase } from './storage/database.js';
import { migrate } from './storage/migrate.js';
import { readingsStorageOptionsFromEnv } from './storage/migrations/0002_readings.js';
import { migrations } from './storage/migrations/index.js';
import { listMetrics } from './telemetry/history.js';
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
}

export interface RunningHub {
  /** e.g. http://127.0.0.1:43123 */
  url: string;
  app: FastifyInstance;
  database: Database;
  admin: AdminService;
  config: HubConfig;
  logger: Logger;
  /** Graceful: stop accepting, close sockets with 1001, flush the sink, close storage. */
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
): Promise<{ database: Database; storageMode: StorageMode }> {
  const storageOptions = readingsStorageOptionsFromEnv(env);
  // PGlite gets a directory of its own, so the hub's other files (admin endpoint) never mix with its data.
  const pgliteDir = config.dataDir === undefined ? undefined : join(config.dataDir, 'pgdata');
  const database = await openDatabase({ url: config.databaseUrl, dataDir: pgliteDir });
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

export async function startHub(options: HubOptions = {}): Promise<RunningHub> {
  const { telemetrySink, logDestination, env, ...overrides } = options;
  const config = loadConfig(env ?? process.env, overrides);
  const logger = createLogger(config.logLevel, logDestination);
  const { database, storageMode } = await openMigratedDatabase(config, logger, env ?? process.env);
  const cleanups: Array<() => Promise<void>> = [() => database.close()];
  try {
    const stats = new HubStats();
    const registry = new ConnectionRegistry();
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
    cleanups.unshift(() => sink.close());
    if (storageMode !== 'timescaledb') {
      // Stopped before the writer's last flush, which needs no advance: its late rows roll themselves up.
      const rollups = new RollupAdvance({ database, logger });
      rollups.start();
      cleanups.unshift(() => rollups.close());
    }

    const bus = config.redisUrl
      ? await RedisBus.connect(config.redisUrl, config.redisPrefix, logger)
      : new MemoryBus();
    cleanups.unshift(() => bus.close());
    const retained = config.redisUrl
      ? await RedisRetainedStore.connect(config.redisUrl, config.redisPrefix, logger)
      : new MemoryRetainedStore();
    cleanups.unshift(() => retained.close());
    const broker = new Broker(bus, retained);
    const store = new TokenStore(database);
    const tokenCache = new TokenCache(store, config.tokenCacheMs);
    const admin = new AdminService(store, bus);
    const frames = new FrameHandler(
      registry,
      broker,
      new TelemetryIngest(
        broker,
        sink,
        bus,
        new MetricLimit(config.maxMetricsPerDevice, (deviceId) => listMetrics(database, deviceId)),
      ),
      stats,
      config,
    );
    const connections = new ConnectionManager({
      registry,
      broker,
      bus,
      frames,
      stats,
      logger,
      limits: config,
      heartbeatSec: config.heartbeatSec,
    });
    bus.attach(new LocalFanout(registry, retained, stats), (event) => {
      if (event.type === 'token-invalidated' || event.type === 'device-removed') tokenCache.clear();
      connections.onControl(event);
    });
    const slots = config.redisUrl
      ? await RedisSlots.connect(config.redisUrl, config.redisPrefix, logger)
      : new MemorySlots();
    cleanups.unshift(() => slots.close());
    const handshake = new Handshake(tokenCache, slots, stats, config);
    const adminSecret = randomBytes(32).toString('base64url');
    const app = await buildApp({
      config,
      logger,
      database,
      sink,
      bus,
      stats,
      registry,
      handshake,
      connections,
      metrics,
      admin,
      adminSecret,
      authorizeRead: createReadAuthorizer(tokenCache),
    });
    cleanups.unshift(() => app.close());
    await app.listen({ host: config.host, port: config.port });
    const heartbeat = new Heartbeat(registry, config.heartbeatSec);
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    if (config.dataDir) writeLocalAdmin(config.dataDir, { url, secret: adminSecret, pid: process.pid });
    logger.info({ url, driver: database.driver, storage: storageMode }, 'hub listening');

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        logger.info('hub shutting down');
        heartbeat.stop();
        if (config.dataDir) removeLocalAdmin(config.dataDir, process.pid);
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
