import { describe, expect, it } from 'vitest';
import { Ring } from '../live/ring';
import { decimate, decimatedLength } from './decimate';

function ringOf(points: Array<[number, number]>): Ring {
  const ring = new Ring(points.length);
  for (const [t, v] of points) ring.push(t, v);
  return ring;
}

function run(ring: Ring, from: number, to: number, columns: number): Array<[number, number]> {
  const xs = new Float64Array(decimatedLength(columns));
  const ys = new Float64Array(decimatedLength(columns));
  const n = decimate(ring, from, to, columns, xs, ys);
  return Array.from({ length: n }, (_, i) => [xs[i]! * 1000, ys[i]!]);
}

describe('decimate', () => {
  it('keeps each pixel column’s lowest and highest point in time order, and every spike', () => {
    // 15 minutes at 10 Hz into 100 columns: 90 points per column.
    const points: Array<[number, number]> = [];
    for (let i = 0; i < 9000; i++) points.push([i * 100, Math.sin(i / 50)]);
    points[4321]![1] = 42;
    points[7000]![1] = -42;
    const shown = run(ringOf(points), 0, 900_000, 100);
    expect(shown.length).toBeLessThanOrEqual(decimatedLength(100));
    expect(shown).toContainEqual([432_100, 42]);
    expect(shown).toContainEqual([700_000, -42]);
    for (let i = 1; i < shown.length; i++) expect(shown[i]![0]).toBeGreaterThan(shown[i - 1]![0]);
    // Within each column, nothing outside the kept extremes.
    const column = (t: number) => Math.floor(t / 9000);
    for (const [t, v] of points) {
      const kept = shown.filter(([s]) => column(s) === column(t)).map(([, w]) => w);
      expect(v).toBeGreaterThanOrEqual(Math.min(...kept));
      expect(v).toBeLessThanOrEqual(Math.max(...kept));
    }
  });

  it('keeps the last point before the window and the first after it, so the line reaches both edges', () => {
    const ring = ringOf([
      [0, 1],
      [500, 2],
      [1500, 3],
      [2500, 4],
      [2600, 5],
      [4000, 6],
    ]);
    expect(run(ring, 1000, 3000, 10)).toEqual([
      [500, 2],
      [1500, 3],
      [2500, 4],
      [2600, 5],
      [4000, 6],
    ]);
  });

  it('passes a sparse series through unchanged', () => {
    const points: Array<[number, number]> = [
      [100, 1],
      [5000, 2],
      [9000, 3],
    ];
    expect(run(ringOf(points), 0, 10_000, 1000)).toEqual(points);
  });
});
