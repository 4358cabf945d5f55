import { type Aggregate, historyQuerySchema, type Reading } from '@edgewire/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVERS, type TestDatabase } from '../../test/databases.js';
import { openReadingsDatabase, prng, storeReadings } from '../../test/readings.js';
import { testServerTimescale } from '../../test/timescale.js';
import type { Database } from '../storage/database.js';
import {
  bucketCount,
  type HistoryRequest,
  readHistory,
  readLatest,
  readLatestOfDevices,
  resolveHistoryRequest,
} from './history.js';
import type { StorageMode } from './storage-mode.js';

const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
const HOUR = 3_600_000;

function series(metric: string, everyMs: number, unit: string | undefined, seed: number): Reading[] {
  const random = prng(seed);
  const out: Reading[] = [];
  for (let ts = T0 + 3; ts < T0 + 2 * HOUR; ts += everyMs) {
    out.push({ metric, ts, value: Math.round(random() * 10_000) / 100 - 20, unit });
  }
  return out;
}

const temp = series('temp', 7_000, 'C', 1);
const humidity = series('humidity', 13_000, '%', 2);
const elsewhere = series('temp', 5_000, 'C', 3);

/** The answer computed in plain JavaScript from the readings the test stored. */
function expected(readings: Reading[], from: number, to: number, bucketMs: number, agg: Aggregate) {
  const buckets = new Map<number, Reading[]>();
  for (const r of readings) {
    if (r.ts < from || r.ts >= to) continue;
    const start = Math.floor(r.ts / bucketMs) * bucketMs;
    buckets.set(start, [...(buckets.get(start) ?? []), r]);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, rs]) => {
      const values = rs.map((r) => r.value);
      const v = {
        avg: values.reduce((a, b) => a + b, 0) / values.length,
        min: Math.min(...values),
        max: Math.max(...values),
        count: values.length,
        last: rs.reduce((a, b) => (b.ts > a.ts ? b : a)).value,
      }[agg];
      return { t, v };
    });
}

describe.each(DRIVERS)('history on %s', (driver) => {
  let testDb: TestDatabase;
  let database: Database;
  let mode: StorageMode;
  beforeAll(async () => {
    ({ testDb, database, mode } = await openReadingsDatabase(driver));
    // Shuffled across batches: storage order must not matter to the answer.
    await storeReadings(database, [
      { deviceId: 'pi-1', seq: 1, readings: temp.filter((_, i) => i % 2 === 1) },
      { deviceId: 'pi-1', seq: 2, readings: humidity },
      { deviceId: 'pi-2', seq: 1, readings: elsewhere },
      { deviceId: 'pi-1', seq: 3, readings: temp.filter((_, i) => i % 2 === 0) },
    ]);
  });
  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  const request = (overrides: Partial<HistoryRequest>): HistoryRequest => ({
    deviceId: 'pi-1',
    metrics: ['temp'],
    from: T0,
    to: T0 + 2 * HOUR,
    bucketMs: 60_000,
    agg: 'avg',
    ...overrides,
  });

  it('knows whether it runs on TimescaleDB', async () => {
    const timescale = driver === 'postgres' && (await testServerTimescale()).enabled;
    expect(mode).toBe(driver === 'pglite' ? 'pglite' : timescale ? 'timescaledb' : 'postgres');
  });

  for (const agg of ['avg', 'min', 'max', 'last', 'count'] as const) {
    it(`${agg} per bucket equals the value computed from the stored readings`, async () => {
      for (const [bucketMs, from, to] of [
        [60_000, T0, T0 + 2 * HOUR],
        [10_000, T0 + 12_345, T0 + 20 * 60_000 + 1],
        [15 * 60_000, T0 - HOUR, T0 + 3 * HOUR],
      ] as const) {
        const history = await readHistory(database, mode, request({ agg, bucketMs, from, to }));
        const want = expected(temp, from, to, bucketMs, agg);
        expect(history.series).toHaveLength(1);
        const got = history.series[0]!;
        expect(got.unit).toBe('C');
        expect(got.points.map((p) => p.t)).toEqual(want.map((p) => p.t));
        got.points.forEach((p, i) => {
          expect(p.v).toBeCloseTo(want[i]!.v, 9);
        });
      }
    });
  }

  it('returns one series per metric, only for the asked device, when no metric is named', async () => {
    const history = await readHistory(
      database,
      mode,
      request({ metrics: undefined, bucketMs: HOUR, agg: 'count' }),
    );
    expect(history.series.map((s) => [s.metric, s.unit])).toEqual([
      ['humidity', '%'],
      ['temp', 'C'],
    ]);
    const total = (name: string) =>
      history.series.find((s) => s.metric === name)!.points.reduce((a, p) => a + p.v, 0);
    expect(total('temp')).toBe(temp.length);
    expect(total('humidity')).toBe(humidity.length);
    expect(history).toMatchObject({ device: 'pi-1', bucket: '1h', bucketMs: HOUR, agg: 'count' });
  });

  it('answers an unknown device or metric with no series, not an error', async () => {
    expect((await readHistory(database, mode, request({ deviceId: 'nobody' }))).series).toEqual([]);
    expect((await readHistory(database, mode, request({ metrics: ['pressure'] }))).series).toEqual([]);
  });

  it('gives the newest reading of each metric of the device', async () => {
    const newest = (rs: Reading[]) => rs.reduce((a, b) => (b.ts > a.ts ? b : a));
    expect(await readLatest(database, 'pi-1')).toEqual({
      device: 'pi-1',
      metrics: [
        { metric: 'humidity', t: newest(humidity).ts, v: newest(humidity).value, unit: '%' },
        { metric: 'temp', t: newest(temp).ts, v: newest(temp).value, unit: 'C' },
      ],
    });
    expect(await readLatest(database, 'nobody')).toEqual({ device: 'nobody', metrics: [] });
  });

  it('gives every listed device its own newest readings, in one statement however many devices', async () => {
    let statements = 0;
    const counting: Database = {
      ...database,
      rows: (query) => {
        statements++;
        return database.rows(query);
      },
    };
    const ids = ['pi-2', 'nobody', 'pi-1', ...Array.from({ length: 200 }, (_, i) => `idle-${i}`)];
    const latest = await readLatestOfDevices(counting, ids);
    expect(statements).toBe(1);
    expect([...latest.keys()]).toEqual(ids);
    expect(latest.get('pi-1')).toEqual((await readLatest(database, 'pi-1')).metrics);
    const newestElsewhere = elsewhere.reduce((a, b) => (b.ts > a.ts ? b : a));
    expect(latest.get('pi-2')).toEqual([
      { metric: 'temp', t: newestElsewhere.ts, v: newestElsewhere.value, unit: 'C' },
    ]);
    expect(latest.get('nobody')).toEqual([]);
    expect(latest.get('idle-7')).toEqual([]);
  });
});

describe('resolving a history request', () => {
  const parse = (query: Record<string, string>) => historyQuerySchema.parse(query);
  const now = T0 + 10 * HOUR + 1234;

  it('defaults to the last hour with a bucket that fits the point budget', () => {
    const resolved = resolveHistoryRequest('pi-1', parse({}), now);
    expect(resolved).toEqual({
      ok: true,
      request: {
        deviceId: 'pi-1',
        metrics: undefined,
        from: now - HOUR,
        to: now,
        bucketMs: 5_000,
        agg: 'avg',
      },
    });
  });

  it('picks larger buckets for longer ranges and never exceeds maxPoints', () => {
    for (const [range, maxPoints] of [
      [HOUR, 100],
      [24 * HOUR, 1000],
      [365 * 24 * HOUR, 500],
      [20 * 365 * 24 * HOUR, 50],
    ] as const) {
      const query = parse({ from: String(now - range), to: String(now), maxPoints: String(maxPoints) });
      const resolved = resolveHistoryRequest('pi-1', query, now);
      if (!resolved.ok) throw new Error(resolved.error);
      const { from, to, bucketMs } = resolved.request;
      expect(bucketCount(from, to, bucketMs)).toBeLessThanOrEqual(maxPoints);
    }
  });

  it('refuses an explicit bucket too small for the range, naming the bucket', () => {
    const query = parse({ from: String(now - 24 * HOUR), to: String(now), bucket: '1s' });
    const resolved = resolveHistoryRequest('pi-1', query, now);
    expect(resolved.ok).toBe(false);
    expect(!resolved.ok && resolved.error).toMatch(/^bucket: 1s gives 86401 points over this range/);
  });
});
