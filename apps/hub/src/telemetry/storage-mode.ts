/**
 * Which kind of time-series storage the migrated database offers, which decides where history reads
 * its minute and hour roll-ups: TimescaleDB's continuous aggregates, or the hub-kept roll-up tables.
 */

import type { Database } from '../storage/database.js';
import { HOUR_AGGREGATE, ROLLUP_STATE } from '../storage/rollups.js';

export type StorageMode = 'timescaledb' | 'postgres' | 'pglite';

export async function detectStorageMode(database: Pick<Database, 'driver' | 'rows'>): Promise<StorageMode> {
  if (database.driver === 'pglite') return 'pglite';
  const rows = await database.rows<{ aggregates: boolean; tables: boolean }>(
    `select to_regclass('${HOUR_AGGREGATE}') is not null as aggregates, to_regclass('${ROLLUP_STATE}') is not null as tables`,
  );
  return rows[0]?.aggregates && !rows[0].tables ? 'timescaledb' : 'postgres';
}

/** One line saying how readings are stored, for the hub's start-up log. */
export function describeStorageMode(mode: StorageMode): string {
  switch (mode) {
    case 'timescaledb':
      return 'readings in a TimescaleDB hypertable (compressed; minute and hour continuous aggregates)';
    case 'postgres':
      return 'readings in a plain PostgreSQL table (minute and hour roll-ups kept by the hub)';
    case 'pglite':
      return 'readings in the embedded database (minute and hour roll-ups kept by the hub)';
  }
}
