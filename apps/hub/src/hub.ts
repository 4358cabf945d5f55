/**
 * `startHub`: opens storage, builds every part, wires them together and listens. The same function
 * runs `edgewire-hub serve` and the hubs that tests (ours, the storage writer's, the agent's) start.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AdminService, createAdminParts } from './admin/admin-service.js';
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
import { RedisBus } from './bus/redis-bus.js';
import { MemorySlots } from './cluster/connection-slots.js';
import { RedisSlots } from './cluster/redis-slots.js';
import { type HubConfig, loadConfig } from './config.js';
import { ConnectionManager } from './connections/connection-manager.js';
import { FrameHandler } from './connections/frame-handler.js';
import { Heartbeat } from './connections/heartbeat.js';
import { ClusterConnections } from './connections/live-connections.js';
import { ConnectionRegistry } from './connections/registry.js';
import { createMetrics } from './http/metrics.js';
import { TelemetryIngest } from './ingest/telemetry-ingest.js';
import type { TelemetrySink } from './ingest/telemetry-sink.js';
import { createLogger } from './logger.js';
import { SessionStore } from './operators/session-store.js';
import { SignIn } from './operators/sign-in.js';
import { SignInThrottle } from './operators/sign-in-throttle.js';
import { presenceOf } from './presence.js';
import { RedisRetainedStore } from './retained/redis-retained-store.js';
import { MemoryRetainedStore } from './retained/retained-store.js';
import { HubStats } from './stats.js';
import { type Database, openDatabase } from './storage/database.js';
import { migrate } from './storage/migrate.js';
import { migrations } from './storage/migrations/index.js';
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

/** Opens the configured database and applies pending migrations. */
export async function openMigratedDatabase(config: HubConfig, logger: Logger): Promise<Database> {
  // PGlite gets a directory of its own, so the hub's other files (admin endpoint) never mix with its data.
  const pgliteDir = config.dataDir === undefined ? undefined : join(config.dataDir, 'pgdata');
  const database = await openDatabase({ url: config.databaseUrl, dataDir: pgliteDir });
  try {
    const applied = await migrate(database, migrations);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    return database;
  } catch (error) {
    await database.close();
    throw error;
  }
}

export async function startHub(options: HubOptions = {}): Promise<RunningHub> {
  const { telemetrySink, logDestination, env, ...overrides } = options;
  const config = loadConfig(env ?? process.env, overrides);
  const logger = createLogger(config.logLevel, logDestination);
  const database = await openMigratedDatabase(config, logger);
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
        });
    cleanups.unshift(() => sink.close());

    const bus = config.redisUrl
      ? await RedisBus.connect(config.redisUrl, config.redisPrefix, logger)
      : new MemoryBus();
    cleanups.unshift(() => bus.close());
    const retained = config.redisUrl
      ? await RedisRetainedStore.connect(config.redisUrl, config.redisPrefix, logger)
      : new MemoryRetainedStore();
    cleanups.unshift(() => retained.close());
    const broker = new Broker(bus, retained);
    const adminParts = createAdminParts(database, bus, {
      scryptLog2N: config.passwordScryptLog2N,
      presence: () => presenceOf(retained),
    });
    const tokenCache = new TokenCache(adminParts.tokens, config.tokenCacheMs);
    const admin = new AdminService(adminParts);
    const frames = new FrameHandler(registry, broker, new TelemetryIngest(broker, sink, bus), stats, config);
    const connections = new ConnectionManager({
      registry,
      broker,
      bus,
      frames,
      stats,
      logger,
      limits: config,
      heartbeatSec: config.heartbeatSec,
      deviceActivity: {
        connected: (id, address, agentVersion) =>
          adminParts.devices.recordConnected(id, address, agentVersion),
        disconnected: (id) => adminParts.devices.recordSeen(id),
      },
    });
    const live = new ClusterConnections(registry, bus);
    const revoke = (event: ControlEvent) => {
      if (event.type === 'token-invalidated' || event.type === 'device-removed') tokenCache.clear();
      connections.onControl(event);
    };
    bus.attach(new LocalFanout(registry, retained, stats), (event) => {
      revoke(event);
      live.onControl(event);
    });
    // Every instance hears the database itself: changes made anywhere, SQL included, close connections.
    const unlisten = await listenForRevocations(database, logger, revoke, () => tokenCache.clear());
    cleanups.unshift(unlisten);
    const slots = config.redisUrl
      ? await RedisSlots.connect(config.redisUrl, config.redisPrefix, logger)
      : new MemorySlots();
    cleanups.unshift(() => slots.close());
    const sessions = new SessionStore(database, config);
    const origins = new OriginPolicy(config.allowedOrigins);
    const handshake = new Handshake(tokenCache, slots, stats, config, {
      origins,
      find: (secret) => sessions.find(secret),
    });
    const adminSecret = randomBytes(32).toString('base64url');
    const callers = new CallerResolver(sessions, adminParts.apiTokens, adminSecret);
    const signIn = new SignIn(
      adminParts.users,
      sessions,
      adminParts.hasher,
      new SignInThrottle(database, config),
    );
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
    });
    cleanups.unshift(() => app.close());
    await app.listen({ host: config.host, port: config.port });
    const heartbeat = new Heartbeat(registry, config.heartbeatSec);
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    if (config.dataDir) writeLocalAdmin(config.dataDir, { url, secret: adminSecret, pid: process.pid });
    logger.info({ url, storage: database.driver }, 'hub listening');

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
