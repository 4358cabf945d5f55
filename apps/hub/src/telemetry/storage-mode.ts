/**
 * Which kind of time-series storage the migrated database offers. The hub logs it at start, and
 * history queries read the 1-minute continuous aggregate only where it exists.
 */

import type { Database } from '../storage/database.js';
import { READINGS_PER_MINUTE_VIEW } from '../storage/migrations/0002_readings.js';

export type StorageMode = 'timescaledb' | 'postgres' | 'pglite';

export async function detectStorageMode(database: Database): Promise<StorageMode> {
  if (database.driver === 'pglite') return 'pglite';
  const rows = await database.rows<{ present: boolean }>(
    `select to_regclass('${READINGS_PER_MINUTE_VIEW}') is not null as present`,
  );
  return rows[0]?.present ? 'timescaledb' : 'postgres';
}

/** One line saying how readings are stored, for the hub's start-up log. */
export function describeStorageMode(mode: StorageMode): string {
  switch (mode) {
    case 'timescaledb':
      return 'readings in a TimescaleDB hypertable (compressed, 1-minute continuous aggregate)';
    case 'postgres':
      return 'readings in a plain PostgreSQL table (TimescaleDB not available; history bucketed with date_bin)';
    case 'pglite':
      return 'readings in the embedded database (history bucketed with date_bin)';
  }
}
