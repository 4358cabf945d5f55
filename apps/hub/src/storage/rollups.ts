/**
 * Roll-ups of the readings into whole minutes and whole hours, so that a month of history reads
 * about a thousand rows instead of millions. Every roll-up row holds the partial aggregates of its
 * bucket (count, sum, min, max and the last value with its time), which combine exactly into any
 * larger bucket made of whole minutes or hours.
 *
 * On TimescaleDB they are continuous aggregates (`readings_1m`, and `readings_1h` on top of it). On
 * plain PostgreSQL and PGlite they are tables kept by the hub:
 * - `readings_rollup_state.watermark`: every reading before it is rolled up, none after it is. It only
 *   moves forward, by `readings_rollup_advance()`, which rolls the minutes it passes over from the raw
 *   rows (the hub calls it every few seconds).
 * - A reading stored below the watermark (late: a buffer replayed after an outage, a backfill) is added
 *   to its minute and hour rows by the same statement that stores it, so it is never hidden.
 * The advance takes the state row `for update` and the writer's statement takes it `for key share`,
 * so a reading is either committed before the advance reads the raw rows, or sees the new watermark.
 */

export const ROLLUP_STATE = 'readings_rollup_state';
export const ROLLUP_MINUTE_TABLE = 'readings_rollup_1m';
export const ROLLUP_HOUR_TABLE = 'readings_rollup_1h';
/** Continuous aggregates on TimescaleDB. */
export const MINUTE_AGGREGATE = 'readings_1m';
export const HOUR_AGGREGATE = 'readings_1h';

export type RollupUnit = 'minute' | 'hour';

const rollupTable = (unit: RollupUnit) => (unit === 'minute' ? ROLLUP_MINUTE_TABLE : ROLLUP_HOUR_TABLE);

/** Epoch seconds of `time`, as the ordering key of a `last` value carried in a `float8[]` with it. */
const epochKey = (column: string) => `extract(epoch from ${column})::float8`;

/**
 * Upserts partial aggregates of raw rows `source` (columns time, device_id, metric, value) into a roll-up
 * table, adding to the row a bucket already has. Rows are upserted in key order, so two statements
 * adding to the same buckets lock them in the same order.
 */
export function rollUpRawRows(unit: RollupUnit, source: string): string {
  return combineInto(
    unit,
    `select device_id, metric, date_bin(interval '1 ${unit}', time, timestamptz 'epoch'),
       count(*), sum(value), min(value), max(value), max(time), (max(array[${epochKey('time')}, value]))[2]
     from ${source} group by 1, 2, 3 order by 1, 2, 3`,
  );
}

/** Upserts the minute rows `where` selects into their hours. */
export function rollUpMinutes(where: string): string {
  return combineInto(
    'hour',
    `select device_id, metric, date_bin(interval '1 hour', bucket, timestamptz 'epoch'),
       sum(value_count), sum(value_sum), min(value_min), max(value_max), max(last_time),
       (max(array[${epochKey('last_time')}, value_last]))[2]
     from ${ROLLUP_MINUTE_TABLE} where ${where} group by 1, 2, 3 order by 1, 2, 3`,
  );
}

function combineInto(unit: RollupUnit, select: string): string {
  return `insert into ${rollupTable(unit)} as r
      (device_id, metric, bucket, value_count, value_sum, value_min, value_max, last_time, value_last)
    ${select}
    on conflict (device_id, metric, bucket) do update set
      value_count = r.value_count + excluded.value_count,
      value_sum = r.value_sum + excluded.value_sum,
      value_min = least(r.value_min, excluded.value_min),
      value_max = greatest(r.value_max, excluded.value_max),
      value_last = case when excluded.last_time > r.last_time then excluded.value_last else r.value_last end,
      last_time = greatest(r.last_time, excluded.last_time)`;
}

const rollupTableDdl = (name: string) => `
  create table if not exists ${name} (
    device_id text collate "C" not null,
    metric text collate "C" not null,
    bucket timestamptz not null,
    value_count bigint not null,
    value_sum double precision not null,
    value_min double precision not null,
    value_max double precision not null,
    last_time timestamptz not null,
    value_last double precision not null,
    primary key (device_id, metric, bucket)
  )`;

/** Tables, state and the advance function for a database without TimescaleDB. Idempotent. */
export const CREATE_ROLLUP_TABLES = `
  ${rollupTableDdl(ROLLUP_MINUTE_TABLE)};
  ${rollupTableDdl(ROLLUP_HOUR_TABLE)};
  create table if not exists ${ROLLUP_STATE} (
    singleton boolean primary key default true check (singleton),
    watermark timestamptz not null
  );
  -- Readings stored before the roll-ups existed are rolled up by the advance, oldest first.
  insert into ${ROLLUP_STATE} (watermark)
    select date_bin(interval '1 minute', coalesce(min(time), now()), timestamptz 'epoch') from readings
    on conflict do nothing;
  create or replace function readings_rollup_advance(settle interval, max_step interval)
  returns timestamptz language plpgsql as $$
  declare
    rolled timestamptz;
    target timestamptz;
  begin
    -- Waits for statements storing readings (they hold the row for key share) and holds new ones back:
    -- every reading below the new watermark is then either read here or rolled up by its own statement.
    select watermark into rolled from ${ROLLUP_STATE} for update;
    target := least(date_bin(interval '1 minute', clock_timestamp() - settle, timestamptz 'epoch'), rolled + max_step);
    if target <= rolled then
      return rolled;
    end if;
    ${rollUpRawRows('minute', `(select time, device_id, metric, value from readings where time >= rolled and time < target) as raw`)};
    ${rollUpMinutes('bucket >= rolled and bucket < target')};
    update ${ROLLUP_STATE} set watermark = target;
    return target;
  end
  $$`;

/** Drops the hub-kept roll-ups (when the database moves to TimescaleDB's continuous aggregates). */
export const DROP_ROLLUP_TABLES = `
  drop function if exists readings_rollup_advance(interval, interval);
  drop table if exists ${ROLLUP_MINUTE_TABLE};
  drop table if exists ${ROLLUP_HOUR_TABLE};
  drop table if exists ${ROLLUP_STATE}`;

/**
 * The hourly continuous aggregate, built on the minute one (a hierarchical continuous aggregate,
 * TimescaleDB 2.9+). Like the minute one it answers in real time above its watermark.
 */
export const CREATE_HOUR_AGGREGATE = `
  create materialized view if not exists ${HOUR_AGGREGATE}
  with (timescaledb.continuous, timescaledb.materialized_only = false) as
  select time_bucket(interval '1 hour', bucket) as bucket, device_id, metric,
    sum(value_count) as value_count, sum(value_sum) as value_sum,
    min(value_min) as value_min, max(value_max) as value_max, last(value_last, bucket) as value_last
  from ${MINUTE_AGGREGATE}
  group by 1, device_id, metric
  with no data`;
