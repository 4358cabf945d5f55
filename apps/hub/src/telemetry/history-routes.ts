/**
 * `GET /api/devices/{id}/readings` and `GET /api/devices/{id}/latest`. Reading a device's history
 * needs the same right as watching it live: read access to `devices/{id}/#`, checked by the
 * `authorizeRead` the hub supplies (it throws an error carrying `statusCode` 401 or 403).
 */
import {
  describeQueryError,
  deviceIdSchema,
  historyQuerySchema,
  historyResponseSchema,
  latestResponseSchema,
  NAME_RULE,
} from '@edgewire/protocol';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { documentation, jsonSchema } from '../api/api-route.js';
import type { Database } from '../storage/database.js';
import { readHistory, readLatest, resolveHistoryRequest } from './history.js';
import { historyToCsv } from './history-csv.js';
import { detectStorageMode, type StorageMode } from './storage-mode.js';

export interface HistoryRoutesOptions {
  database: Database;
  authorizeRead(request: FastifyRequest, filter: string): Promise<void>;
}

type DeviceRequest = FastifyRequest<{ Params: { id: string }; Querystring: Record<string, unknown> }>;

const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send({ error: 400, message });

const wantsCsv = (request: FastifyRequest): boolean => /\btext\/csv\b/i.test(request.headers.accept ?? '');

export const historyRoutes: FastifyPluginAsync<HistoryRoutesOptions> = async (
  app,
  { database, authorizeRead },
) => {
  // Asked once, on first use: the hub migrates before serving, and the answer never changes while it runs.
  let mode: Promise<StorageMode> | undefined;
  const storageMode = () => {
    mode ??= detectStorageMode(database).catch((error) => {
      mode = undefined;
      throw error;
    });
    return mode;
  };

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error.statusCode === 401 || error.statusCode === 403) {
      return reply.code(error.statusCode).send({ error: error.statusCode, message: error.message });
    }
    request.log.error({ err: error }, 'history request failed');
    return reply.code(500).send({ error: 500, message: 'internal error' });
  });

  /** Checks the id and the caller's right to read the device; false when it already answered. */
  const admitted = async (request: DeviceRequest, reply: FastifyReply): Promise<boolean> => {
    if (!deviceIdSchema.safeParse(request.params.id).success) {
      await badRequest(reply, `id: ${NAME_RULE}`);
      return false;
    }
    await authorizeRead(request, `devices/${request.params.id}/#`);
    return true;
  };

  const params = jsonSchema(z.object({ id: deviceIdSchema }), 'input');
  const readings = documentation({
    summary: 'History of a device: bucketed series per metric (JSON, or CSV with Accept: text/csv)',
    tags: ['history'],
    params,
    querystring: jsonSchema(historyQuerySchema, 'input'),
    response: { 200: { description: 'series', ...jsonSchema(historyResponseSchema) } },
  });
  const latest = documentation({
    summary: 'The newest stored value per metric of a device',
    tags: ['history'],
    params,
    response: { 200: { description: 'latest values', ...jsonSchema(latestResponseSchema) } },
  });

  app.get(
    '/api/devices/:id/readings',
    { config: { access: 'self' }, ...readings },
    async (request: DeviceRequest, reply) => {
      if (!(await admitted(request, reply))) return reply;
      const query = historyQuerySchema.safeParse(request.query);
      if (!query.success) return badRequest(reply, describeQueryError(query.error));
      const resolved = resolveHistoryRequest(request.params.id, query.data, Date.now());
      if (!resolved.ok) return badRequest(reply, resolved.error);
      const history = await readHistory(database, await storageMode(), resolved.request);
      if (wantsCsv(request)) return reply.type('text/csv; charset=utf-8').send(historyToCsv(history));
      return history;
    },
  );

  app.get(
    '/api/devices/:id/latest',
    { config: { access: 'self' }, ...latest },
    async (request: DeviceRequest, reply) => {
      if (!(await admitted(request, reply))) return reply;
      return readLatest(database, request.params.id);
    },
  );
};
