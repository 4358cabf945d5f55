/**
 * `/healthz` (the process answers) and `/readyz` (it can do its job: storage reachable, the telemetry
 * writer keeping up, the bus connected to the other instances).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Bus } from '../bus/bus.js';
import type { TelemetrySink } from '../ingest/telemetry-sink.js';
import type { Database } from '../storage/database.js';

export interface HealthRoutesOptions {
  database: Pick<Database, 'ping'>;
  sink: Pick<TelemetrySink, 'healthy'>;
  bus: Pick<Bus, 'healthy'>;
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

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { database, sink, bus }) => {
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' } }, async (_request, reply) => {
    const storage = await reachable(database);
    const ready = storage && sink.healthy && bus.healthy;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      storage: storage ? 'ok' : 'unreachable',
      telemetryWriter: sink.healthy ? 'ok' : 'failing',
      bus: bus.healthy ? 'ok' : 'unreachable',
    });
  });
};
