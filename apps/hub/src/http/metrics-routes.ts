import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

export const metricsRoutes: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  // Public like the health routes: Prometheus scrapes without credentials; no label carries one.
  app.get('/metrics', { config: { access: 'public' } }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};
