/**
 * The Fastify application, composed in one visible place: each plugin gets only the narrow
 * dependencies it needs through its options.
 */
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { apiErrorSchema } from '@edgewire/protocol';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerFactory,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { installAccessControl } from './api/access.js';
import { type ApiRoute, registerApiRoutes } from './api/api-route.js';
import type { CallerResolver } from './api/callers.js';
import { answerError } from './api/errors.js';
import type { OriginPolicy } from './api/origin.js';
import type { Handshake } from './auth/handshake.js';
import type { Bus } from './bus/bus.js';
import type { HubConfig } from './config.js';
import type { ConnectionManager } from './connections/connection-manager.js';
import type { ConnectionRegistry } from './connections/registry.js';
import { chooseSubprotocol, websocketRoutes } from './connections/websocket-routes.js';
import { apiGuard } from './http/api-guard.js';
import { dashboardRoutes } from './http/dashboard-routes.js';
import { healthRoutes } from './http/health-routes.js';
import { metricsRoutes } from './http/metrics-routes.js';
import type { TelemetrySink } from './ingest/telemetry-sink.js';
import type { LogSummary } from './log-summary.js';
import { HubStats } from './stats.js';
import type { Database } from './storage/database.js';
import { historyRoutes } from './telemetry/history-routes.js';

export interface AppParts {
  config: HubConfig;
  /** PEM certificate and key read from EDGEWIRE_TLS_CERT/KEY: the hub then serves HTTPS and WSS. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  logger: Logger;
  database: Database;
  sink: TelemetrySink;
  bus: Bus;
  /** True once the hub is shutting down (`/readyz` then answers 503). */
  draining(): boolean;
  stats: HubStats;
  registry: ConnectionRegistry;
  handshake: Handshake;
  connections: ConnectionManager;
  metrics: Registry;
  callers: CallerResolver;
  origins: OriginPolicy;
  /** The operators' API (SPEC "Operators' HTTP API"), one table. */
  apiRoutes: readonly ApiRoute[];
  authorizeRead(request: FastifyRequest, filter: string): Promise<void>;
  /** Where refused `/api` requests are logged, summed up per address. */
  apiRefusalLog: LogSummary;
  /**
   * Shutdown, once no new handshake is taken and before the 1001s: stores (and so acks) what the
   * devices sent, while they are still connected to receive the acks.
   */
  beforeGoingAway(): Promise<void>;
}

/** How long shutdown waits for clients to answer the 1001 close before cutting them. */
const SHUTDOWN_GRACE_MS = 3000;

/**
 * A handshake (or request) not fully received within `timeoutMs` is answered 408 and closed, instead
 * of after Node's 60 s for headers, checked every 30 s; upgraded sockets are no longer subject to it.
 */
function serverTimeouts(timeoutMs: number) {
  return {
    requestTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.ceil(timeoutMs / 4)),
  };
}

/** Fastify's types tie an instance to http.Server; an https.Server serves the same requests. */
function httpsServerFactory(tls: { cert: Buffer; key: Buffer }, timeoutMs: number): FastifyServerFactory {
  return (handler) =>
    createHttpsServer({ ...tls, ...serverTimeouts(timeoutMs) }, handler) as unknown as Server;
}

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
    http: serverTimeouts(config.handshakeTimeoutMs),
    ...(parts.tls ? { serverFactory: httpsServerFactory(parts.tls, config.handshakeTimeoutMs) } : {}),
  });

  // Every TCP connection, upgraded or not: a socket left hanging mid-upgrade must not block shutdown.
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await app.register(websocket, {
    options: {
      maxPayload: config.maxFrameBytes,
      perMessageDeflate: config.perMessageDeflate,
      handleProtocols: chooseSubprotocol,
    },
    errorHandler: (error, _socket, request) => {
      // ws has already closed the socket with the right code (1009 for an oversized frame).
      if (error instanceof RangeError) HubStats.bump(stats.errors, 'too_large');
      request.log.info({ err: error.message }, 'websocket protocol error');
    },
    // Fastify answers new requests and handshakes 503 from here on.
    preClose: async function closeSockets() {
      await parts.beforeGoingAway();
      connections.closeAll();
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      while (registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const connection of registry.all()) connection.socket.terminate();
      for (const socket of sockets) socket.destroy();
    },
  });
  // Throttling first: a flood must not reach the session and token lookups behind access control.
  await app.register(apiGuard, { limits: config, stats, refusalLog: parts.apiRefusalLog });
  // Before any route: every route must declare who may call it, and one hook enforces it.
  installAccessControl(app, { callers: parts.callers, origins: parts.origins });
  app.setErrorHandler(answerError);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'edgewire hub',
        version: '1',
        description:
          'Operators sign in with POST /api/session (cookie); programs send Authorization: Bearer <admin API token> (edgewire-hub apitoken add).',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'edgewire_session' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
  });
  await app.register(async (docs) => {
    // The documentation is for operators and their scripts, like the API it describes.
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'operator' };
    });
    await docs.register(swaggerUi, { routePrefix: '/api/docs' });
  });
  await app.register(healthRoutes, {
    database: parts.database,
    sink: parts.sink,
    bus: parts.bus,
    draining: parts.draining,
  });
  await app.register(metricsRoutes, { registry: parts.metrics });
  await app.register(async (api) => registerApiRoutes(api, parts.apiRoutes, apiErrorSchema));
  await app.register(historyRoutes, {
    database: parts.database,
    authorizeRead: parts.authorizeRead,
    maxPointsPerAnswer: parts.config.historyMaxPoints,
  });
  await app.register(websocketRoutes, { handshake: parts.handshake, connections });
  await app.register(dashboardRoutes, { root: config.dashboardDir });
  return app;
}
