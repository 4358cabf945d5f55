/**
 * Reading history back: time-bucketed series and the latest value per metric.
 *
 * Buckets are aligned to the Unix epoch (`date_bin`) on every backend. On TimescaleDB, a query whose
 * bucket and range fall on whole minutes is answered from the 1-minute continuous aggregate, rolled
 * up to the requested bucket; anything else (and every query on plain PostgreSQL or PGlite) reads the
 * raw readings.
 */
import {
  type Aggregate,
  formatBucket,
  type HistoryQuery,
  type HistoryResponse,
  type HistorySeries,
  type LatestResponse,
} from '@edgewire/protocol';
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../storage/database.js';
import { READINGS_PER_MINUTE_VIEW } from '../storage/migrations/0002_readings.js';
import type { StorageMode } from './storage-mode.js';

/** Range shown when the request gives no `from`. */
export const DEFAULT_RANGE_MS = 3_600_000;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Buckets chosen when the request gives none: the smallest that keeps the series within its point budget. */
const BUCKET_LADDER = [
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
];

export interface HistoryRequest {
  deviceId: string;
  /** Undefined: every metric the device has in the range. */
  metrics: string[] | undefined;
  from: number;
  to: number;
  bucketMs: number;
  agg: Aggregate;
}

/** Epoch-aligned buckets touched by [from, to). */
export function bucketCount(from: number, to: number, bucketMs: number): number {
  return Math.floor((to - 1) / bucketMs) - Math.floor(from / bucketMs) + 1;
}

/**
 * Fills in the defaults (last hour, a bucket fitting `maxPoints`) and checks that an explicit bucket
 * keeps within it. Errors name the parameter to change.
 */
export function resolveHistoryRequest(
  deviceId: string,
  query: HistoryQuery,
  now: number,
): { ok: true; request: HistoryRequest } | { ok: false; error: string } {
  // The schema already ensured from < to when both are given; a lone future `from` gets a one-millisecond range.
  const to = query.to ?? Math.max(now, (query.from ?? 0) + 1);
  const from = query.from ?? to - DEFAULT_RANGE_MS;
  let bucketMs = query.bucket;
  if (bucketMs === undefined) {
    bucketMs = BUCKET_LADDER.find((b) => bucketCount(from, to, b) <= query.maxPoints);
    // Beyond the ladder: whole weeks, as many as it takes.
    bucketMs ??= Math.ceil((to - from) / (query.maxPoints - 1 || 1) / (7 * DAY)) * 7 * DAY;
  } else {
    const count = bucketCount(from, to, bucketMs);
    if (count > query.maxPoints) {
      return {
        ok: false,
        error: `bucket: ${formatBucket(bucketMs)} gives ${count} points over this range, more than maxPoints (${query.maxPoints}); choose a larger bucket or a shorter range`,
      };
    }
  }
  return { ok: true, request: { deviceId, metrics: query.metric, from, to, bucketMs, agg: query.agg } };
}

const at = (ms: number): SQL => sql`(timestamptz 'epoch' + ${ms}::bigint * interval '1 millisecond')`;
const epochMs = (column: SQL): SQL => sql`(extract(epoch from ${column}) * 1000)::float8`;
const textArray = (items: string[]): string => `{${items.map((i) => `"${i}"`).join(',')}}`;

const RAW_AGGREGATES: Record<Aggregate, SQL> = {
  avg: sql`avg(value)`,
  min: sql`min(value)`,
  max: sql`max(value)`,
  count: sql`count(*)::float8`,
  last: sql`(array_agg(value order by time desc))[1]`,
};

/** Rolling 1-minute rows up into larger buckets. */
const MINUTE_AGGREGATES: Record<Aggregate, SQL> = {
  avg: sql`sum(value_sum) / sum(value_count)`,
  min: sql`min(value_min)`,
  max: sql`max(value_max)`,
  count: sql`sum(value_count)::float8`,
  last: sql`last(value_last, bucket)`,
};

function usesMinuteAggregate(mode: StorageMode, r: HistoryRequest): boolean {
  return mode === 'timescaledb' && r.bucketMs % MINUTE === 0 && r.from % MINUTE === 0 && r.to % MINUTE === 0;
}

function bucketQuery(mode: StorageMode, r: HistoryRequest): SQL {
  const stride = sql`${r.bucketMs}::bigint * interval '1 millisecond'`;
  const metricFilter = r.metrics ? sql`and metric = any(${textArray(r.metrics)}::text[])` : sql``;
  if (usesMinuteAggregate(mode, r)) {
    return sql`
      select metric, ${epochMs(sql`date_bin(${stride}, bucket, timestamptz 'epoch')`)} as t,
             ${MINUTE_AGGREGATES[r.agg]}::float8 as v
      from ${sql.identifier(READINGS_PER_MINUTE_VIEW)}
      where device_id = ${r.deviceId} and bucket >= ${at(r.from)} and bucket < ${at(r.to)} ${metricFilter}
      group by 1, 2 order by 1, 2`;
  }
  return sql`
    select metric, ${epochMs(sql`date_bin(${stride}, time, timestamptz 'epoch')`)} as t,
           ${RAW_AGGREGATES[r.agg]}::float8 as v
    from readings
    where device_id = ${r.deviceId} and time >= ${at(r.from)} and time < ${at(r.to)} ${metricFilter}
    group by 1, 2 order by 1, 2`;
}

export async function readHistory(
  database: Database,
  mode: StorageMode,
  request: HistoryRequest,
): Promise<HistoryResponse> {
  const rows = await database.rows<{ metric: string; t: number; v: number }>(bucketQuery(mode, request));
  const series = new Map<string, HistorySeries>();
  for (const row of rows) {
    let s = series.get(row.metric);
    if (!s) {
      s = { metric: row.metric, unit: null, points: [] };
      series.set(row.metric, s);
    }
    s.points.push({ t: Number(row.t), v: Number(row.v) });
  }
  if (series.size > 0) {
    // One index probe per metric (newest reading in range), instead of carrying units through the aggregate.
    const units = await database.rows<{ metric: string; unit: string | null }>(sql`
      select m.metric, (
        select unit from readings
        where device_id = ${request.deviceId} and metric = m.metric
          and time >= ${at(request.from)} and time < ${at(request.to)}
        order by time desc limit 1) as unit
      from unnest(${textArray([...series.keys()])}::text[]) as m(metric)`);
    for (const u of units) series.get(u.metric)!.unit = u.unit;
  }
  return {
    device: request.deviceId,
    from: request.from,
    to: request.to,
    bucket: formatBucket(request.bucketMs),
    bucketMs: request.bucketMs,
    agg: request.agg,
    series: [...series.values()],
  };
}

/** The newest reading of every metric of a device. */
export async function readLatest(database: Database, deviceId: string): Promise<LatestResponse> {
  // Walks the distinct metrics through the primary key (a loose index scan) instead of reading every row
  // of the device, then takes the newest row of each.
  const rows = await database.rows<{ metric: string; t: number; v: number; unit: string | null }>(sql`
    with recursive metrics(metric) as (
      (select metric from readings where device_id = ${deviceId} order by metric limit 1)
      union all
      select (select r.metric from readings r where r.device_id = ${deviceId} and r.metric > m.metric
              order by r.metric limit 1)
      from metrics m where m.metric is not null
    )
    select newest.metric, ${epochMs(sql`newest.time`)} as t, newest.value as v, newest.unit
    from metrics m
    cross join lateral (
      select metric, time, value, unit from readings
      where device_id = ${deviceId} and metric = m.metric
      order by time desc limit 1
    ) newest
    order by newest.metric`);
  return {
    device: deviceId,
    metrics: rows.map((r) => ({ metric: r.metric, t: Number(r.t), v: Number(r.v), unit: r.unit })),
  };
}
