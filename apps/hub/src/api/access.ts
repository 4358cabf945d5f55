/**
 * Authorization of every HTTP route from one place: each route declares who may call it
 * (`config.access`), a route without a declaration stops the hub at start-up, and one hook enforces
 * the declarations before any handler runs.
 *
 * - `public`: anyone (sign-in, health, readiness, metrics)
 * - `operator`: any signed-in operator or admin program
 * - `admin`: an operator with the admin role, an admin API token, or the local CLI
 * - `local`: the management CLI alone (it holds the local admin secret), e.g. minting admin API tokens
 * - `self`: the route checks credentials itself (WebSocket handshakes, history for client tokens)
 *
 * A cookie-authenticated request that may change something must carry an allowed `Origin` (CSRF).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Caller, CallerResolver } from './callers.js';
import type { OriginPolicy } from './origin.js';

export type Access = 'public' | 'operator' | 'admin' | 'local' | 'self';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** Set by the access hook on `operator`, `admin` and `local` routes. */
    caller: Caller | undefined;
  }
  interface FastifyInstance {
    /** Every route registered on the hub with its declared access (tests walk it). */
    declaredRoutes(): Array<{ method: string; url: string; access: Access | undefined; websocket: boolean }>;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AccessControlOptions {
  callers: CallerResolver;
  origins: OriginPolicy;
}

function refuse(reply: FastifyReply, status: 401 | 403, message: string): FastifyReply {
  return reply.code(status).send({ error: status, message });
}

/** Installs the declaration check and the enforcing hook on `app` (the root instance). */
export function installAccessControl(app: FastifyInstance, { callers, origins }: AccessControlOptions): void {
  app.decorateRequest('caller', undefined);
  // Checked once all plugins are in: a plugin's own onRoute hook may add the declaration after this one runs.
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.decorate('declaredRoutes', () =>
    routes.flatMap((route) =>
      (Array.isArray(route.method) ? route.method : [route.method]).map((method) => ({
        method: String(method),
        url: route.url,
        access: route.config?.access,
        websocket: (route as { websocket?: boolean }).websocket === true,
      })),
    ),
  );
  app.addHook('onReady', async () => {
    const undeclared = routes.find((route) => route.config?.access === undefined);
    if (undeclared) {
      throw new Error(
        `route ${String(undeclared.method)} ${undeclared.url} declares no access level (config.access)`,
      );
    }
  });
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public' || access === 'self') return;
    const caller = await callers.resolve(request);
    if (!caller) return refuse(reply, 401, 'sign in, or send Authorization: Bearer <admin API token>');
    if (caller.kind === 'session' && !SAFE_METHODS.has(request.method) && !origins.allows(request)) {
      return refuse(
        reply,
        403,
        'Origin: a request made with the session cookie must come from an allowed origin',
      );
    }
    if (access === 'admin' && caller.role !== 'admin') return refuse(reply, 403, 'only an admin may do this');
    if (access === 'local' && caller.kind !== 'local') {
      return refuse(reply, 403, 'only the management CLI (edgewire-hub) may do this');
    }
    request.caller = caller;
  });
}
