/**
 * The local admin endpoint: lets management commands reach a running hub (PGlite admits one process,
 * and only the hub can close live connections). Guarded by a secret the hub writes into its data
 * directory with 0600 permissions, so whoever may read the data directory may administer the hub.
 */
import {
  addDeviceBodySchema,
  addTokenBodySchema,
  type Permission,
  setPermissionsBodySchema,
} from '@edgewire/protocol';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { sameSecret } from '../auth/secrets.js';
import { ConflictError, NotFoundError } from '../auth/token-store.js';
import { type AdminApi, InvalidRequestError } from './admin-service.js';

export interface AdminRoutesOptions {
  admin: AdminApi;
  secret: string;
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidRequestError(`${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return result.data;
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof InvalidRequestError) return 400;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  return undefined;
}

export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, { admin, secret }) => {
  app.addHook('onRequest', async (request, reply) => {
    const presented = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (!sameSecret(presented, secret))
      await reply.code(401).send({ error: 401, message: 'admin secret required' });
  });
  app.setErrorHandler(async (error, request, reply: FastifyReply) => {
    const status = statusOf(error);
    if (status === undefined) {
      request.log.error({ err: error }, 'admin request failed');
      return reply.code(500).send({ error: 500, message: 'internal error' });
    }
    return reply.code(status).send({ error: status, message: (error as Error).message });
  });

  app.get('/devices', async () => admin.listDevices());
  app.get('/tokens', async () => admin.listTokens());
  app.post('/devices', async (request, reply) => {
    const { id } = parseBody(addDeviceBodySchema, request.body);
    return reply.code(201).send(await admin.addDevice(id));
  });
  app.delete<{ Params: { id: string } }>('/devices/:id', async (request, reply) => {
    await admin.removeDevice(request.params.id);
    return reply.code(204).send();
  });
  app.post('/tokens', async (request, reply) => {
    const body = parseBody(addTokenBodySchema, request.body);
    const issued = await admin.addToken({
      permissions: body.permissions,
      maxConnections: body.maxConnections,
      expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
    });
    return reply.code(201).send(issued);
  });
  app.delete<{ Params: { id: string } }>('/tokens/:id', async (request, reply) => {
    await admin.revokeToken(request.params.id);
    return reply.code(204).send();
  });
  app.put<{ Params: { id: string } }>('/tokens/:id/permissions', async (request, reply) => {
    const { permissions } = parseBody(setPermissionsBodySchema, request.body);
    await admin.setTokenPermissions(request.params.id, permissions as Permission[]);
    return reply.code(204).send();
  });
};
