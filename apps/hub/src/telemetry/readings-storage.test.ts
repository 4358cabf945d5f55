/**
 * TimescaleDB's side of readings storage: lifecycle jobs applied (and altered) at every start, a plain
 * table moved onto TimescaleDB when the extension appears, and a reading acked long after its bucket
 * was materialised showing up in history. These need a server with the extension (`TEST_DATABASE_URL`
 * may point at one); elsewhere they are skipped and the output says so.
 */
import type { Reading } from '@edgewire/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/databases.js';
import { expectSameAsRaw } from '../../test/history-compare.js';
import { storeReadings } from '../../test/readings.js';
import { timescaleTests } from '../../test/timescale.js';
import type { Database } from '../storage/database.js';
import { migrate } from '../storage/migrate.js';
import { DEFAULT_READINGS_STORAGE } from '../storage/migrations/0002_readings.js';
import { migrations } from '../storage/migrations/index.js';
import { prepareReadingsStorage } from './readings-storage.js';
import { TelemetryWriter } from './telemetry-writer.js';

const timescale = await timescaleTests('readings storage on TimescaleDB');
const quiet = { info: () => {}, warn: () => {} } as never;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Job = {
  job_id: number;
  proc_name: string;
  relation: string;
  config: Record<string, unknown>;
};

async function jobs(database: Database): Promise<Job[]> {
  return database.rows<Job>(`
    select j.job_id, j.proc_name, coalesce(c.view_name, j.hypertable_name) as relation, j.config
    from timescaledb_information.jobs j
    left join timescaledb_information.continuous_aggregates c
      on c.materialization_hypertable_name = j.hypertable_name
    where j.proc_name like 'policy_%' order by relation, proc_name`);
}

/** Readings every 10 s of one metric over [start, end). */
function every10s(start: number, end: number): Reading[] {
  const out: Reading[] = [];
  for (let ts = start; ts < end; ts += 10_000) out.push({ metric: 'temp', ts, value: (ts / 10_000) % 53 });
  return out;
}

describe('readings storage on TimescaleDB', () => {
  let testDb: TestDatabase;
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    await testDb?.drop();
  });
  /** A fresh database on the test server, migrated (TimescaleDB enabled by the migrations). */
  const openMigrated = async (): Promise<Database> => {
    testDb = await createTestDatabase('postgres');
    const opened = await testDb.open();
    database = opened;
    await migrate(opened, migrations);
    return opened;
  };

  it.skipIf(!timescale.run)(
    timescale.title('applies the lifecycle settings at every start, altering the same jobs'),
    async () => {
      database = await openMigrated();
      expect(await prepareReadingsStorage(database, DEFAULT_READINGS_STORAGE, quiet)).toBe('timescaledb');
      const first = await jobs(database);
      const refresh = first.filter((j) => j.proc_name === 'policy_refresh_continuous_aggregate');
      expect(refresh.map((j) => j.relation).sort()).toEqual(['readings_1h', 'readings_1m']);
      // Open towards the past: no invalidation, however old, is left out of the aggregates.
      for (const job of refresh) expect(job.config.start_offset ?? null).toBeNull();
      const compression = first.find(
        (j) => j.proc_name === 'policy_compression' && j.relation === 'readings',
      );
      expect(compression?.config.compress_after).toBe('7 days');
      expect(first.some((j) => j.proc_name === 'policy_retention')).toBe(false);

      await prepareReadingsStorage(
        database,
        { ...DEFAULT_READINGS_STORAGE, compressAfter: '3 days', retention: '90 days' },
        quiet,
      );
      const second = await jobs(database);
      const altered = second.find((j) => j.proc_name === 'policy_compression' && j.relation === 'readings');
      expect(altered?.job_id).toBe(compression?.job_id);
      expect(altered?.config.compress_after).toBe('3 days');
      expect(
        second
          .filter((j) => j.proc_name === 'policy_retention')
          .map((j) => j.relation)
          .sort(),
      ).toEqual(['readings', 'readings_1h', 'readings_1m']);
    },
  );

  it.skipIf(!timescale.run)(
    timescale.title('moves a table first migrated without TimescaleDB onto it, history unchanged'),
    async () => {
      testDb = await createTestDatabase('postgres');
      database = await testDb.open();
      const real = database;
      // Migrated as if the server had no TimescaleDB then.
      const without: Database = {
        ...real,
        rows: (async (query: Parameters<Database['rows']>[0]) =>
          typeof query === 'string' && query.includes('pg_available_extensions')
            ? []
            : real.rows(query)) as Database['rows'],
        withLock: (key, work) =>
          real.withLock(key, (session) =>
            work({
              exec: session.exec,
              rows: (async (text: string) =>
                text.includes('pg_available_extensions') ? [] : session.rows(text)) as Database['rows'],
            }),
          ),
      };
      await migrate(without, migrations);
      const start = Date.UTC(2026, 0, 10);
      await storeReadings(database, [
        { deviceId: 'pi-1', seq: 1, readings: every10s(start, start + 2 * DAY) },
      ]);
      expect(await prepareReadingsStorage(database, DEFAULT_READINGS_STORAGE, quiet)).toBe('timescaledb');
      const left = await database.rows(
        "select tablename from pg_tables where tablename like 'readings_rollup%'",
      );
      expect(left).toEqual([]);
      for (const agg of ['avg', 'last', 'count'] as const) {
        await expectSameAsRaw(database, 'timescaledb', {
          deviceId: 'pi-1',
          metrics: undefined,
          from: start - 1234,
          to: start + 2 * DAY - 4321,
          bucketMs: HOUR,
          agg,
        });
      }
    },
  );

  it.skipIf(!timescale.run)(
    timescale.title('shows a reading acked long after its bucket was materialised'),
    async () => {
      database = await openMigrated();
      await prepareReadingsStorage(database, DEFAULT_READINGS_STORAGE, quiet);
      const now = Date.now();
      const start = now - 40 * DAY;
      await storeReadings(database, [{ deviceId: 'pi-1', seq: 1, readings: every10s(start, start + DAY) }]);
      await database.exec("call refresh_continuous_aggregate('readings_1m', null, null)");
      await database.exec("call refresh_continuous_aggregate('readings_1h', null, null)");
      // An agent's buffer replayed weeks later: older than any refresh or compression window.
      const writer = new TelemetryWriter({ database, storageMode: 'timescaledb', batchDelayMs: 1 });
      const acked = new Promise<void>((resolve) => writer.onCommitted(() => resolve()));
      writer.offer({
        deviceId: 'pi-1',
        seq: 2,
        readings: [{ metric: 'temp', ts: start + 5 * HOUR + 1, value: 1e6 }],
      });
      await acked;
      await writer.close();
      const request = {
        deviceId: 'pi-1',
        metrics: undefined,
        from: start - DAY,
        to: now,
        bucketMs: HOUR,
      } as const;
      await expectSameAsRaw(database, 'timescaledb', { ...request, agg: 'max' });
      await expectSameAsRaw(database, 'timescaledb', { ...request, agg: 'count' });
    },
  );
});
