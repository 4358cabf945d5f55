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
 *
 * A refused client is told (Retry-After) when its turn comes, not just "later": refused clients queue,
 * and the queue drains at the rate that refused them. A fleet refused together thus comes back spread
 * over the time the hub needs to take it, instead of all at once a second later, to be refused again.
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
/** The longest wait a refused client is told: a queue beyond it is a flood, not a fleet coming back. */
const MAX_RETRY_AFTER_SEC = 60;
/** Forgets drained address queues once the map grows past this, so many addresses cannot grow it. */
const PRUNE_ABOVE = 10_000;

/** Clients told to come back, draining at the rate they will be admitted. */
class ReturnQueue {
  #length = 0;
  #updated = performance.now();

  constructor(private readonly ratePerSec: number) {}

  /** Joins the queue: the seconds until this client's turn (whole seconds, as Retry-After has them). */
  join(now: number): number {
    this.#drain(now);
    this.#length = Math.min(this.#length + 1, this.ratePerSec * MAX_RETRY_AFTER_SEC);
    return Math.max(1, Math.ceil(this.#length / this.ratePerSec));
  }

  isEmpty(now: number): boolean {
    this.#drain(now);
    return this.#length === 0;
  }

  #drain(now: number): void {
    this.#length = Math.max(0, this.#length - ((now - this.#updated) / 1000) * this.ratePerSec);
    this.#updated = now;
  }
}

export class HandshakeAdmission {
  readonly #hub: TokenBucket;
  readonly #addresses: KeyedBuckets;
  readonly #maxPending: number;
  readonly #hubQueue: ReturnQueue;
  readonly #addressQueues = new Map<string, ReturnQueue>();
  readonly #addressRate: number;
  #pending = 0;

  constructor(limits: HandshakeRateLimits) {
    this.#maxPending = limits.handshakesPending;
    this.#hubQueue = new ReturnQueue(limits.handshakeRate);
    this.#addressRate = limits.handshakeRatePerAddress;
    this.#hub = new TokenBucket(limits.handshakeRate, limits.handshakeRate * BURST_SEC);
    this.#addresses = new KeyedBuckets(
      limits.handshakeRatePerAddress,
      limits.handshakeRatePerAddress * BURST_SEC,
    );
  }

  /** A ticket when a handshake from `address` may go ahead, else why not and for how long. */
  admit(address: string): HandshakeTicket | HandshakeRefusal {
    if (this.#pending >= this.#maxPending)
      return this.#refuseByHub(address, 'the hub is busy checking other handshakes');
    // The address's budget before the hub's: an address over its own budget must not also drain the
    // hub's, nor lengthen the hub's queue (what other addresses are told to wait).
    if (this.#addresses.take(address) > 0) {
      const wait = this.#addressQueue(address).join(performance.now());
      return { admitted: false, reason: 'too many handshakes from this address', retryAfterSec: wait };
    }
    if (!this.#hub.take()) {
      this.#addresses.giveBack(address);
      return this.#refuseByHub(address, 'the hub is accepting handshakes as fast as it can');
    }
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

  /** Refused for the hub's sake: the client comes back when both the hub's and its address's turn came. */
  #refuseByHub(address: string, reason: string): HandshakeRefusal {
    const now = performance.now();
    const wait = Math.max(this.#hubQueue.join(now), this.#addressQueue(address).join(now));
    return { admitted: false, reason, retryAfterSec: wait };
  }

  #addressQueue(address: string): ReturnQueue {
    let queue = this.#addressQueues.get(address);
    if (!queue) {
      if (this.#addressQueues.size >= PRUNE_ABOVE) {
        const now = performance.now();
        for (const [key, q] of this.#addressQueues) if (q.isEmpty(now)) this.#addressQueues.delete(key);
      }
      queue = new ReturnQueue(this.#addressRate);
      this.#addressQueues.set(address, queue);
    }
    return queue;
  }
}
