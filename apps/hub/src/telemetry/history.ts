/**
 * Reading history back: time-bucketed series and the latest value per metric.
 *
 * Buckets are aligned to the Unix epoch (`date_bin`) on every backend. When the bucket is whole
 * minutes, the whole-minute (and whole-hour) part of the range is read from the roll-ups
 * (storage/rollups.ts: continuous aggregates on TimescaleDB, hub-kept tables elsewhere) and only the
 * ragged edges, and what lies above the roll-ups' watermark, from raw readings; the answer is the
 * same as from raw readings alone.
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
import { textArray } from '../storage/array-literal.js';
import type { Database } from '../storage/database.js';
import {
  HOUR_AGGREGATE,
  MINUTE_AGGREGATE,
  ROLLUP_HOUR_TABLE,
  ROLLUP_MINUTE_TABLE,
  ROLLUP_STATE,
} from '../storage/rollups.js';
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

/** How many points one answer may carry, and how many series it will have. */
export interface AnswerBudget {
  /** Points in one answer, all series together (`EDGEWIRE_HISTORY_MAX_POINTS`). */
  maxPointsPerAnswer: number;
  /** Series the answer will hold: the metrics asked for, or every metric of the device. */
  series: number;
}

/**
 * Fills in the defaults (last hour, a bucket fitting the point budget) and checks that an explicit
 * bucket keeps within it. The budget of a series is `maxPoints`, or its share of the answer's points
 * when that is smaller. Errors name the parameter to change.
 */
export function resolveHistoryRequest(
  deviceId: string,
  query: HistoryQuery,
  now: number,
  budget: AnswerBudget = { maxPointsPerAnswer: Number.POSITIVE_INFINITY, series: 1 },
): { ok: true; request: HistoryRequest } | { ok: false; error: string } {
  const series = Math.max(1, budget.series);
  const perSeries = Math.min(query.maxPoints, Math.floor(budget.maxPointsPerAnswer / series));
  if (perSeries < 1) {
    return {
      ok: false,
      error: `metric: ${series} series would exceed the ${budget.maxPointsPerAnswer} points one answer may carry; name fewer metrics`,
    };
  }
  const limit =
    perSeries < query.maxPoints
      ? `${perSeries} per series (${budget.maxPointsPerAnswer} points per answer over ${series} series)`
      : `maxPoints (${query.maxPoints})`;
  // The schema already ensured from < to when both are given; a lone future `from` gets a one-millisecond range.
  const to = query.to ?? Math.max(now, (query.from ?? 0) + 1);
  const from = query.from ?? to - DEFAULT_RANGE_MS;
  let bucketMs = query.bucket;
  if (bucketMs === undefined) {
    bucketMs = BUCKET_LADDER.find((b) => bucketCount(from, to, b) <= perSeries);
    // Beyond the ladder: whole weeks, as many as it takes.
    bucketMs ??= Math.ceil((to - from) / (perSeries - 1 || 1) / (7 * DAY)) * 7 * DAY;
  } else {
    const count = bucketCount(from, to, bucketMs);
    if (count > perSeries) {
      return {
        ok: false,
        error: `bucket: ${formatBucket(bucketMs)} gives ${count} points over this range, more than ${limit}; choose a larger bucket or a shorter range`,
      };
    }
  }
  return { ok: true, request: { deviceId, metrics: query.metric, from, to, bucketMs, agg: query.agg } };
}

const at = (ms: number): SQL => sql`(timestamptz 'epoch' + ${ms}::bigint * interval '1 millisecond')`;
const epochMs = (column: SQL): SQL => sql`(extract(epoch from ${column}) * 1000)::float8`;
/**
 * How each aggregate is computed in two steps: partial values per bucket and piece of the range
 * (`raw` from the readings of one bucket, `rolled` from minute or hour roll-up rows), then `final`
 * over the pieces of a bucket. A raw partial is NULL for a bucket without readings. `last` carries
 * [epoch seconds, value] and keeps the greatest.
 */
const AGGREGATE_STEPS: Record<Aggregate, { raw: (where: SQL) => SQL; rolled: SQL; final: SQL }> = {
  avg: {
    raw: (where) => sql`select sum(value) as p1, count(*)::float8 as p2 from readings where ${where}`,
    rolled: sql`sum(value_sum) as p1, sum(value_count)::float8 as p2`,
    final: sql`sum(p1) / sum(p2)`,
  },
  min: {
    raw: (where) => sql`select min(value) as p1 from readings where ${where}`,
    rolled: sql`min(value_min) as p1`,
    final: sql`min(p1)`,
  },
  max: {
    raw: (where) => sql`select max(value) as p1 from readings where ${where}`,
    rolled: sql`max(value_max) as p1`,
    final: sql`max(p1)`,
  },
  count: {
    raw: (where) => sql`select nullif(count(*), 0)::float8 as p1 from readings where ${where}`,
    rolled: sql`sum(value_count)::float8 as p1`,
    final: sql`sum(p1)`,
  },
  last: {
    // One probe of the primary key per bucket, newest first.
    raw: (where) => sql`
      select array[extract(epoch from time)::float8, value] as p1 from readings where ${where}
      order by time desc limit 1`,
    // Roll-up rows order by their bucket: the pieces of a range never overlap in time.
    rolled: sql`max(array[extract(epoch from bucket)::float8, value_last]) as p1`,
    final: sql`(max(p1))[2]`,
  },
};

/**
 * The metrics of the request, or every metric of the device, walked through the primary key (a loose
 * index scan) instead of reading every row of the device.
 */
/** `deviceId`: the device's id, or a column of the enclosing query holding it. */
function metricsOf(deviceId: string | SQL, metrics: string[] | undefined): SQL {
  if (metrics) return sql`select unnest(${textArray(metrics)}::text[])`;
  return sql`
    (select metric from readings where device_id = ${deviceId} order by metric limit 1)
    union all
    select (select r.metric from readings r where r.device_id = ${deviceId} and r.metric > m.metric
            order by r.metric limit 1)
    from metrics m where m.metric is not null`;
}

const floorTo = (ms: number, step: number) => Math.floor(ms / step) * step;
const ceilTo = (ms: number, step: number) => Math.ceil(ms / step) * step;

/** A half-open time range [from, to) read from one source. */
interface Piece {
  source: 'raw' | 'minute' | 'hour';
  from: number;
  to: number;
}

/**
 * Splits [from, to) into pieces: whole hours from the hour roll-up (when the bucket is whole hours),
 * whole minutes from the minute roll-up, and raw readings for the ragged edges and for whatever lies
 * above the roll-ups' watermark. Pieces are disjoint and cover the range exactly.
 */
export function planPieces(from: number, to: number, bucketMs: number, watermark: number): Piece[] {
  const pieces: Piece[] = [];
  const add = (source: Piece['source'], a: number, b: number) => {
    if (a < b) pieces.push({ source, from: a, to: b });
  };
  if (bucketMs % MINUTE !== 0) {
    add('raw', from, to);
    return pieces;
  }
  const firstMinute = Math.min(ceilTo(from, MINUTE), to);
  // Minutes are rolled up to the watermark (itself a whole minute); everything after it is raw.
  const rolledEnd = Math.max(firstMinute, Math.min(floorTo(to, MINUTE), floorTo(watermark, MINUTE)));
  add('raw', from, firstMinute);
  if (bucketMs % HOUR === 0) {
    const firstHour = Math.min(ceilTo(firstMinute, HOUR), rolledEnd);
    const hoursEnd = Math.max(firstHour, floorTo(rolledEnd, HOUR));
    add('minute', firstMinute, firstHour);
    add('hour', firstHour, hoursEnd);
    add('minute', hoursEnd, rolledEnd);
  } else {
    add('minute', firstMinute, rolledEnd);
  }
  add('raw', rolledEnd, to);
  return pieces;
}

/** Where the minute and hour rows live for this storage mode. */
function rollupRelations(mode: StorageMode): { minute: string; hour: string } {
  return mode === 'timescaledb'
    ? { minute: MINUTE_AGGREGATE, hour: HOUR_AGGREGATE }
    : { minute: ROLLUP_MINUTE_TABLE, hour: ROLLUP_HOUR_TABLE };
}

/**
 * Up to where the roll-ups are complete. TimescaleDB's aggregates are complete everywhere (real-time
 * aggregation above their watermark, and the writer refreshes late buckets before acking); the hub-kept
 * roll-ups up to their watermark, which only rises, so reading it before the rows is safe.
 */
async function rolledUpTo(database: Database, mode: StorageMode): Promise<number> {
  if (mode === 'timescaledb') return Number.POSITIVE_INFINITY;
  const rows = await database.rows<{ watermark: number }>(
    `select (extract(epoch from watermark) * 1000)::float8 as watermark from ${ROLLUP_STATE}`,
  );
  return rows[0] ? Number(rows[0].watermark) : Number.NEGATIVE_INFINITY;
}

/**
 * Raw pieces are read bucket by bucket, metric by metric, each an index range of the primary key
 * (device, metric, time): no sort and no hash of raw rows, however many there are. Roll-up pieces are
 * few rows, grouped into the requested buckets.
 */
function bucketQuery(mode: StorageMode, r: HistoryRequest, pieces: Piece[]): SQL {
  const stride = sql`${r.bucketMs}::bigint * interval '1 millisecond'`;
  const metricFilter = r.metrics ? sql`and metric = any(${textArray(r.metrics)}::text[])` : sql``;
  const steps = AGGREGATE_STEPS[r.agg];
  const relations = rollupRelations(mode);
  const parts = pieces.map((piece) => {
    if (piece.source === 'raw') {
      const where = sql`device_id = ${r.deviceId} and metric = m.metric
        and time >= greatest(b.b, ${at(piece.from)}) and time < least(b.b + ${stride}, ${at(piece.to)})`;
      return sql`
        select m.metric, b.b, partial.*
        from metrics m
        cross join generate_series(date_bin(${stride}, ${at(piece.from)}, timestamptz 'epoch'),
                                   ${at(piece.to - 1)}, ${stride}) as b(b)
        cross join lateral (${steps.raw(where)}) as partial
        where m.metric is not null and partial.p1 is not null`;
    }
    return sql`
      select metric, date_bin(${stride}, bucket, timestamptz 'epoch') as b, ${steps.rolled}
      from ${sql.identifier(relations[piece.source])}
      where device_id = ${r.deviceId} ${metricFilter} and bucket >= ${at(piece.from)} and bucket < ${at(piece.to)}
      group by 1, 2`;
  });
  const metrics = pieces.some((p) => p.source === 'raw')
    ? sql`with recursive metrics(metric) as (${metricsOf(r.deviceId, r.metrics)})`
    : sql``;
  return sql`
    ${metrics}
    select metric, ${epochMs(sql`b`)} as t, ${steps.final}::float8 as v
    from (${sql.join(parts, sql` union all `)}) as pieces
    group by metric, b
    order by metric, b`;
}

/** The statement answering `request` (exported so tests can look at its plan). */
export async function historyQuery(
  database: Database,
  mode: StorageMode,
  request: HistoryRequest,
): Promise<SQL> {
  const pieces = planPieces(request.from, request.to, request.bucketMs, await rolledUpTo(database, mode));
  return bucketQuery(mode, request, pieces);
}

export async function readHistory(
  database: Database,
  mode: StorageMode,
  request: HistoryRequest,
): Promise<HistoryResponse> {
  const rows = await database.rows<{ metric: string; t: number; v: number }>(
    await historyQuery(database, mode, request),
  );
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

/** Every metric `deviceId` has stored, in byte order. */
export async function listMetrics(database: Database, deviceId: string): Promise<string[]> {
  return (await listMetricsOfDevices(database, [deviceId])).get(deviceId)!;
}

/**
 * Every metric each device of `deviceIds` has stored, in byte order, in one statement: a fleet
 * reconnecting after a restart asks for thousands of devices' metrics at once (see `MetricLimit`).
 */
export async function listMetricsOfDevices(
  database: Database,
  deviceIds: readonly string[],
): Promise<Map<string, string[]>> {
  const metrics = new Map<string, string[]>(deviceIds.map((id) => [id, []]));
  if (metrics.size === 0) return metrics;
  const rows = await database.rows<{ device: string; metric: string }>(sql`
    select d.id as device, m.metric
    from unnest(${textArray([...metrics.keys()])}::text[]) d(id)
    cross join lateral (
      with recursive metrics(metric) as (${metricsOf(sql`d.id`, undefined)})
      select metric from metrics where metric is not null
    ) m
    order by d.id, m.metric`);
  for (const r of rows) metrics.get(r.device)?.push(r.metric);
  return metrics;
}

/** The newest reading of every metric of a device. */
export async function readLatest(database: Database, deviceId: string): Promise<LatestResponse> {
  return { device: deviceId, metrics: (await readLatestOfDevices(database, [deviceId])).get(deviceId)! };
}

/**
 * The newest reading of each metric of every device in `deviceIds`, in one statement: the device list
 * shows 1,000 devices at once, and a statement per device made its answer take seconds.
 */
export async function readLatestOfDevices(
  database: Database,
  deviceIds: readonly string[],
): Promise<Map<string, LatestResponse['metrics']>> {
  const latest = new Map<string, LatestResponse['metrics']>(deviceIds.map((id) => [id, []]));
  if (deviceIds.length === 0) return latest;
  const rows = await database.rows<{
    device: string;
    metric: string;
    t: number;
    v: number;
    unit: string | null;
  }>(sql`
    select d.id as device, newest.metric, ${epochMs(sql`newest.time`)} as t, newest.value as v, newest.unit
    from unnest(${textArray([...deviceIds])}::text[]) d(id)
    cross join lateral (
      with recursive metrics(metric) as (${metricsOf(sql`d.id`, undefined)})
      select n.metric, n.time, n.value, n.unit
      from metrics m
      cross join lateral (
        select metric, time, value, unit from readings
        where device_id = d.id and metric = m.metric
        order by time desc limit 1
      ) n
    ) newest
    order by d.id, newest.metric`);
  for (const r of rows) {
    latest.get(r.device)?.push({ metric: r.metric, t: Number(r.t), v: Number(r.v), unit: r.unit });
  }
  return latest;
}
