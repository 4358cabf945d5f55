/**
 * Reduces a series to what a chart `columns` pixels wide can show: for each pixel column, its lowest
 * and its highest point, in the order they happened (one point where the column has one). The line
 * drawn from them is the line drawn from every point, down to the pixel, however many points the
 * window holds (a 15-minute window of a 10 Hz metric holds 9,000; a chart is ~1,300 pixels wide).
 * Spikes survive, unlike with every n-th point.
 */
import type { Ring } from '../live/ring';

/** Room the output arrays need for `columns`: two points per column, and one each side of the window. */
export const decimatedLength = (columns: number): number => 2 * (columns + 2);

/**
 * Writes the decimated points of `ring` over [from, to] (epoch ms) into `xs` (seconds, as uPlot wants
 * them) and `ys`, which must hold `decimatedLength(columns)`; returns how many were written. The last
 * point before the window and the first after it are kept, so that the line reaches both edges.
 */
export function decimate(
  ring: Ring,
  from: number,
  to: number,
  columns: number,
  xs: Float64Array,
  ys: Float64Array,
): number {
  const scale = columns / Math.max(1, to - from);
  let out = 0;
  let column = Number.NaN;
  let firstI = -1;
  let lowI = -1;
  let highI = -1;
  const flush = () => {
    if (firstI < 0) return;
    const a = Math.min(lowI, highI);
    const b = Math.max(lowI, highI);
    xs[out] = ring.timeAt(a) / 1000;
    ys[out++] = ring.valueAt(a);
    if (b !== a) {
      xs[out] = ring.timeAt(b) / 1000;
      ys[out++] = ring.valueAt(b);
    }
  };
  const start = Math.max(0, ring.lowerBound(from) - 1);
  for (let i = start; i < ring.size; i++) {
    const t = ring.timeAt(i);
    // Before and after the window, one column each: the points that carry the line to its edges.
    const c = t < from ? -1 : t > to ? columns + 1 : Math.min(columns - 1, Math.floor((t - from) * scale));
    if (c !== column) {
      flush();
      if (c > columns) {
        firstI = lowI = highI = i;
        column = c;
        break;
      }
      column = c;
      firstI = lowI = highI = i;
      continue;
    }
    const v = ring.valueAt(i);
    if (v < ring.valueAt(lowI)) lowI = i;
    if (v > ring.valueAt(highI)) highI = i;
  }
  flush();
  return out;
}
