import { describe, expect, it } from 'vitest';
import { MetricSeries, seamOf } from './series';

describe('MetricSeries stitching', () => {
  it('joins complete history buckets, one-second buckets up to the cutoff, then the stream: no gap, no repeat', () => {
    const series = new MetricSeries('t', 3_600_000);
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
    const shown: Array<[number, number]> = [];
    series.points.forEach((t, v) => {
      shown.push([t, v]);
    });
    expect(shown).toEqual([
      [0, 1],
      [60_000, 2],
      [120_000, 3],
      [124_000, 4],
      [125_000, 5],
      [125_400, 9],
      [125_900, 10],
      [126_300, 11],
    ]);
  });

  it('keeps a filling window in the room it was given, and makes more only for a window that holds more', () => {
    const minute = new MetricSeries('t', 60_000);
    minute.fill({ points: [], bucketMs: 1 }, 0, [], 0);
    const room = minute.points.capacity;
    // Ten minutes at 100 Hz through a one-minute window: 60,000 points, never more than the minute.
    for (let t = 1; t <= 60_000; t++) minute.add(t * 10, t);
    expect(minute.points.capacity).toBe(room);
    expect(minute.points.timeAt(minute.points.size - 1)).toBe(600_000);
    const hour = new MetricSeries('t', 3_600_000);
    hour.fill({ points: [], bucketMs: 1 }, 0, [], 0);
    for (let t = 1; t <= 60_000; t++) hour.add(t * 10, t);
    expect(hour.points.size).toBe(60_000);
    expect(hour.points.timeAt(0)).toBe(10);
  });

  it('without live readings yet, the cutoff is the end of the history range', () => {
    const series = new MetricSeries('t', 3_600_000);
    expect(series.cutoff(5000)).toBe(5000);
  });
});
