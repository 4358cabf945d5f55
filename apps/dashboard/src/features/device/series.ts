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

export interface HistoryPart {
  points: HistoryPoint[];
  bucketMs: number;
}

export class MetricSeries {
  /** Seconds since the epoch, as uPlot wants them. */
  readonly xs: number[] = [];
  readonly ys: number[] = [];
  unit: string | null = null;
  #buffer: Array<[number, number]> | undefined = [];

  constructor(readonly metric: string) {}

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
    const last = this.xs[this.xs.length - 1];
    if (last !== undefined && t / 1000 <= last) return false;
    this.xs.push(t / 1000);
    this.ys.push(v);
    return true;
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
    for (const [t, v] of buffered) if (t >= cutoff) this.add(t, v);
  }

  /** Drops points older than `fromMs`; returns how many went. */
  trim(fromMs: number): number {
    const from = fromMs / 1000;
    let n = 0;
    while (n < this.xs.length && this.xs[n]! < from) n++;
    if (n > 0) {
      this.xs.splice(0, n);
      this.ys.splice(0, n);
    }
    return n;
  }

  #append(t: number, v: number): void {
    const last = this.xs[this.xs.length - 1];
    if (last !== undefined && t / 1000 <= last) return;
    this.xs.push(t / 1000);
    this.ys.push(v);
  }
}

/** Start of the bucket that holds `cutoff`: history before it is complete. */
export function seamOf(cutoff: number, bucketMs: number): number {
  return Math.floor(cutoff / bucketMs) * bucketMs;
}
