/**
 * Capped exponential backoff with full jitter: the n-th retry waits a uniformly random time in
 * [0, min(cap, base · 2^n)). Full jitter spreads a fleet of clients that lost the same hub at the same
 * moment, so they do not all knock on its door again in lockstep.
 */
export interface BackoffOptions {
  /** Upper bound of the first wait, ms. */
  initialMs: number;
  /** No wait is ever longer than this, ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  // 2^31 already exceeds any sensible cap; stop the exponent there so it never overflows to Infinity.
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 31));
  return Math.floor(random() * ceiling);
}
