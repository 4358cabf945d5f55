import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBucket, historyQuerySchema, parseBucket } from './history.js';

describe('history buckets', () => {
  it.each([
    ['10s', 10_000],
    ['1m', 60_000],
    ['90m', 5_400_000],
    ['6h', 21_600_000],
    ['1d', 86_400_000],
    ['2w', 1_209_600_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseBucket(text)).toBe(ms);
  });

  it.each(['', '0s', '1', 'm', '1.5h', '10 s', '1M', '-1m', '1ms', '1y'])('refuses %j', (text) => {
    expect(parseBucket(text)).toBeUndefined();
  });

  it('names every whole number of seconds in its largest exact unit, and reads it back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999_999 }), (seconds) => {
        const text = formatBucket(seconds * 1000);
        expect(parseBucket(text)).toBe(seconds * 1000);
        expect(text.length).toBeLessThanOrEqual(`${seconds}s`.length);
      }),
    );
  });
});

describe('history query', () => {
  it('reads metric lists, times as epoch ms or ISO-8601, buckets and aggregates from query text', () => {
    expect(
      historyQuerySchema.parse({
        metric: ['temp,humidity', 'rpm'],
        from: '1767225600000',
        to: '2026-01-01T01:00:00.001+01:00',
        bucket: '5m',
        agg: 'last',
        maxPoints: '200',
      }),
    ).toEqual({
      metric: ['temp', 'humidity', 'rpm'],
      from: 1_767_225_600_000,
      to: 1_767_225_600_000 + 1,
      bucket: 300_000,
      agg: 'last',
      maxPoints: 200,
    });
  });
});
