/**
 * How many WebSocket handshakes the hub starts, before any token is looked up. Three budgets:
 * - handshakes in progress (token lookup under way): a cap that follows the hub's actual speed, so that
 *   when the database is slow, clients are told to come back (cheap 429) instead of queueing until they
 *   time out and retry, which would leave the hub working on handshakes nobody waits for any more;
 * - the hub's rate: a global accept rate, so a reconnecting fleet (after a restart) or a flood from many
 *   addresses cannot take more handshake work than the hub can do;
 * - each address's: generous, because behind a carrier NAT or a load balancer a whole fleet shares one
 *   address; it stops one address from taking the whole global budget.
 * The address is the one Fastify resolved, i.e. the client's own behind a trusted proxy (EDGEWIRE_TRUST_PROXY).
 */
import { KeyedBuckets, TokenBucket } from '../connections/rate-limit.js';

export interface HandshakeRateLimits {
  /** Handshakes whose token check may be under way at once. */
  readonly handshakesPending: number;
  /** Handshakes per second the hub starts, from all addresses together (burst: 2 s worth). */
  readonly handshakeRate: number;
  /** Handshakes per second from one address (burst: 2 s worth). */
  readonly handshakeRatePerAddress: number;
}

export interface HandshakeRefusal {
  readonly admitted: false;
  readonly reason: string;
  /** What the client is told to wait (Retry-After). */
  readonly retryAfterSec: number;
}

/** An admitted handshake; `done` when its checks are over, whatever their outcome. */
export interface HandshakeTicket {
  readonly admitted: true;
  done(): void;
}

/** Burst, in seconds worth of the sustained rate. */
const BURST_SEC = 2;

export class HandshakeAdmission {
  readonly #hub: TokenBucket;
  readonly #addresses: KeyedBuckets;
  readonly #maxPending: number;
  #pending = 0;

  constructor(limits: HandshakeRateLimits) {
    this.#maxPending = limits.handshakesPending;
    this.#hub = new TokenBucket(limits.handshakeRate, limits.handshakeRate * BURST_SEC);
    this.#addresses = new KeyedBuckets(
      limits.handshakeRatePerAddress,
      limits.handshakeRatePerAddress * BURST_SEC,
    );
  }

  /** A ticket when a handshake from `address` may go ahead, else why not and for how long. */
  admit(address: string): HandshakeTicket | HandshakeRefusal {
    if (this.#pending >= this.#maxPending) return refuse('the hub is busy checking other handshakes', 1);
    // The address's budget before the hub's: an address over its own budget must not also drain the hub's.
    const addressWait = this.#addresses.take(address);
    if (addressWait > 0) return refuse('too many handshakes from this address', addressWait);
    if (!this.#hub.take())
      return refuse('the hub is accepting handshakes as fast as it can', this.#hub.waitSec());
    this.#pending++;
    let done = false;
    return {
      admitted: true,
      done: () => {
        if (done) return;
        done = true;
        this.#pending--;
      },
    };
  }
}

function refuse(reason: string, retryAfterSec: number): HandshakeRefusal {
  return { admitted: false, reason, retryAfterSec: Math.max(1, retryAfterSec) };
}
