import { describe, expect, it } from 'vitest';
import { MetricSeries, seamOf } from './series';

describe('MetricSeries stitching', () => {
  it('joins complete history buckets, one-second buckets up to the cutoff, then the stream: no gap, no repeat', () => {
    const series = new MetricSeries('t');
    // Live readings arrive while history loads: the first one (t=125_400) is the cutoff.
    series.add(125_400, 9);
    series.add(125_900, 10);
    const cutoff = series.cutoff(130_000);
    expect(cutoff).toBe(125_400);
    const seam = seamOf(cutoff, 60_000);
    expect(seam).toBe(120_000);
    series.fill(
      // The 120_000 bucket is partial (it also holds readings the stream delivered): it must not appear.
      {
        bucketMs: 60_000,
        points: [
          { t: 0, v: 1 },
          { t: 60_000, v: 2 },
          { t: 120_000, v: 99 },
        ],
      },
      seam,
      [
        { t: 120_000, v: 3 },
        { t: 124_000, v: 4 },
        { t: 125_000, v: 5 },
      ],
      cutoff,
    );
    series.add(125_900, 10); // a repeat of a buffered reading
    series.add(125_100, 8); // late: older than what is shown
    series.add(126_300, 11);
    expect(series.xs).toEqual([0, 60, 120, 124, 125, 125.4, 125.9, 126.3]);
    expect(series.ys).toEqual([1, 2, 3, 4, 5, 9, 10, 11]);
  });

  it('without live readings yet, the cutoff is the end of the history range', () => {
    const series = new MetricSeries('t');
    expect(series.cutoff(5000)).toBe(5000);
  });
});
