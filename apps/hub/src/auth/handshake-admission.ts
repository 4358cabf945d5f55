/**
 * How many WebSocket handshakes the hub starts, before any token is looked up. Two budgets:
 * - the hub's: a global accept rate, so a reconnecting fleet (after a restart) or a flood from many
 *   addresses cannot take more handshake work than the hub can do;
 * - each address's: generous, because behind a carrier NAT or a load balancer a whole fleet shares one
 *   address; it stops one address from taking the whole global budget.
 * The address is the one Fastify resolved, i.e. the client's own behind a trusted proxy (EDGEWIRE_TRUST_PROXY).
 */
import { KeyedBuckets, TokenBucket } from '../connections/rate-limit.js';

export interface HandshakeRateLimits {
  /** Handshakes per second the hub starts, from all addresses together (burst: 2 s worth). */
  readonly handshakeRate: number;
  /** Handshakes per second from one address (burst: 2 s worth). */
  readonly handshakeRatePerAddress: number;
}

export interface HandshakeRefusal {
  readonly reason: string;
  /** What the client is told to wait (Retry-After). */
  readonly retryAfterSec: number;
}

/** Burst, in seconds worth of the sustained rate. */
const BURST_SEC = 2;

export class HandshakeAdmission {
  readonly #hub: TokenBucket;
  readonly #addresses: KeyedBuckets;

  constructor(limits: HandshakeRateLimits) {
    this.#hub = new TokenBucket(limits.handshakeRate, limits.handshakeRate * BURST_SEC);
    this.#addresses = new KeyedBuckets(
      limits.handshakeRatePerAddress,
      limits.handshakeRatePerAddress * BURST_SEC,
    );
  }

  /** `undefined` when a handshake from `address` may go ahead, else why not and for how long. */
  admit(address: string): HandshakeRefusal | undefined {
    // The address's budget first: an address over its own budget must not also drain the hub's.
    const addressWait = this.#addresses.take(address);
    if (addressWait > 0)
      return { reason: 'too many handshakes from this address', retryAfterSec: addressWait };
    if (!this.#hub.take()) {
      return {
        reason: 'the hub is accepting handshakes as fast as it can',
        retryAfterSec: Math.max(1, this.#hub.waitSec()),
      };
    }
    return undefined;
  }
}
