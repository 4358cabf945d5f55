/**
 * One statement per flush: every reading of the flush travels as five array parameters and is
 * unnested server-side, so a 5,000-reading flush costs one round trip and one plan. Arrays go as
 * PostgreSQL array literals in text parameters, which postgres.js and PGlite pass through alike.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { TelemetryBatch } from '../ingest/telemetry-sink.js';
import { arrayLiteral, quoted } from '../storage/array-literal.js';
import type { Database } from '../storage/database.js';
import { ROLLUP_STATE, rollUpRawRows } from '../storage/rollups.js';

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

/** The readings of `c` as rows (time, device_id, metric, value, unit), from five array parameters. */
const unnested = (c: Columns): SQL => sql`
  select timestamptz 'epoch' + r.ms * interval '1 millisecond' as time, r.device_id, r.metric, r.value, r.unit
  from unnest(${arrayLiteral(c.times)}::bigint[], ${arrayLiteral(c.devices)}::text[], ${arrayLiteral(c.metrics)}::text[],
              ${arrayLiteral(c.values)}::float8[], ${arrayLiteral(c.units)}::text[]) as r(ms, device_id, metric, value, unit)`;

const INSERT = sql`insert into readings (time, device_id, metric, value, unit)`;

/**
 * Runs `attempt` as a plain insert first (`resent` false): conflict checking (speculative insertion)
 * costs about a third of the throughput, and almost every flush holds only new readings. Only when a
 * reading is already there (a device resending after a lost ack) does it run again with `resent`
 * true, meaning `on conflict do nothing` and counting what was new.
 */
async function insertOnce<T>(attempt: (resent: boolean) => Promise<T>): Promise<T> {
  try {
    return await attempt(false);
  } catch (error) {
    if (storageError(error).code !== UNIQUE_VIOLATION) throw error;
  }
  return attempt(true);
}

const ON_CONFLICT = sql`on conflict do nothing`;

/**
 * Stores the readings of `batches`, skipping any already stored. Returns how many rows were new.
 *
 * With `rollups` (plain PostgreSQL, PGlite: see storage/rollups.ts), readings at or above the roll-up
 * watermark are stored by a plain insert holding the state row for key share (the advance rolls them
 * up later); readings below it (late) by a second statement that also adds them to their minute and
 * hour rows, so that history never misses a reading the hub acknowledged, however late it came.
 */
export async function insertReadings(
  database: Database,
  batches: readonly TelemetryBatch[],
  options: { rollups: boolean },
): Promise<number> {
  if (!options.rollups) return insertAll(database, toColumns(batches));
  const above = await insertAboveWatermark(database, toColumns(batches));
  const late = batches
    .map((b) => ({ ...b, readings: b.readings.filter((r) => r.ts < above.watermark) }))
    .filter((b) => b.readings.length > 0);
  return late.length === 0 ? above.inserted : above.inserted + (await insertLate(database, toColumns(late)));
}

async function insertAll(database: Database, c: Columns): Promise<number> {
  return insertOnce(async (resent) => {
    // The plain attempt needs no count: every row was new or the statement failed.
    if (!resent) {
      await database.rows(sql`${INSERT} ${unnested(c)}`);
      return c.times.length;
    }
    const [row] = await database.rows<{ inserted: number }>(sql`
      with inserted as (${INSERT} ${unnested(c)} ${ON_CONFLICT} returning 1)
      select count(*)::int as inserted from inserted`);
    return row?.inserted ?? 0;
  });
}

async function insertAboveWatermark(
  database: Database,
  c: Columns,
): Promise<{ watermark: number; inserted: number }> {
  return insertOnce(async (resent) => {
    const [row] = await database.rows<{ watermark: number; inserted: number | null }>(sql`
      with watermark as materialized (select watermark from ${sql.raw(ROLLUP_STATE)} limit 1 for key share),
      inserted as (
        ${INSERT} select * from (${unnested(c)}) as r where r.time >= (select watermark from watermark)
        ${resent ? sql`${ON_CONFLICT} returning 1` : sql``}
      )
      select (extract(epoch from watermark) * 1000)::float8 as watermark,
        ${resent ? sql`(select count(*)::int from inserted)` : sql`null::int`} as inserted
      from watermark`);
    const watermark = Number(row?.watermark);
    const inserted = row?.inserted ?? c.times.filter((ms) => Number(ms) >= watermark).length;
    return { watermark, inserted };
  });
}

async function insertLate(database: Database, c: Columns): Promise<number> {
  return insertOnce(async (resent) => {
    const [row] = await database.rows<{ inserted: number }>(sql`
      with inserted as (
        ${INSERT} ${unnested(c)} ${resent ? ON_CONFLICT : sql``}
        returning time, device_id, metric, value
      ),
      -- A scalar subquery, not a join: its estimate stays one row, so the planner keeps this statement
      -- cheap (a bad estimate here once made PostgreSQL JIT-compile every flush).
      late as materialized (
        select * from inserted
        where time < (select watermark from ${sql.raw(ROLLUP_STATE)} limit 1 for key share)
      ),
      minutes as (${sql.raw(rollUpRawRows('minute', 'late'))}),
      hours as (${sql.raw(rollUpRawRows('hour', 'late'))})
      select count(*)::int as inserted from inserted`);
    return row?.inserted ?? 0;
  });
}
