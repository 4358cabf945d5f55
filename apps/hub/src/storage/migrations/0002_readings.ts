/**
 * The readings table: one row per reading, identified by (device, metric, time) so that a batch
 * stored twice stores nothing twice.
 *
 * On a server with TimescaleDB the table becomes a compressed hypertable with a 1-minute continuous
 * aggregate. Elsewhere (plain PostgreSQL, embedded PGlite) it stays a table; `0004_rollups` adds
 * the roll-ups history reads there.
 */
import type { Migration, MigrationContext } from '../migrate.js';
import { enableTimescale } from '../timescale.js';

export interface ReadingsStorageOptions {
  /** Hypertable chunk interval, PostgreSQL interval text. */
  chunkInterval: string;
  /** Chunks older than this are compressed. */
  compressAfter: string;
  /** Chunks older than this are dropped; undefined keeps everything. */
  retention: string | undefined;
}

export const DEFAULT_READINGS_STORAGE: ReadingsStorageOptions = {
  chunkInterval: '1 day',
  compressAfter: '7 days',
  retention: undefined,
};

/** Interval text safe to splice into DDL (policies take no bind parameters): `12 hours`, `7 days`. */
const INTERVAL_TEXT = /^[1-9]\d{0,5} ?(second|minute|hour|day|week|month|year)s?$/;

/** Reads `EDGEWIRE_CHUNK_INTERVAL`, `EDGEWIRE_COMPRESS_AFTER`, `EDGEWIRE_RETENTION`; a bad value names its key. */
export function readingsStorageOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ReadingsStorageOptions {
  const pick = (key: string, fallback: string | undefined): string | undefined => {
    const raw = env[key]?.trim();
    if (!raw) return fallback;
    if (!INTERVAL_TEXT.test(raw)) {
      throw new Error(
        `${key}: expected an interval like "1 day", "12 hours" or "30 days", got ${JSON.stringify(raw)}`,
      );
    }
    return raw;
  };
  return {
    chunkInterval: pick('EDGEWIRE_CHUNK_INTERVAL', DEFAULT_READINGS_STORAGE.chunkInterval)!,
    compressAfter: pick('EDGEWIRE_COMPRESS_AFTER', DEFAULT_READINGS_STORAGE.compressAfter)!,
    retention: pick('EDGEWIRE_RETENTION', DEFAULT_READINGS_STORAGE.retention),
  };
}

/** Name of the 1-minute continuous aggregate; its presence is how the hub knows it runs on TimescaleDB. */
export const READINGS_PER_MINUTE_VIEW = 'readings_1m';

// Ids and metric names are ASCII identifiers: byte order ("C") keeps them sorted sensibly and spares every
// index comparison the locale's collation rules, which costs insert throughput.
const CREATE_TABLE = `
create table if not exists readings (
  time timestamptz not null,
  device_id text collate "C" not null,
  metric text collate "C" not null,
  value double precision not null,
  unit text,
  primary key (device_id, metric, time)
)`;

/**
 * Turns `readings` into a compressed hypertable (moving rows already there into chunks) and creates the
 * minute continuous aggregate. Policies (compression, retention, refresh) are applied by the hub at
 * every start from the current settings: see telemetry/readings-storage.ts.
 */
export async function makeHypertable(
  ctx: Pick<MigrationContext, 'exec'>,
  options: ReadingsStorageOptions,
): Promise<void> {
  await ctx.exec(
    `select create_hypertable('readings', by_range('time', interval '${options.chunkInterval}'), if_not_exists => true, migrate_data => true)`,
  );
  await ctx.exec(
    "alter table readings set (timescaledb.compress, timescaledb.compress_segmentby = 'device_id, metric', timescaledb.compress_orderby = 'time desc')",
  );
  // A continuous aggregate cannot be created inside a transaction block, so it gets a statement of its own.
  // Real-time aggregation (materialized_only = false) answers above the watermark from the raw rows.
  await ctx.exec(`
    create materialized view if not exists ${READINGS_PER_MINUTE_VIEW}
    with (timescaledb.continuous, timescaledb.materialized_only = false) as
    select time_bucket(interval '1 minute', time) as bucket, device_id, metric,
      avg(value) as value_avg, min(value) as value_min, max(value) as value_max,
      sum(value) as value_sum, count(*) as value_count, last(value, time) as value_last
    from readings
    group by bucket, device_id, metric
    with no data`);
}

export function createReadingsMigration(options?: ReadingsStorageOptions): Migration {
  return {
    id: '0002_readings',
    up: async (ctx) => {
      const settings = options ?? readingsStorageOptionsFromEnv();
      await ctx.exec(CREATE_TABLE);
      // Why TimescaleDB is not used (when it is not) is logged at every start, by the storage set-up.
      if ((await enableTimescale(ctx)).enabled) {
        await makeHypertable(ctx, settings);
      } else {
        // Scans by time across devices (exports, manual cleanup) without slowing inserts the way a B-tree would.
        await ctx.exec('create index if not exists readings_time_brin on readings using brin (time)');
      }
    },
  };
}

/** Settings come from the environment when the migration runs (`pnpm hub migrate`, `serve`). */
export const readingsMigration: Migration = createReadingsMigration();
