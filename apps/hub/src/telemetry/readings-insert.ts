/**
 * One statement per flush: every reading of the flush travels as five array parameters and is
 * unnested server-side, so a 5,000-reading flush costs one round trip and one plan. Arrays go as
 * PostgreSQL array literals in text parameters, which postgres.js and PGlite pass through alike.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { TelemetryBatch } from '../ingest/telemetry-sink.js';
import type { Database } from '../storage/database.js';
import { ROLLUP_STATE, rollUpRawRows } from '../storage/rollups.js';

/** `"text"` with `"` and `\` escaped, as an element of an array literal. */
const quoted = (text: string): string => `"${text.replace(/["\\]/g, '\\$&')}"`;

interface Columns {
  times: string[];
  devices: string[];
  metrics: string[];
  values: string[];
  units: string[];
}

function toColumns(batches: readonly TelemetryBatch[]): Columns {
  const columns: Columns = { times: [], devices: [], metrics: [], values: [], units: [] };
  for (const batch of batches) {
    const device = quoted(batch.deviceId);
    for (const reading of batch.readings) {
      columns.times.push(String(reading.ts));
      columns.devices.push(device);
      columns.metrics.push(quoted(reading.metric));
      columns.values.push(String(reading.value));
      columns.units.push(reading.unit === undefined ? 'NULL' : quoted(reading.unit));
    }
  }
  return columns;
}

const literal = (items: string[]): string => `{${items.join(',')}}`;

/**
 * The driver's own error under drizzle's wrapper, whose message repeats the whole statement and all its
 * parameters (every reading of the flush): fit for a log line, with the SQLSTATE or socket error code.
 */
export function storageError(error: unknown): { message: string; code: string | undefined } {
  let e = error as { message?: unknown; code?: unknown; cause?: unknown } | undefined;
  while (e && typeof e.cause === 'object' && e.cause !== null) e = e.cause as typeof e;
  const message = typeof e?.message === 'string' ? e.message : String(e);
  return { message: message.slice(0, 300), code: typeof e?.code === 'string' ? e.code : undefined };
}

const UNIQUE_VIOLATION = '23505';

/**
 * Stores the readings of `batches`, skipping any already stored. Returns how many rows were new.
 *
 * Almost every flush holds only new readings, so it is first tried as a plain insert: conflict
 * checking (speculative insertion) costs about a third of the throughput. Only when a reading is
 * already there (a device resending after a lost ack) does the same flush run again with
 * `on conflict do nothing`.
 *
 * With `rollups` (plain PostgreSQL, PGlite: see storage/rollups.ts) the same statement adds the new
 * readings older than the roll-up watermark to their minute and hour rows, so that history never
 * misses a reading the hub acknowledged, however late it came.
 */
export async function insertReadings(
  database: Database,
  batches: readonly TelemetryBatch[],
  options: { rollups: boolean },
): Promise<number> {
  const c = toColumns(batches);
  const rows = sql`
    select timestamptz 'epoch' + r.ms * interval '1 millisecond', r.device_id, r.metric, r.value, r.unit
    from unnest(${literal(c.times)}::bigint[], ${literal(c.devices)}::text[], ${literal(c.metrics)}::text[],
                ${literal(c.values)}::float8[], ${literal(c.units)}::text[]) as r(ms, device_id, metric, value, unit)`;
  const insert = (onConflict: SQL) =>
    options.rollups
      ? sql`
        with watermark as materialized (select watermark from ${sql.raw(ROLLUP_STATE)} for key share),
        inserted as (
          insert into readings (time, device_id, metric, value, unit) ${rows} ${onConflict}
          returning time, device_id, metric, value
        ),
        late as materialized (
          select i.* from inserted i, watermark w where i.time < w.watermark
        ),
        minutes as (${sql.raw(rollUpRawRows('minute', 'late'))}),
        hours as (${sql.raw(rollUpRawRows('hour', 'late'))})
        select count(*)::int as inserted from inserted`
      : sql`
        with inserted as (
          insert into readings (time, device_id, metric, value, unit) ${rows} ${onConflict} returning 1
        )
        select count(*)::int as inserted from inserted`;
  try {
    if (!options.rollups) {
      // The common case without roll-ups needs no count: every row was new or the statement failed.
      await database.rows(sql`insert into readings (time, device_id, metric, value, unit) ${rows}`);
      return c.times.length;
    }
    return (await database.rows<{ inserted: number }>(insert(sql``)))[0]?.inserted ?? 0;
  } catch (error) {
    if (storageError(error).code !== UNIQUE_VIOLATION) throw error;
  }
  const inserted = await database.rows<{ inserted: number }>(insert(sql`on conflict do nothing`));
  return inserted[0]?.inserted ?? 0;
}
