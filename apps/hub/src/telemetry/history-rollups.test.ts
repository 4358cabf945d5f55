/**
 * History read through the roll-ups (hub-kept tables on plain PostgreSQL and PGlite, continuous
 * aggregates on TimescaleDB) must answer exactly what a plain SQL computation over the raw readings
 * answers: for random data, random ragged ranges and buckets, readings stored late (older than the
 * watermark, older than any refresh window), and batches resent.
 */
import type { Aggregate, Reading } from '@edgewire/protocol';
import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVERS, type TestDatabase } from '../../test/databases.js';
import { expectSameAsRaw } from '../../test/history-compare.js';
import { openReadingsDatabase, prng, storeReadings } from '../../test/readings.js';
import type { Database } from '../storage/database.js';
import { ROLLUP_STATE } from '../storage/rollups.js';
import { type HistoryRequest, historyQuery, planPieces } from './history.js';
import { RollupAdvance } from './rollup-advance.js';
import type { StorageMode } from './storage-mode.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Well in the past: every reading here is "late" for a hub running today. */
const T0 = Date.UTC(2026, 5, 1, 0, 0, 0);
const AGGREGATES: Aggregate[] = ['avg', 'min', 'max', 'last', 'count'];

/** Readings of `metrics` at random gaps (0.2 s to 40 s, odd milliseconds) over [start, end). */
function randomReadings(random: () => number, metrics: string[], start: number, end: number): Reading[] {
  const out: Reading[] = [];
  for (const metric of metrics) {
    for (let ts = start + Math.floor(random() * 1000); ts < end; ts += 200 + Math.floor(random() * 40_000)) {
      out.push({ metric, ts, value: Math.round((random() - 0.3) * 1e6) / 1e3, unit: 'u' });
    }
  }
  return out;
}

/** Random ragged ranges and buckets over [start, end), each aggregate. */
async function compareRandomQueries(
  database: Database,
  mode: StorageMode,
  random: () => number,
  start: number,
  end: number,
  count: number,
): Promise<void> {
  const buckets = [10 * SECOND, MINUTE, 5 * MINUTE, HOUR, 2 * HOUR, DAY];
  for (let i = 0; i < count; i++) {
    const a = start - HOUR + Math.floor(random() * (end - start + 2 * HOUR));
    const b = start - HOUR + Math.floor(random() * (end - start + 2 * HOUR));
    const from = Math.min(a, b);
    const to = Math.max(a, b) + 1;
    const bucketMs = buckets[Math.floor(random() * buckets.length)]!;
    const agg = AGGREGATES[i % AGGREGATES.length]!;
    await expectSameAsRaw(database, mode, { deviceId: 'pi-1', metrics: undefined, from, to, bucketMs, agg });
  }
}

/** Rows the statement read from the raw readings table (its chunks on TimescaleDB), from EXPLAIN ANALYZE. */
async function rawRowsRead(
  database: Database,
  mode: StorageMode,
  query: SQL,
): Promise<{ raw: number; sorted: number }> {
  const [row] = await database.rows<Record<string, unknown>>(sql`explain (analyze, format json) ${query}`);
  const text = Object.values(row!)[0];
  const plan = (typeof text === 'string' ? JSON.parse(text) : text) as Array<{ Plan: PlanNode }>;
  let rawPrefix = 'readings';
  if (mode === 'timescaledb') {
    const [h] = await database.rows<{ id: number }>(
      "select id from _timescaledb_catalog.hypertable where table_name = 'readings'",
    );
    rawPrefix = `_hyper_${h!.id}_`;
  }
  let raw = 0;
  let sorted = 0;
  const walk = (node: PlanNode) => {
    const rows = (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1);
    const relation = node['Relation Name'] ?? '';
    if (relation === 'readings' || (mode === 'timescaledb' && relation.startsWith(rawPrefix))) raw += rows;
    if (node['Node Type'] === 'Sort') sorted = Math.max(sorted, rows);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan[0]!.Plan);
  return { raw, sorted };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

describe('splitting a range into raw edges and roll-up pieces', () => {
  it('covers the range exactly, with hours only for whole-hour buckets and nothing rolled above the watermark', () => {
    const from = T0 + 17_345;
    const to = T0 + 5 * HOUR + 2 * MINUTE + 999;
    expect(planPieces(from, to, HOUR, Number.POSITIVE_INFINITY)).toEqual([
      { source: 'raw', from, to: T0 + MINUTE },
      { source: 'minute', from: T0 + MINUTE, to: T0 + HOUR },
      { source: 'hour', from: T0 + HOUR, to: T0 + 5 * HOUR },
      { source: 'minute', from: T0 + 5 * HOUR, to: T0 + 5 * HOUR + 2 * MINUTE },
      { source: 'raw', from: T0 + 5 * HOUR + 2 * MINUTE, to },
    ]);
    expect(planPieces(from, to, 5 * MINUTE, T0 + 2 * HOUR)).toEqual([
      { source: 'raw', from, to: T0 + MINUTE },
      { source: 'minute', from: T0 + MINUTE, to: T0 + 2 * HOUR },
      { source: 'raw', from: T0 + 2 * HOUR, to },
    ]);
    expect(planPieces(from, to, 10 * SECOND, Number.POSITIVE_INFINITY)).toEqual([
      { source: 'raw', from, to },
    ]);
    expect(planPieces(from, to, HOUR, T0 - DAY)).toEqual([
      { source: 'raw', from, to: T0 + MINUTE },
      { source: 'raw', from: T0 + MINUTE, to },
    ]);
  });
});

describe.each(DRIVERS)('history through the roll-ups on %s', (driver) => {
  let testDb: TestDatabase;
  let database: Database;
  let mode: StorageMode;
  beforeAll(async () => {
    ({ testDb, database, mode } = await openReadingsDatabase(driver));
  });
  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  /** Rolls up everything stored so far (the watermark to now, or every aggregate refreshed). */
  const rollUpEverything = async () => {
    if (mode === 'timescaledb') {
      await database.exec("call refresh_continuous_aggregate('readings_1m', null, null)");
      await database.exec("call refresh_continuous_aggregate('readings_1h', null, null)");
    } else {
      await new RollupAdvance({ database, maxStepMs: 365 * DAY, settleMs: MINUTE }).catchUp();
    }
  };

  it('answers like the raw readings before, across and after the watermark, for late, backfilled and resent readings', {
    timeout: 300_000,
  }, async () => {
    const random = prng(driver === 'pglite' ? 7 : 11);
    const start = T0;
    const end = T0 + 6 * HOUR;
    const all = randomReadings(random, ['temp', 'load'], start, end);
    const firstHalf = all.filter((r) => r.ts < T0 + 3 * HOUR);
    const secondHalf = all.filter((r) => r.ts >= T0 + 3 * HOUR);
    if (mode !== 'timescaledb') {
      // The watermark in the middle of the data: the first half is stored late (rolled up by its own
      // statement), the second half above it (raw until the advance rolls it up).
      await database.exec(
        `update ${ROLLUP_STATE} set watermark = timestamptz '${new Date(T0 + 3 * HOUR).toISOString()}'`,
      );
    }
    for (let i = 0; i < firstHalf.length; i += 500) {
      await storeReadings(database, [{ deviceId: 'pi-1', seq: i, readings: firstHalf.slice(i, i + 500) }]);
    }
    await storeReadings(database, [{ deviceId: 'pi-1', seq: 1e6, readings: secondHalf }]);
    await storeReadings(database, [
      { deviceId: 'pi-2', seq: 1, readings: randomReadings(random, ['temp'], start, end) },
    ]);
    await compareRandomQueries(database, mode, random, start, end, 15);

    await rollUpEverything();
    await compareRandomQueries(database, mode, random, start, end, 15);

    // Resent batches (a lost ack) store nothing twice, in the raw rows or the roll-ups.
    const resent = all.filter((_, i) => i % 3 === 0);
    expect(await storeReadings(database, [{ deviceId: 'pi-1', seq: 2e6, readings: resent }])).toBe(0);
    // Late readings into minutes already rolled up, and a backfill older than any refresh window.
    const late = randomReadings(random, ['temp', 'load', 'new'], start + 30 * MINUTE, start + 2 * HOUR).map(
      (r) => ({
        ...r,
        ts: r.ts + 7,
      }),
    );
    const backfill = randomReadings(random, ['temp'], start - 60 * DAY, start - 60 * DAY + 3 * HOUR);
    await storeReadings(database, [
      { deviceId: 'pi-1', seq: 3e6, readings: [...late, ...backfill, ...resent.slice(0, 5)] },
    ]);
    await compareRandomQueries(database, mode, random, start, end, 15);
    await compareRandomQueries(database, mode, random, start - 60 * DAY, start - 60 * DAY + 4 * HOUR, 10);
    await expectSameAsRaw(database, mode, {
      deviceId: 'pi-1',
      metrics: undefined,
      from: start - 61 * DAY,
      to: end + 1234,
      bucketMs: DAY,
      agg: 'count',
    });
  });

  it('reads whole minutes and hours from the roll-ups and never sorts raw rows', {
    timeout: 300_000,
  }, async () => {
    const base = T0 + 10 * DAY;
    const readings: Reading[] = [];
    for (let ts = base; ts < base + DAY; ts += SECOND)
      readings.push({ metric: 'hz', ts, value: (ts / SECOND) % 97 });
    for (let i = 0; i < readings.length; i += 10_000) {
      await storeReadings(database, [{ deviceId: 'pi-9', seq: i, readings: readings.slice(i, i + 10_000) }]);
    }
    await rollUpEverything();
    // The most common request: no `to`, so the range ends at a ragged "now".
    const day: HistoryRequest = {
      deviceId: 'pi-9',
      metrics: ['hz'],
      from: base + 17_345,
      to: base + DAY - 33_333,
      bucketMs: HOUR,
      agg: 'avg',
    };
    const read = await rawRowsRead(database, mode, await historyQuery(database, mode, day));
    // Only the ragged edges (under a minute each) come from raw rows, out of 86,400.
    expect(read.raw).toBeLessThan(2 * 60);
    await expectSameAsRaw(database, mode, day);
    // A bucket below a minute reads raw rows, each bucket a range of the primary key: nothing sorts them.
    const fine: HistoryRequest = { ...day, from: base, to: base + HOUR, bucketMs: 10 * SECOND, agg: 'avg' };
    const fineRead = await rawRowsRead(database, mode, await historyQuery(database, mode, fine));
    expect(fineRead.raw).toBe(3600);
    expect(fineRead.sorted).toBeLessThanOrEqual(360);
    await expectSameAsRaw(database, mode, fine);
    // `last` needs only the newest reading of each bucket: one probe per bucket.
    const newest: HistoryRequest = { ...fine, agg: 'last' };
    expect((await rawRowsRead(database, mode, await historyQuery(database, mode, newest))).raw).toBe(360);
    await expectSameAsRaw(database, mode, newest);
  });
});
