/**
 * One metric's points on a device page: the past from the history API, the present from the live
 * stream, stitched with no gap and no point twice.
 *
 * Live readings are buffered from the moment the subscription is acknowledged. The first buffered
 * reading's time is the cutoff C: everything from C on comes from the stream, everything before C from
 * storage. Storage answers in buckets of B; complete buckets before E = ⌊C/B⌋·B are taken as they are,
 * and the stretch [E, C) is asked for again in one-second buckets, so the seam neither leaves a hole
 * nor repeats a reading. Late readings (older than the newest point) are dropped from the live tail:
 * they are in storage and show up after the next range load.
 */
import type { HistoryPoint } from '@edgewire/protocol';
import { Ring } from '../../live/ring';

export interface HistoryPart {
  points: HistoryPoint[];
  bucketMs: number;
}

/**
 * Points a series has room for from the start: a 15-minute window of a 10 Hz metric (9,000) and its
 * history, so that streaming into a window as it fills allocates nothing.
 */
const INITIAL_POINTS = 16_384;
/**
 * The most a series grows to (16 MiB per metric) when its window holds more points than planned (a
 * fast metric, a long range); beyond it the oldest points give way.
 */
const MAX_POINTS = 1 << 20;

export class MetricSeries {
  /** Times in epoch ms, rising. */
  readonly points = new Ring(INITIAL_POINTS);
  unit: string | null = null;
  #buffer: Array<[number, number]> | undefined = [];

  /** `windowMs`: how far back the chart shows, the span the series keeps room for. */
  constructor(
    readonly metric: string,
    private readonly windowMs: number,
  ) {}

  get buffering(): boolean {
    return this.#buffer !== undefined;
  }

  /** The time from which the stream covers this metric (epoch ms), or `fallback` when nothing streamed yet. */
  cutoff(fallback: number): number {
    return this.#buffer?.[0]?.[0] ?? fallback;
  }

  /** A live reading; returns whether it changed what is shown. */
  add(t: number, v: number): boolean {
    if (this.#buffer) {
      this.#buffer.push([t, v]);
      return false;
    }
    return this.#append(t, v);
  }

  /**
   * Fills the past: `coarse` holds buckets that start before `seam` (E), `fine` the one-second buckets
   * of [E, C); then the buffered stream follows.
   */
  fill(coarse: HistoryPart, seam: number, fine: HistoryPoint[], cutoff: number): void {
    for (const p of coarse.points) if (p.t < seam) this.#append(p.t, p.v);
    for (const p of fine) if (p.t >= seam && p.t < cutoff) this.#append(p.t, p.v);
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const [t, v] of buffered) if (t >= cutoff) this.#append(t, v);
  }

  #append(t: number, v: number): boolean {
    const points = this.points;
    if (points.size > 0 && t <= points.timeAt(points.size - 1)) return false;
    // Full while the oldest point is still in the window: the window holds more than planned.
    if (points.full && points.capacity < MAX_POINTS && points.timeAt(0) >= t - this.windowMs) {
      points.grow(points.capacity * 2);
    }
    points.push(t, v);
    return true;
  }
}

/** Start of the bucket that holds `cutoff`: history before it is complete. */
export function seamOf(cutoff: number, bucketMs: number): number {
  return Math.floor(cutoff / bucketMs) * bucketMs;
}
