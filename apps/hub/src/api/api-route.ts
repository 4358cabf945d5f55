/**
 * How one route of the operators' API is declared: method, path, who may call it, its zod schemas and
 * a handler that receives parsed input. `registerApiRoutes` turns each declaration into a Fastify route
 * whose OpenAPI description is generated from the same schemas, so the documentation cannot drift
 * from what the hub accepts and answers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { InvalidRequestError } from '../errors.js';
import type { Access } from './access.js';
import type { Caller } from './callers.js';

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The caller (undefined only on public routes). */
  caller: Caller | undefined;
  /** The version named by `If-Match`, if any. */
  ifMatch: number | undefined;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface ApiRoute<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  access: Access;
  summary: string;
  tag: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The success status and its body schema (`null`: no body, e.g. 204). */
  status: number;
  response: z.ZodType | null;
  /** Other answers worth documenting (errors all share `apiErrorSchema`). */
  errors?: readonly number[];
  handler(input: RouteInput<P, Q, B>): Promise<unknown>;
}

/** Keeps each route's own types while collecting routes of different shapes in one table. */
export function route<P = undefined, Q = undefined, B = undefined>(
  definition: ApiRoute<P, Q, B>,
): ApiRoute<unknown, unknown, unknown> {
  return definition as ApiRoute<unknown, unknown, unknown>;
}

/** JSON Schema for OpenAPI, describing what a client sends (the input side of transforms). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : where;
  throw new InvalidRequestError(`${field}: ${issue.message}`);
}

/** `If-Match: "3"` (or `W/"3"`, or `3`) → 3. */
function ifMatchVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match) throw new InvalidRequestError('If-Match: expected the ETag of the resource, like "3"');
  return Number(match[1]);
}

export function etagOf(version: number): string {
  return `"${version}"`;
}

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid input: the message names the field',
  401: 'no valid credentials',
  403: 'not allowed (role, or a cookie request without an allowed Origin)',
  404: 'no such resource',
  409: 'already exists, or would leave no admin',
  412: 'If-Match names an old version; the body carries the current one',
  429: 'too many attempts; see Retry-After',
};

/**
 * Route options that describe a route in the OpenAPI document without changing what it does: zod
 * validates (in the handler, with messages that name the field) and answers are plain JSON, never
 * filtered through a serializer built from the schema.
 */
export function documentation(schema: Record<string, unknown>) {
  return {
    schema,
    validatorCompiler: () => (data: unknown) => ({ value: data }),
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
  };
}

export function registerApiRoutes(
  app: FastifyInstance,
  routes: readonly ApiRoute[],
  errorSchema: z.ZodType,
): void {
  const error = jsonSchema(errorSchema);
  for (const definition of routes) {
    const codes = new Set([400, 401, 403, ...(definition.errors ?? [])]);
    if (definition.access === 'public') codes.delete(403);
    const response: Record<string, unknown> = {
      [definition.status]:
        definition.response === null
          ? { description: 'done', type: 'null' }
          : { description: 'done', ...jsonSchema(definition.response) },
    };
    for (const code of codes) response[code] = { description: ERROR_TEXT[code] ?? 'error', ...error };
    app.route({
      method: definition.method,
      url: definition.url,
      config: { access: definition.access },
      ...documentation({
        summary: definition.summary,
        tags: [definition.tag],
        ...(definition.params ? { params: jsonSchema(definition.params, 'input') } : {}),
        ...(definition.query ? { querystring: jsonSchema(definition.query, 'input') } : {}),
        ...(definition.body ? { body: jsonSchema(definition.body, 'input') } : {}),
        response,
      }),
      handler: async (request, reply) => {
        const result = await definition.handler({
          params: parse(definition.params, request.params, 'path'),
          query: parse(definition.query, request.query, 'query'),
          body: parse(definition.body, request.body, 'body'),
          caller: request.caller,
          ifMatch: ifMatchVersion(request),
          request,
          reply,
        });
        const version = (result as { version?: unknown } | undefined)?.version;
        if (typeof version === 'number') reply.header('etag', etagOf(version));
        reply.code(definition.status);
        return definition.response === null ? reply.send() : reply.send(result);
      },
    });
  }
}
