/**
 * History answers checked against SQL computed straight from the raw readings, independently of the
 * hub's query (no roll-ups, an ordered aggregate for `last`).
 */
import type { Aggregate } from '@edgewire/protocol';
import { type SQL, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Database } from '../src/storage/database.js';
import { type HistoryRequest, readHistory } from '../src/telemetry/history.js';
import type { StorageMode } from '../src/telemetry/storage-mode.js';

/** The answer computed by SQL straight from the raw rows, independently of the hub's query. */
async function rawAnswer(
  database: Database,
  r: HistoryRequest,
): Promise<Map<string, Array<[number, number]>>> {
  const value: Record<Aggregate, SQL> = {
    avg: sql`avg(value)`,
    min: sql`min(value)`,
    max: sql`max(value)`,
    count: sql`count(*)::float8`,
    last: sql`(array_agg(value order by time desc))[1]`,
  };
  const at = (ms: number) => sql`(timestamptz 'epoch' + ${ms}::bigint * interval '1 millisecond')`;
  const rows = await database.rows<{ metric: string; t: number; v: number }>(sql`
    select metric,
      (extract(epoch from date_bin(${r.bucketMs}::bigint * interval '1 millisecond', time, timestamptz 'epoch')) * 1000)::float8 as t,
      ${value[r.agg]}::float8 as v
    from readings where device_id = ${r.deviceId} and time >= ${at(r.from)} and time < ${at(r.to)}
    group by 1, 2 order by 1, 2`);
  const out = new Map<string, Array<[number, number]>>();
  for (const row of rows) {
    const list = out.get(row.metric) ?? [];
    list.push([Number(row.t), Number(row.v)]);
    out.set(row.metric, list);
  }
  return out;
}

export async function expectSameAsRaw(
  database: Database,
  mode: StorageMode,
  r: HistoryRequest,
): Promise<void> {
  const want = await rawAnswer(database, r);
  const got = await readHistory(database, mode, r);
  const context = `${r.agg} over [${r.from}, ${r.to}) by ${r.bucketMs} ms`;
  expect(
    got.series.map((s) => s.metric),
    context,
  ).toEqual([...want.keys()]);
  for (const series of got.series) {
    const expected = want.get(series.metric)!;
    expect(
      series.points.map((p) => p.t),
      context,
    ).toEqual(expected.map(([t]) => t));
    series.points.forEach((p, i) => {
      const v = expected[i]![1];
      // Averages are sums over differently grouped rows: equal up to floating-point rounding.
      if (r.agg === 'avg')
        expect(Math.abs(p.v - v), context).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v)));
      else expect(p.v, context).toBe(v);
    });
  }
}
