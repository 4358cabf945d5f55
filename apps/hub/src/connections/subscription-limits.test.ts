import { describe, expect, it } from 'vitest';
import { filterBytes, subscriptionLimitError, usageOf } from './subscription-limits.js';

const LIMITS = {
  maxSubscriptions: 3,
  maxSubscriptionBytes: 20_000,
  maxSubscriptionsPerToken: 5,
  maxSubscriptionBytesPerToken: 30_000,
};
const NONE = { count: 0, bytes: 0 };

describe('subscription limits', () => {
  it('estimates a filter by its text and, above all, its levels', () => {
    expect(filterBytes('a')).toBe(2 + 256);
    expect(filterBytes('devices/+/telemetry/#')).toBe(42 + 4 * 256);
    // The measured cost of the long 30-level filters of issue 13: about 9.3 KiB each.
    const long = Array.from({ length: 30 }, () => 'x'.repeat(30)).join('/');
    expect(filterBytes(long) / 1024).toBeCloseTo(9.3, 0);
    expect(filterBytes('é')).toBe(4 + 256);
    expect(usageOf(['a', 'b/c'])).toEqual({ count: 2, bytes: 2 + 256 + 6 + 512 });
  });

  it('names the limit that a subscription would break', () => {
    const add = (n: number) => usageOf(Array.from({ length: n }, (_, i) => `f${i}`));
    expect(subscriptionLimitError(LIMITS, NONE, NONE, add(3))).toBeNull();
    expect(subscriptionLimitError(LIMITS, NONE, NONE, add(4))).toMatch(/3 filters per connection/);
    const deep = usageOf([
      Array(32).fill('x').join('/'),
      Array(32).fill('y').join('/'),
      Array(32).fill('z').join('/'),
    ]);
    expect(subscriptionLimitError(LIMITS, NONE, NONE, deep)).toMatch(/20000 bytes per connection/);
    expect(subscriptionLimitError(LIMITS, NONE, { count: 4, bytes: 0 }, add(2))).toMatch(
      /5 filters per token/,
    );
    expect(subscriptionLimitError(LIMITS, NONE, { count: 0, bytes: 29_800 }, add(2))).toMatch(
      /30000 bytes per token/,
    );
  });
});
