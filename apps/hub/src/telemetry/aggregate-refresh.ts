/**
 * TimescaleDB only: makes late readings visible in the continuous aggregates before they are acked.
 *
 * A continuous aggregate answers above its watermark from the raw rows (real-time aggregation) and
 * below it from what it materialised. A reading stored below the watermark (a buffer replayed after an
 * outage, a backfill) is recorded as an invalidation and would stay hidden until a policy refreshed
 * its bucket. So the writer refreshes the buckets of such readings itself, after they are committed
 * and before they are acked; the policies (refresh window open to the beginning of time) catch
 * anything a crash left between the two.
 */
import type { TelemetryBatch } from '../ingest/telemetry-sink.js';
import type { Database } from '../storage/database.js';
import { HOUR_AGGREGATE, MINUTE_AGGREGATE } from '../storage/rollups.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/**
 * Readings at least this old (by the hub's clock) may lie below the minute aggregate's watermark, which
 * trails the database's clock by at least a minute; assumes the two clocks agree within 30 s (NTP).
 */
const MAY_BE_MATERIALISED_MS = 30_000;

/** The aggregates, lowest first (the hourly one is built on the minute one), with their policy's end offset. */
const AGGREGATES = [
  { view: MINUTE_AGGREGATE, bucketMs: MINUTE },
  { view: HOUR_AGGREGATE, bucketMs: HOUR },
] as const;

const floorTo = (ms: number, step: number) => Math.floor(ms / step) * step;
const literal = (ms: number) => `timestamptz '${new Date(ms).toISOString()}'`;

/** The span of readings that may already be materialised, or undefined when every reading is recent. */
export function lateSpan(
  batches: readonly TelemetryBatch[],
  now: number,
): { min: number; max: number } | undefined {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const recent = now - MAY_BE_MATERIALISED_MS;
  for (const batch of batches) {
    for (const reading of batch.readings) {
      if (reading.ts >= recent) continue;
      if (reading.ts < min) min = reading.ts;
      if (reading.ts > max) max = reading.ts;
    }
  }
  return min === Number.POSITIVE_INFINITY ? undefined : { min, max };
}

/**
 * The refresh windows covering `span`: whole buckets, and never past where the policy itself would
 * refresh (`now - one bucket`), so that a refresh never moves a watermark over buckets still being written.
 */
export function refreshWindows(
  span: { min: number; max: number },
  databaseNow: number,
): Array<{ view: string; from: number; to: number }> {
  const windows: Array<{ view: string; from: number; to: number }> = [];
  for (const { view, bucketMs } of AGGREGATES) {
    const from = floorTo(span.min, bucketMs);
    const to = Math.min(floorTo(span.max, bucketMs) + bucketMs, floorTo(databaseNow - bucketMs, bucketMs));
    if (from < to) windows.push({ view, from, to });
  }
  return windows;
}

export async function refreshForLateReadings(
  database: Database,
  batches: readonly TelemetryBatch[],
): Promise<void> {
  const span = lateSpan(batches, Date.now());
  if (!span) return;
  const [clock] = await database.rows<{ now: number }>(
    'select (extract(epoch from now()) * 1000)::float8 as now',
  );
  for (const window of refreshWindows(span, Number(clock?.now))) {
    // A procedure that commits on its own: simple protocol, outside any transaction block.
    await database.exec(
      `call refresh_continuous_aggregate('${window.view}', ${literal(window.from)}, ${literal(window.to)})`,
    );
  }
}
