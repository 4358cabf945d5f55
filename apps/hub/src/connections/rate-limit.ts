/**
 * Rate limiting primitives: a token bucket, buckets per key, a per-key count within a sliding window,
 * and a count of strikes within a window.
 */

export class TokenBucket {
  #tokens: number;
  #updated: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now = performance.now(),
  ) {
    this.#tokens = burst;
    this.#updated = now;
  }

  /** Takes one token if there is one. */
  take(now = performance.now()): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Seconds until one token is available. */
  waitSec(now = performance.now()): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.ratePerSec);
  }

  /** Gives back a token taken for something that turned out not to count. */
  giveBack(): void {
    this.#tokens = Math.min(this.burst, this.#tokens + 1);
  }

  /** True when the bucket is back to full, i.e. it remembers nothing worth keeping. */
  isFull(now = performance.now()): boolean {
    this.#refill(now);
    return this.#tokens >= this.burst;
  }

  #refill(now: number): void {
    const elapsed = (now - this.#updated) / 1000;
    this.#updated = now;
    this.#tokens = Math.min(this.burst, this.#tokens + elapsed * this.ratePerSec);
  }
}

/** Forgets idle keys once the map grows past this, so that many addresses cannot grow it for ever. */
const PRUNE_ABOVE = 10_000;

/** A token bucket per key (e.g. per remote address). */
export class KeyedBuckets {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  /** 0 when `key` may go ahead (a token was taken), else the seconds to wait. */
  take(key: string): number {
    const now = performance.now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= PRUNE_ABOVE) this.#prune(now);
      bucket = new TokenBucket(this.ratePerSec, this.burst, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(now) ? 0 : Math.max(1, bucket.waitSec(now));
  }

  /** Gives back a token `take` took for `key`. */
  giveBack(key: string): void {
    this.#buckets.get(key)?.giveBack();
  }

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.isFull(now)) this.#buckets.delete(key);
  }
}

/** At most `limit` events per key within a sliding `windowMs` (e.g. connections of one device a minute). */
export class SlidingWindowCounter {
  readonly #events = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Records an event for `key`: 0 when within the limit, else the seconds until it would be. */
  hit(key: string, now = Date.now()): number {
    if (!this.#events.has(key) && this.#events.size >= PRUNE_ABOVE) this.#prune(now);
    const since = now - this.windowMs;
    const times = (this.#events.get(key) ?? []).filter((t) => t > since);
    if (times.length >= this.limit) {
      this.#events.set(key, times);
      return Math.max(1, Math.ceil((times[0]! - since) / 1000));
    }
    times.push(now);
    this.#events.set(key, times);
    return 0;
  }

  #prune(now: number): void {
    const since = now - this.windowMs;
    for (const [key, times] of this.#events) if (times.every((t) => t <= since)) this.#events.delete(key);
  }
}

/**
 * Strikes (refused or invalid frames) within a window that starts at the first strike after the
 * previous window ended: a client that errs now and then never reaches a tolerance meant for floods.
 */
export class StrikeCount {
  #count = 0;
  #windowStart = 0;

  constructor(private readonly windowMs: number) {}

  /** Records a strike; the number of strikes in the current window, this one included. */
  hit(now = Date.now()): number {
    if (this.#count === 0 || now - this.#windowStart > this.windowMs) {
      this.#count = 0;
      this.#windowStart = now;
    }
    return ++this.#count;
  }
}
