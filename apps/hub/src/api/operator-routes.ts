/**
 * The operators' HTTP API (SPEC "Operators' HTTP API"), as one table: each route's path, who may call
 * it, its schemas (from @edgewire/protocol) and what it does. Authorization comes from the `access`
 * column alone (see `access.ts`); a test walks the registered routes to prove it.
 */
import {
  addDeviceBodySchema,
  addTokenBodySchema,
  addUserBodySchema,
  auditPageSchema,
  auditQuerySchema,
  clientTokenListSchema,
  clientTokenViewSchema,
  connectionListSchema,
  deviceIdSchema,
  deviceListQuerySchema,
  deviceListSchema,
  deviceViewSchema,
  displayNameSchema,
  issuedCredentialSchema,
  patchDeviceBodySchema,
  patchTokenBodySchema,
  patchUserBodySchema,
  sessionInfoSchema,
  signInBodySchema,
  userListSchema,
  userNameSchema,
  userViewSchema,
} from '@edgewire/protocol';
import { z } from 'zod';
import type { AdminService } from '../admin/admin-service.js';
import { CredentialError } from '../auth/credentials.js';
import type { LiveConnections } from '../connections/live-connections.js';
import { NotFoundError } from '../errors.js';
import type { SessionStore } from '../operators/session-store.js';
import type { SignIn } from '../operators/sign-in.js';
import { type ApiRoute, route } from './api-route.js';
import { type CookieSettings, setSessionCookie } from './callers.js';
import type { OriginPolicy } from './origin.js';

export interface OperatorRoutesParts {
  admin: AdminService;
  signIn: SignIn;
  sessions: SessionStore;
  connections: LiveConnections;
  origins: OriginPolicy;
  cookies: CookieSettings;
  sessionMaxSec: number;
}

const deviceParams = z.object({ id: deviceIdSchema });
const tokenParams = z.object({
  id: z.string().regex(/^tok_[A-Za-z0-9_-]{1,64}$/, 'expected a token id (tok_…)'),
});
const userParams = z.object({ name: userNameSchema });
const connectionParams = z.object({ conn: z.string().regex(/^[0-9a-f]{16}$/, 'expected a connection id') });
const apiTokenParams = z.object({
  id: z.string().regex(/^apt_[A-Za-z0-9_-]{1,64}$/, 'expected an admin API token id'),
});
const apiTokenListSchema = z.object({
  apiTokens: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      createdBy: z.string(),
      createdAt: z.string(),
      lastUsedAt: z.string().nullable(),
      revokedAt: z.string().nullable(),
    }),
  ),
});

export function operatorRoutes(parts: OperatorRoutesParts): ApiRoute[] {
  const { admin, signIn, sessions, connections, origins, cookies } = parts;
  /** The service acting for this request's caller (audit log, `$admin` events). */
  const as = (caller: { actor: Parameters<AdminService['as']>[0] } | undefined) => admin.as(caller!.actor);
  return [
    // ---- session ----------------------------------------------------------------------------------
    route({
      method: 'POST',
      url: '/api/session',
      access: 'public',
      tag: 'session',
      summary: 'Sign in: sets the session cookie (HttpOnly, SameSite=Strict, Secure over TLS)',
      body: signInBodySchema,
      status: 200,
      response: sessionInfoSchema,
      errors: [429],
      handler: async ({ body, request, reply }) => {
        // Login CSRF: a foreign page must not sign the browser in to an account of its choosing.
        if (!origins.allowsAbsent(request)) {
          throw new CredentialError(403, 'Origin: sign-in must come from an allowed origin');
        }
        const { session, secret } = await signIn.signIn(body.name, body.password, request.ip);
        setSessionCookie(reply, request, cookies, secret, parts.sessionMaxSec);
        await admin.as({ name: `user:${session.name}`, address: request.ip }).record('session.signin');
        return { name: session.name, role: session.role, expiresAt: session.expiresAt.toISOString() };
      },
    }),
    route({
      method: 'GET',
      url: '/api/session',
      access: 'operator',
      tag: 'session',
      summary: 'Who am I',
      status: 200,
      response: sessionInfoSchema,
      handler: async ({ caller }) => {
        if (caller?.kind === 'session') {
          const { session } = caller;
          return { name: session.name, role: session.role, expiresAt: session.expiresAt.toISOString() };
        }
        return { name: caller!.actor.name, role: caller!.role, expiresAt: new Date(8.64e15).toISOString() };
      },
    }),
    route({
      method: 'DELETE',
      url: '/api/session',
      access: 'operator',
      tag: 'session',
      summary: 'Sign out: ends the session everywhere (its WebSockets close with 4003)',
      status: 204,
      response: null,
      handler: async ({ caller, request, reply }) => {
        if (caller?.kind !== 'session') return;
        await sessions.end(caller.session.id);
        setSessionCookie(reply, request, cookies, undefined);
        await as(caller).record('session.signout');
      },
    }),

    // ---- devices ----------------------------------------------------------------------------------
    route({
      method: 'GET',
      url: '/api/devices',
      access: 'operator',
      tag: 'devices',
      summary: 'Devices with presence, last seen, labels and the latest value per metric',
      query: deviceListQuerySchema,
      status: 200,
      response: deviceListSchema,
      handler: async ({ query }) => ({ devices: await admin.listDevices(query) }),
    }),
    route({
      method: 'GET',
      url: '/api/devices/:id',
      access: 'operator',
      tag: 'devices',
      summary: 'One device (ETag: its version)',
      params: deviceParams,
      status: 200,
      response: deviceViewSchema,
      errors: [404],
      handler: ({ params }) => admin.getDevice(params.id),
    }),
    route({
      method: 'POST',
      url: '/api/devices',
      access: 'admin',
      tag: 'devices',
      summary: 'Registers a device; its token is in this answer only',
      body: addDeviceBodySchema,
      status: 201,
      response: issuedCredentialSchema,
      errors: [409],
      handler: ({ body, caller }) =>
        as(caller).addDevice(body.id, {
          name: body.name,
          description: body.description,
          labels: body.labels,
        }),
    }),
    route({
      method: 'PATCH',
      url: '/api/devices/:id',
      access: 'admin',
      tag: 'devices',
      summary: 'Edits name, description, labels (If-Match: the version edited)',
      params: deviceParams,
      body: patchDeviceBodySchema,
      status: 200,
      response: deviceViewSchema,
      errors: [404, 412],
      handler: ({ params, body, caller, ifMatch }) => as(caller).editDevice(params.id, body, ifMatch),
    }),
    route({
      method: 'POST',
      url: '/api/devices/:id/token',
      access: 'admin',
      tag: 'devices',
      summary:
        "Rotates the device's token: the new one is in this answer only; the old one's connection closes 4003",
      params: deviceParams,
      status: 201,
      response: issuedCredentialSchema,
      errors: [404],
      handler: ({ params, caller }) => as(caller).rotateDeviceToken(params.id),
    }),
    route({
      method: 'DELETE',
      url: '/api/devices/:id',
      access: 'admin',
      tag: 'devices',
      summary: 'Deletes a device; its connection closes 4003',
      params: deviceParams,
      status: 204,
      response: null,
      errors: [404],
      handler: ({ params, caller }) => as(caller).removeDevice(params.id),
    }),

    // ---- client tokens ----------------------------------------------------------------------------
    route({
      method: 'GET',
      url: '/api/tokens',
      access: 'admin',
      tag: 'tokens',
      summary: 'Client tokens (never the secret)',
      status: 200,
      response: clientTokenListSchema,
      handler: async () => ({ tokens: await admin.listTokens() }),
    }),
    route({
      method: 'GET',
      url: '/api/tokens/:id',
      access: 'admin',
      tag: 'tokens',
      summary: 'One client token (ETag: its version)',
      params: tokenParams,
      status: 200,
      response: clientTokenViewSchema,
      errors: [404],
      handler: ({ params }) => admin.getToken(params.id),
    }),
    route({
      method: 'POST',
      url: '/api/tokens',
      access: 'admin',
      tag: 'tokens',
      summary: 'Creates a client token; the token is in this answer only',
      body: addTokenBodySchema,
      status: 201,
      response: issuedCredentialSchema,
      handler: ({ body, caller }) =>
        as(caller).addToken({
          name: body.name,
          permissions: body.permissions,
          maxConnections: body.maxConnections,
          expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
        }),
    }),
    route({
      method: 'PATCH',
      url: '/api/tokens/:id',
      access: 'admin',
      tag: 'tokens',
      summary: 'Edits name, permissions, maxConnections, expiry (If-Match); live connections close 4003',
      params: tokenParams,
      body: patchTokenBodySchema,
      status: 200,
      response: clientTokenViewSchema,
      errors: [404, 412],
      handler: ({ params, body, caller, ifMatch }) =>
        as(caller).editToken(
          params.id,
          {
            name: body.name,
            permissions: body.permissions,
            maxConnections: body.maxConnections,
            expiresAt:
              body.expiresAt === undefined
                ? undefined
                : body.expiresAt === null
                  ? null
                  : new Date(body.expiresAt),
          },
          ifMatch,
        ),
    }),
    route({
      method: 'DELETE',
      url: '/api/tokens/:id',
      access: 'admin',
      tag: 'tokens',
      summary: 'Revokes a client token; its connections close 4003',
      params: tokenParams,
      status: 204,
      response: null,
      errors: [404],
      handler: ({ params, caller }) => as(caller).revokeToken(params.id),
    }),

    // ---- live connections -------------------------------------------------------------------------
    route({
      method: 'GET',
      url: '/api/connections',
      access: 'operator',
      tag: 'connections',
      summary: 'Live connections on every hub instance: who, from where, since when, subscriptions, bytes',
      status: 200,
      response: connectionListSchema,
      handler: async () => ({ connections: await connections.list() }),
    }),
    route({
      method: 'DELETE',
      url: '/api/connections/:conn',
      access: 'admin',
      tag: 'connections',
      summary: 'Kicks a live connection (close code 4008); the client may reconnect',
      params: connectionParams,
      status: 204,
      response: null,
      errors: [404],
      handler: async ({ params, caller }) => {
        if (!(await connections.kick(params.conn))) throw new NotFoundError(`no connection ${params.conn}`);
        await as(caller).record('connection.kick', `connection:${params.conn}`);
      },
    }),

    // ---- operators --------------------------------------------------------------------------------
    route({
      method: 'GET',
      url: '/api/users',
      access: 'admin',
      tag: 'users',
      summary: 'Operators',
      status: 200,
      response: userListSchema,
      handler: async () => ({ users: await admin.listUsers() }),
    }),
    route({
      method: 'POST',
      url: '/api/users',
      access: 'admin',
      tag: 'users',
      summary: 'Adds an operator',
      body: addUserBodySchema,
      status: 201,
      response: userViewSchema,
      errors: [409],
      handler: ({ body, caller }) => as(caller).addUser(body.name, body.role, body.password),
    }),
    route({
      method: 'PATCH',
      url: '/api/users/:name',
      access: 'admin',
      tag: 'users',
      summary: "Changes an operator's role or password (If-Match); ends their sessions and WebSockets (4003)",
      params: userParams,
      body: patchUserBodySchema,
      status: 200,
      response: userViewSchema,
      errors: [404, 409, 412],
      handler: ({ params, body, caller, ifMatch }) => as(caller).editUser(params.name, body, ifMatch),
    }),
    route({
      method: 'DELETE',
      url: '/api/users/:name',
      access: 'admin',
      tag: 'users',
      summary: 'Removes an operator; ends their sessions and WebSockets (4003)',
      params: userParams,
      status: 204,
      response: null,
      errors: [404, 409],
      handler: ({ params, caller }) => as(caller).removeUser(params.name),
    }),

    // ---- audit log --------------------------------------------------------------------------------
    route({
      method: 'GET',
      url: '/api/audit',
      access: 'admin',
      tag: 'audit',
      summary: 'The audit log, newest first; `before` pages back; filters match exactly',
      query: auditQuerySchema,
      status: 200,
      response: auditPageSchema,
      handler: ({ query }) => admin.audit(query),
    }),

    // ---- admin API tokens (management CLI only) ---------------------------------------------------
    route({
      method: 'GET',
      url: '/api/apitokens',
      access: 'local',
      tag: 'admin API tokens',
      summary: 'Admin API tokens (never the secret); for `edgewire-hub apitoken ls`',
      status: 200,
      response: apiTokenListSchema,
      handler: async () => ({
        apiTokens: (await admin.listApiTokens()).map((t) => ({
          id: t.id,
          name: t.name,
          createdBy: t.createdBy,
          createdAt: t.createdAt.toISOString(),
          lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
          revokedAt: t.revokedAt?.toISOString() ?? null,
        })),
      }),
    }),
    route({
      method: 'POST',
      url: '/api/apitokens',
      access: 'local',
      tag: 'admin API tokens',
      summary: 'Creates an admin API token, in this answer only; for `edgewire-hub apitoken add`',
      body: z.object({ name: displayNameSchema }),
      status: 201,
      response: issuedCredentialSchema,
      handler: ({ body, caller }) => as(caller).addApiToken(body.name),
    }),
    route({
      method: 'DELETE',
      url: '/api/apitokens/:id',
      access: 'local',
      tag: 'admin API tokens',
      summary: 'Revokes an admin API token; for `edgewire-hub apitoken revoke`',
      params: apiTokenParams,
      status: 204,
      response: null,
      errors: [404],
      handler: ({ params, caller }) => as(caller).revokeApiToken(params.id),
    }),
  ];
}
