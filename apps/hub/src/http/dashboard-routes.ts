/**
 * The operators' web app at `/`: the built assets of apps/dashboard (SPEC "Dashboard").
 *
 * - Files under `/assets/` carry a content hash in their names, so they are cached for a year and never
 *   revalidated; `index.html` is revalidated every time so a new build is picked up at once.
 * - Every answer carries a strict Content-Security-Policy: scripts, styles and connections from this
 *   origin only, no inline script, no framing.
 * - Any other GET that accepts HTML and is not the API answers `index.html`, so deep links
 *   (`/devices/pi-1`) survive a reload.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export interface DashboardRoutesOptions {
  /** Directory holding `index.html` and `assets/`; defaults to the monorepo's apps/dashboard/dist. */
  root?: string | undefined;
}

/** Where `pnpm build` puts the dashboard, seen from this file in src/http or dist/http. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot sets element styles from script (positions of the cursor and legend); no <style> or style="" in HTML.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const YEAR_SEC = 365 * 24 * 3600;
/** Paths that are never the web app, even when a browser asks for HTML. */
const NOT_THE_APP = /^\/(api|ws|healthz|readyz|metrics)(\/|$)/;

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>edgewire</title>
<p>The dashboard has not been built. Run <code>npx --yes pnpm@10.34.8 build</code> (or <code>pnpm start</code>, which builds it), then reload.</p>`;

export const dashboardRoutes: FastifyPluginAsync<DashboardRoutesOptions> = async (app, options) => {
  const root = options.root ?? DEFAULT_DASHBOARD_DIR;
  const built = existsSync(join(root, 'index.html'));

  // The web app's files are public (the app asks for a session itself); say so on every route added here.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'public' } as typeof route.config;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (!NOT_THE_APP.test(request.url)) {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    }
    return payload;
  });

  if (!built) {
    app.log.warn({ root }, 'dashboard assets not found; / explains how to build them');
    app.get('/', async (_request, reply) => reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT));
    return;
  }

  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    cacheControl: false,
    setHeaders(reply, path) {
      const hashed = path.includes(`${join(root, 'assets')}`);
      reply.header('cache-control', hashed ? `public, max-age=${YEAR_SEC}, immutable` : 'no-cache');
    },
  });

  app.setNotFoundHandler((request, reply) => {
    const wantsHtml = (request.headers.accept ?? '').includes('text/html');
    if (request.method === 'GET' && wantsHtml && !NOT_THE_APP.test(request.url)) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return reply
      .code(404)
      .send({ error: 404, message: `${request.method} ${request.url.split('?')[0]}: not found` });
  });
};
