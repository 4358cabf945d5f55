/**
 * Abuse limits for everything under `/api`, whichever plugin registers the route (history, admin,
 * sessions): credentials only in one `Authorization` header (400 otherwise); per remote address, a
 * request rate (token bucket, burst 5 s worth) and a budget of failed authentications (401s a
 * minute). Past either, the address gets 429 with `Retry-After` before any token is looked up, so a
 * flood of random tokens costs a bucket check instead of a database query. A request holds one unit
 * of the failure budget while it runs (given back unless it ends in 401), so concurrent requests
 * cannot overdraw it. A 429 is held back a second before it is sent (as nginx's `limit_req` delays
 * excess requests), so a client that ignores `Retry-After` slows itself down instead of spinning
 * the hub's event loop with cheap refusals; at most `MAX_HELD` answers are held at a time.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CredentialError, checkCredentialPlacement } from '../auth/credentials.js';
import { KeyedBuckets } from '../connections/rate-limit.js';
import type { LogSummary } from '../log-summary.js';
import { HubStats } from '../stats.js';

export interface ApiGuardLimits {
  /** Requests per second per address (burst: 5 s worth). */
  readonly apiRatePerAddress: number;
  /** Requests answered 401 per minute per address (burst: a minute's worth). */
  readonly apiAuthFailuresPerMinute: number;
}

export interface ApiGuardOptions {
  limits: ApiGuardLimits;
  stats: HubStats;
  /** Refusals are logged per address: the first ones in full, then summed up per interval. */
  refusalLog: LogSummary;
}

/** How long a 429 is held back before it is sent. */
const HOLD_THROTTLED_MS = 1000;
/** Answers held back at once; beyond this they are sent at once (the hold must not cost memory without bound). */
const MAX_HELD = 1000;

const isApiPath = (url: string): boolean =>
  url === '/api' || url.startsWith('/api/') || url.startsWith('/api?');

const guard: FastifyPluginAsync<ApiGuardOptions> = async (app, { limits, stats, refusalLog }) => {
  const requests = new KeyedBuckets(limits.apiRatePerAddress, limits.apiRatePerAddress * 5);
  const failures = new KeyedBuckets(limits.apiAuthFailuresPerMinute / 60, limits.apiAuthFailuresPerMinute);
  const holdingFailureBudget = new WeakSet<FastifyRequest>();
  let held = 0;

  const refuse = async (
    request: FastifyRequest,
    reply: FastifyReply,
    error: CredentialError,
    limit?: string,
  ) => {
    if (limit !== undefined) HubStats.bump(stats.limitRefusals, limit);
    refusalLog.note(request.ip, {
      status: error.statusCode,
      reason: error.message,
      address: request.ip,
      path: request.url.split('?')[0],
    });
    if (error.retryAfterSec !== undefined) reply.header('retry-after', String(error.retryAfterSec));
    if (error.statusCode === 429 && held < MAX_HELD) {
      held++;
      await new Promise((resolve) => setTimeout(resolve, HOLD_THROTTLED_MS));
      held--;
    }
    await reply.code(error.statusCode).send({ error: error.statusCode, message: error.message });
    return reply;
  };

  app.addHook('onRequest', async (request, reply) => {
    if (!isApiPath(request.url)) return;
    try {
      checkCredentialPlacement(request);
    } catch (error) {
      if (error instanceof CredentialError) return refuse(request, reply, error);
      throw error;
    }
    const wait = requests.take(request.ip);
    if (wait > 0) {
      return refuse(
        request,
        reply,
        new CredentialError(429, 'too many requests from this address', wait),
        'api_rate',
      );
    }
    const backOff = failures.take(request.ip);
    if (backOff > 0) {
      const error = new CredentialError(429, 'too many failed authentications from this address', backOff);
      return refuse(request, reply, error, 'api_auth_failures');
    }
    holdingFailureBudget.add(request);
  });

  app.addHook('onResponse', async (request, reply) => {
    if (holdingFailureBudget.delete(request) && reply.statusCode !== 401) failures.giveBack(request.ip);
  });
};

// Fastify's documented opt-out of encapsulation (what fastify-plugin sets): the hooks land on the
// root instance, so routes registered by any other plugin, now or later, are covered.
Object.assign(guard, { [Symbol.for('skip-override')]: true });

export const apiGuard = guard;
