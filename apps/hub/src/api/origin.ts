/**
 * Cross-site request forgery and WebSocket hijacking: a browser sends the operator's cookie with any
 * request to the hub, even one a foreign page starts. Such requests carry that page's `Origin`, so a
 * cookie-authenticated request that changes something (or opens `/ws`) must come from the hub's own
 * origin or one listed in `EDGEWIRE_ALLOWED_ORIGINS`; without an `Origin` it is refused too.
 */
import type { FastifyRequest } from 'fastify';

export class OriginPolicy {
  readonly #allowed: Set<string>;

  constructor(allowed: readonly string[]) {
    this.#allowed = new Set(allowed.map((origin) => origin.toLowerCase()));
  }

  /** True when the request names an origin that may use the operator cookie. */
  allows(request: FastifyRequest): boolean {
    const origin = request.headers.origin?.toLowerCase();
    if (origin === undefined || origin === 'null') return false;
    return origin === `${request.protocol}://${request.host}`.toLowerCase() || this.#allowed.has(origin);
  }

  /** For sign-in, which has no cookie yet: a request without `Origin` (curl, scripts) is fine, a foreign one is not. */
  allowsAbsent(request: FastifyRequest): boolean {
    return request.headers.origin === undefined || this.allows(request);
  }
}
