import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const options = { initialMs: 100, maxMs: 1000 };

  it('grows the ceiling exponentially up to the cap', () => {
    const highest = (attempt: number) => backoffDelay(attempt, options, () => 0.999999);
    expect([0, 1, 2, 3, 4, 10, 1000].map(highest)).toEqual([99, 199, 399, 799, 999, 999, 999]);
  });

  it('waits anywhere from zero to the ceiling (full jitter)', () => {
    expect(backoffDelay(5, options, () => 0)).toBe(0);
    expect(backoffDelay(2, options, () => 0.5)).toBe(200);
  });
});
