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
 * Upserts partial aggregates of rows `source` (columns time, device_id, metric, value) that are not
 * in a table (the late readings a statement has just stored) into a roll-up table, adding to the row a
 * bucket already has. The last value rides through the aggregate with its time in an array, which
 * costs an array per row: fine for the few late readings, too dear for the advance (see `rollUp`).
 * Rows are upserted in key order, so two statements adding to the same buckets lock them in the same order.
 */
export function rollUpRawRows(unit: RollupUnit, source: string): string {
  return combineInto(
    unit,
    `select device_id, metric, date_bin(interval '1 ${unit}', time, timestamptz 'epoch'),
       count(*), sum(value), min(value), max(value), max(time), (max(array[${epochKey('time')}, value]))[2]
     from ${source} group by 1, 2, 3 order by 1, 2, 3`,
  );
}

/**
 * Rolls the readings in [from, to) up into their minutes, and those minutes into their hours, in one
 * statement: the raw rows are aggregated once, and the hours come from the minute groups just made
 * (reading them back from the minute table would scan it, as it has no index on time). The last value
 * of each minute is looked up by primary key, once per minute, from the row holding the minute's last
 * time (times are unique per device and metric): carrying an array through the aggregate for every
 * reading tripled the aggregate's CPU time. The hours carry that array per minute group, a few.
 */
function rollUpRange(from: string, to: string): string {
  return `with minutes as materialized (
      select g.device_id, g.metric, g.bucket, g.n, g.total, g.low, g.high, g.last_time,
        (select s.value from readings s
         where s.device_id = g.device_id and s.metric = g.metric and s.time = g.last_time) as last_value
      from (
        select device_id, metric, date_bin(interval '1 minute', time, timestamptz 'epoch'),
          count(*), sum(value), min(value), max(value), max(time)
        from readings where time >= ${from} and time < ${to}
        group by 1, 2, 3
      ) as g (device_id, metric, bucket, n, total, low, high, last_time)
    ),
    stored as (${combineInto('minute', 'select * from minutes order by 1, 2, 3')})
    ${combineInto(
      'hour',
      `select device_id, metric, date_bin(interval '1 hour', bucket, timestamptz 'epoch'),
         sum(n), sum(total), min(low), max(high), max(last_time),
         (max(array[${epochKey('last_time')}, last_value]))[2]
       from minutes group by 1, 2, 3 order by 1, 2, 3`,
    )}`;
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

/**
 * The advance: moves the watermark over the minutes that settled, rolling them up on the way. The
 * watermark stays on whole minutes, so the minute rows it adds never existed before; the hour rows it
 * adds to may (the hour was partly rolled up by earlier advances).
 *
 * It finds its minutes through the BRIN index on time, which skips only the page ranges it has
 * summarised: a range filled since the last vacuum matches every time range. The embedded database
 * has no autovacuum at all, and on PostgreSQL the table's next vacuum may be far off, so the advance
 * summarises the filled ranges itself (reading each new page once) before it takes the watermark, which
 * writers wait for.
 */
export const CREATE_ADVANCE_FUNCTION = `
  create or replace function readings_rollup_advance(settle interval, max_step interval)
  returns timestamptz language plpgsql
  -- The minutes it reads are the newest, beyond the column statistics, so the planner expects a row or
  -- two and reads them in primary-key order (the whole index, then the heap at random) or sorts them all
  -- for a group aggregate (on disk past work_mem): most of the advance's time. Without those paths it
  -- finds them through the BRIN index and groups them in one hash pass, whatever their number.
  set enable_sort = off
  set enable_incremental_sort = off
  set enable_indexscan = off
  as $$
  declare
    rolled timestamptz;
    target timestamptz;
  begin
    if to_regclass('readings_time_brin') is not null then
      perform brin_summarize_new_values('readings_time_brin');
      -- The range still being filled stays unsummarised, as a vacuum leaves it: once summarised, every
      -- reading stored into it would rewrite its summary (a WAL record per row).
      perform brin_desummarize_range('readings_time_brin',
        greatest(pg_relation_size('readings') / current_setting('block_size')::int - 1, 0));
    end if;
    -- Waits for statements storing readings (they hold the row for key share) and holds new ones back:
    -- every reading below the new watermark is then either read here or rolled up by its own statement.
    select watermark into rolled from ${ROLLUP_STATE} for update;
    target := date_bin(interval '1 minute', least(clock_timestamp() - settle, rolled + max_step), timestamptz 'epoch');
    if target <= rolled then
      return rolled;
    end if;
    ${rollUpRange('rolled', 'target')};
    update ${ROLLUP_STATE} set watermark = target;
    return target;
  end
  $$`;

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
  ${CREATE_ADVANCE_FUNCTION}`;

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
