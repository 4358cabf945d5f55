import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';

const options = fc.record({
  initialMs: fc.integer({ min: 1, max: 10_000 }),
  maxMs: fc.integer({ min: 1, max: 600_000 }),
});

describe('reconnect backoff (capped exponential, full jitter)', () => {
  it('never waits less than 0 or more than min(max, initial × 2^attempt)', () => {
    fc.assert(
      fc.property(
        options,
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 60,
        }),
        (opts, draws) => {
          let i = 0;
          const backoff = new Backoff({ ...opts, random: () => draws[i % draws.length]! });
          for (let attempt = 0; attempt < draws.length; attempt++, i++) {
            const bound = Math.min(opts.maxMs, opts.initialMs * 2 ** attempt);
            const delay = backoff.next();
            expect(delay).toBeGreaterThanOrEqual(0);
            expect(delay).toBeLessThanOrEqual(bound);
            expect(Number.isInteger(delay)).toBe(true);
          }
        },
      ),
    );
  });

  it('reaches the cap and stays there, however many attempts fail', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 1, max: 5000 }), (opts, attempts) => {
        const backoff = new Backoff({ ...opts, random: () => 0.999999 });
        let last = 0;
        for (let k = 0; k < attempts; k++) last = backoff.next();
        expect(last).toBeLessThanOrEqual(opts.maxMs);
        if (attempts > 40) expect(backoff.ceiling()).toBe(opts.maxMs);
        expect(Number.isFinite(backoff.ceiling())).toBe(true);
      }),
    );
  });

  it('doubles the ceiling per failure: 1 s, 2 s, 4 s … up to 60 s', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => 0 });
    const ceilings: number[] = [];
    for (let k = 0; k < 9; k++) {
      ceilings.push(backoff.ceiling());
      backoff.next();
    }
    expect(ceilings).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('jitters: a fleet that failed together spreads its retries over the whole interval', () => {
    const delays = Array.from({ length: 2000 }, () => {
      const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000 });
      for (let k = 0; k < 6; k++) backoff.next();
      return backoff.next(); // ceiling 60 s
    });
    const buckets = new Array(6).fill(0);
    for (const d of delays) buckets[Math.min(5, Math.floor(d / 10_000))]++;
    // Uniform over [0, 60 s): about 333 per 10 s bucket; none empty, none holding most.
    for (const count of buckets) {
      expect(count).toBeGreaterThan(200);
      expect(count).toBeLessThan(480);
    }
    expect(new Set(delays).size).toBeGreaterThan(1500);
  });

  it('starts over from the initial ceiling after a reset', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 0, max: 100 }), (opts, failures) => {
        const backoff = new Backoff({ ...opts, random: () => 0.5 });
        for (let k = 0; k < failures; k++) backoff.next();
        backoff.reset();
        expect(backoff.ceiling()).toBe(Math.min(opts.maxMs, opts.initialMs));
        expect(backoff.next()).toBeLessThanOrEqual(opts.initialMs);
      }),
    );
  });
});
