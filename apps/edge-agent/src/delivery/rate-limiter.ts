/**
 * A token bucket in readings per second. It paces replay after an outage, so a Pi that buffered a day
 * of readings sends them at a rate the hub and the network can take instead of all at once.
 */
export class RateLimiter {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = perSecond;
    this.refilledAt = now();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
  }

  /** Ms until `count` may be taken; 0 when now. A request larger than a second's worth waits for a full bucket. */
  delayFor(count: number): number {
    this.refill();
    const needed = Math.min(count, this.perSecond);
    if (this.tokens >= needed) return 0;
    return Math.ceil(((needed - this.tokens) / this.perSecond) * 1000);
  }

  take(count: number): void {
    this.refill();
    this.tokens -= count;
  }
}
