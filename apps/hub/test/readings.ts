/**
 * Stores readings in a test database the way the hub's writer does for that database's storage mode:
 * with the roll-ups kept by the statement (plain PostgreSQL, PGlite), or with late buckets refreshed
 * into the continuous aggregates (TimescaleDB).
 */
import type { TelemetryBatch } from '../src/ingest/telemetry-sink.js';
import type { Database, DriverKind } from '../src/storage/database.js';
import { migrate } from '../src/storage/migrate.js';
import { migrations } from '../src/storage/migrations/index.js';
import { refreshForLateReadings } from '../src/telemetry/aggregate-refresh.js';
import { insertReadings } from '../src/telemetry/readings-insert.js';
import { detectStorageMode, type StorageMode } from '../src/telemetry/storage-mode.js';
import { createTestDatabase, type TestDatabase } from './databases.js';

/** A fresh test database on `driver`, migrated, with the storage mode it ended up in. */
export async function openReadingsDatabase(
  driver: DriverKind,
): Promise<{ testDb: TestDatabase; database: Database; mode: StorageMode }> {
  const testDb = await createTestDatabase(driver);
  const database = await testDb.open();
  await migrate(database, migrations);
  return { testDb, database, mode: await detectStorageMode(database) };
}

/** Deterministic pseudo-random numbers in [0, 1), so a failure can be replayed. */
export function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

export async function storeReadings(database: Database, batches: readonly TelemetryBatch[]): Promise<number> {
  const mode = await detectStorageMode(database);
  const stored = await insertReadings(database, batches, { rollups: mode !== 'timescaledb' });
  if (mode === 'timescaledb') await refreshForLateReadings(database, batches);
  return stored;
}
