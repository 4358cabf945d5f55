/**
 * Stores readings in a test database the way the hub's writer does for that database's storage mode:
 * with the roll-ups kept by the statement (plain PostgreSQL, PGlite), or with late buckets refreshed
 * into the continuous aggregates (TimescaleDB).
 */
import type { TelemetryBatch } from '../src/ingest/telemetry-sink.js';
import type { Database } from '../src/storage/database.js';
import { refreshForLateReadings } from '../src/telemetry/aggregate-refresh.js';
import { insertReadings } from '../src/telemetry/readings-insert.js';
import { detectStorageMode } from '../src/telemetry/storage-mode.js';

export async function storeReadings(database: Database, batches: readonly TelemetryBatch[]): Promise<number> {
  const mode = await detectStorageMode(database);
  const stored = await insertReadings(database, batches, { rollups: mode !== 'timescaledb' });
  if (mode === 'timescaledb') await refreshForLateReadings(database, batches);
  return stored;
}
