/**
 * `/healthz` (the process answers) and `/readyz` (it can take connections: storage reachable, the
 * telemetry writer keeping up, not shutting down). The load balancer checks `/readyz`, so it answers
 * 503 only for what stops this hub serving its clients. The bus to the other instances is reported, but
 * a Redis outage leaves `/readyz` at 200 with `status: "degraded"`: every hub then still serves its own
 * connections (only cross-hub delivery stops), and a 503 would make the balancer drop all of them at once.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Bus } from '../bus/bus.js';
import type { TelemetrySink } from '../ingest/telemetry-sink.js';
import type { Database } from '../storage/database.js';

export interface HealthRoutesOptions {
  database: Pick<Database, 'ping'>;
  sink: Pick<TelemetrySink, 'healthy'>;
  bus: Pick<Bus, 'healthy'>;
  /** True once the hub is shutting down: new connections belong on another instance. */
  draining(): boolean;
}

const PING_TIMEOUT_MS = 2000;

async function reachable(database: Pick<Database, 'ping'>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([database.ping().then(() => true as const), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (
  app,
  { database, sink, bus, draining },
) => {
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' } }, async (_request, reply) => {
    const storage = await reachable(database);
    const stopping = draining();
    const serving = storage && sink.healthy && !stopping;
    const status = stopping ? 'shutting down' : !serving ? 'not ready' : bus.healthy ? 'ready' : 'degraded';
    return reply.code(serving ? 200 : 503).send({
      status,
      storage: storage ? 'ok' : 'unreachable',
      telemetryWriter: sink.healthy ? 'ok' : 'failing',
      bus: bus.healthy ? 'ok' : 'unreachable',
    });
  });
};
