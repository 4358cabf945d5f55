/**
 * The Fastify application, composed in one visible place: each plugin gets only the narrow
 * dependencies it needs through its options.
 */
import type { Socket } from 'node:net';
import websocket from '@fastify/websocket';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { adminRoutes } from './admin/admin-routes.js';
import type { AdminApi } from './admin/admin-service.js';
import type { Handshake } from './auth/handshake.js';
import type { Bus } from './bus/bus.js';
import type { HubConfig } from './config.js';
import type { ConnectionManager } from './connections/connection-manager.js';
import type { ConnectionRegistry } from './connections/registry.js';
import { websocketRoutes } from './connections/websocket-routes.js';
import { dashboardRoutes } from './http/dashboard-routes.js';
import { healthRoutes } from './http/health-routes.js';
import { metricsRoutes } from './http/metrics-routes.js';
import type { TelemetrySink } from './ingest/telemetry-sink.js';
import { HubStats } from './stats.js';
import type { Database } from './storage/database.js';
import { historyRoutes } from './telemetry/history-routes.js';

export interface AppParts {
  config: HubConfig;
  logger: Logger;
  database: Database;
  sink: TelemetrySink;
  bus: Bus;
  stats: HubStats;
  registry: ConnectionRegistry;
  handshake: Handshake;
  connections: ConnectionManager;
  metrics: Registry;
  admin: AdminApi;
  adminSecret: string;
  authorizeRead(request: FastifyRequest, filter: string): Promise<void>;
}

/** How long shutdown waits for clients to answer the 1001 close before cutting them. */
const SHUTDOWN_GRACE_MS = 3000;

export async function buildApp(parts: AppParts): Promise<FastifyInstance> {
  const { config, stats, registry, connections } = parts;
  const app = Fastify({
    loggerInstance: parts.logger as FastifyBaseLogger,
    // A line per request would be a line per handshake; connections log their own lifecycle instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 256 * 1024,
    trustProxy: config.trustProxy,
    // Device ids may be 128 characters; the default (100) would answer 414 instead of checking them.
    routerOptions: { maxParamLength: 256 },
  });

  // Every TCP connection, upgraded or not: a socket left hanging mid-upgrade must not block shutdown.
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await app.register(websocket, {
    options: { maxPayload: config.maxFrameBytes, perMessageDeflate: config.perMessageDeflate },
    errorHandler: (error, _socket, request) => {
      // ws has already closed the socket with the right code (1009 for an oversized frame).
      if (error instanceof RangeError) HubStats.bump(stats.errors, 'too_large');
      request.log.info({ err: error.message }, 'websocket protocol error');
    },
    preClose: async function closeSockets() {
      connections.closeAll();
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      while (registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const connection of registry.all()) connection.socket.terminate();
      for (const socket of sockets) socket.destroy();
    },
  });
  await app.register(healthRoutes, { database: parts.database, sink: parts.sink, bus: parts.bus });
  await app.register(metricsRoutes, { registry: parts.metrics });
  await app.register(adminRoutes, { prefix: '/admin', admin: parts.admin, secret: parts.adminSecret });
  await app.register(historyRoutes, { database: parts.database, authorizeRead: parts.authorizeRead });
  await app.register(websocketRoutes, { handshake: parts.handshake, connections });
  await app.register(dashboardRoutes, { root: config.dashboardDir });
  return app;
}
