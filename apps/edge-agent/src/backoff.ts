/**
 * Capped exponential backoff with full jitter: attempt n waits a uniformly random time in
 * [0, min(max, initial × 2^n)]. Jitter spreads a fleet of agents that lost the hub at the same moment,
 * so they do not come back in one thundering herd.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Uniform random number in [0, 1); injectable so the schedule can be checked. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.random = options.random ?? Math.random;
  }

  /** Upper bound of the next delay. */
  ceiling(): number {
    // 2^attempt overflows to Infinity long after it passed any cap; min() keeps it finite.
    return Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.attempt);
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling());
    if (this.ceiling() < this.options.maxMs) this.attempt++;
    return delay;
  }

  /** After a stable connection: the next failure starts from the initial delay again. */
  reset(): void {
    this.attempt = 0;
  }
}
