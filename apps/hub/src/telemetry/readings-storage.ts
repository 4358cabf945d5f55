/**
 * Readings storage at every start, after the migrations: decides the storage mode, says in the log
 * why TimescaleDB is not used when it is not, moves a plain `readings` table onto TimescaleDB when
 * the extension has appeared since, and (re)applies the lifecycle settings to TimescaleDB's jobs, so
 * that a changed `EDGEWIRE_COMPRESS_AFTER` or `EDGEWIRE_RETENTION` takes effect at the next start.
 */
import type { BaseLogger } from 'pino';
import type { Database } from '../storage/database.js';
import { MIGRATION_LOCK_KEY } from '../storage/migrate.js';
import { makeHypertable, type ReadingsStorageOptions } from '../storage/migrations/0002_readings.js';
import {
  CREATE_HOUR_AGGREGATE,
  DROP_ROLLUP_TABLES,
  HOUR_AGGREGATE,
  MINUTE_AGGREGATE,
} from '../storage/rollups.js';
import { enableTimescale, readingsIsHypertable } from '../storage/timescale.js';
import { storageError } from './readings-insert.js';
import { describeStorageMode, detectStorageMode, type StorageMode } from './storage-mode.js';

type Session = Pick<Database, 'exec' | 'rows'>;
type Logger = Pick<BaseLogger, 'info' | 'warn'>;

/** Refresh policy of each aggregate: the window is open towards the past, so no invalidation is ever left behind. */
const REFRESH_POLICIES = [
  { view: MINUTE_AGGREGATE, endOffset: '1 minute', schedule: '1 minute' },
  { view: HOUR_AGGREGATE, endOffset: '1 hour', schedule: '10 minutes' },
] as const;

export async function prepareReadingsStorage(
  database: Database,
  options: ReadingsStorageOptions,
  logger: Logger,
): Promise<StorageMode> {
  if (database.driver === 'postgres') {
    const timescale = await enableTimescale({
      driver: database.driver,
      rows: (text) => database.rows(text),
      isolated: (text) => database.exec(text),
    });
    if (!timescale.enabled) {
      logger.info({ reason: timescale.reason }, `TimescaleDB not used: ${timescale.reason}`);
    } else {
      await database.withLock(MIGRATION_LOCK_KEY, async (session) => {
        if (!(await readingsIsHypertable(session))) await convertToHypertable(session, options, logger);
        await applyPolicies(session, options, logger);
      });
    }
  }
  const mode = await detectStorageMode(database);
  logger.info({ storage: mode }, describeStorageMode(mode));
  return mode;
}

/**
 * A database first migrated without TimescaleDB: the table becomes a hypertable with its rows
 * (`migrate_data`), the continuous aggregates replace the hub-kept roll-ups, and the aggregates are
 * filled before the hub serves, so that history never shows a gap while a policy catches up.
 */
async function convertToHypertable(session: Session, options: ReadingsStorageOptions, logger: Logger) {
  logger.warn('TimescaleDB is now available: moving readings into a hypertable (may take a while)');
  await makeHypertable(session, options);
  await session.exec(CREATE_HOUR_AGGREGATE);
  await session.exec(DROP_ROLLUP_TABLES);
  for (const { view, endOffset } of REFRESH_POLICIES) {
    // Up to where the policy refreshes, not to the end of the data: a window open at the end would
    // materialise the bucket being written and move the watermark past it, so that readings stored into
    // it stayed hidden from real-time aggregation until a policy run refreshed it again.
    await session.exec(`call refresh_continuous_aggregate('${view}', null, now() - interval '${endOffset}')`);
  }
  logger.info('readings moved into a TimescaleDB hypertable');
}

/** Runs one policy statement; a refusal is logged and does not stop the hub (history stays exact without it). */
async function attempt(logger: Logger, what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    logger.warn({ err: storageError(error) }, `TimescaleDB: could not ${what}`);
  }
}

/** The job of `proc` on `relation` (a hypertable, or a continuous aggregate's materialisation). */
const jobOf = (proc: string, relation: string) => `
  select j.job_id, j.config from timescaledb_information.jobs j
  left join timescaledb_information.continuous_aggregates c
    on c.materialization_hypertable_schema = j.hypertable_schema
   and c.materialization_hypertable_name = j.hypertable_name
  where j.proc_name = '${proc}' and coalesce(c.view_name, j.hypertable_name) = '${relation}'`;

/**
 * Makes `relation`'s job of `proc` exist with `key` = `value` in its config: added when missing,
 * altered (same job, new config) when the setting changed, removed when `value` is undefined.
 */
async function ensureIntervalPolicy(
  session: Session,
  logger: Logger,
  policy: {
    relation: string;
    proc: string;
    key: string;
    value: string | undefined;
    add: string;
    remove: string;
  },
): Promise<void> {
  const [job] = await session.rows<{ job_id: number; config: Record<string, unknown> }>(
    jobOf(policy.proc, policy.relation),
  );
  if (policy.value === undefined) {
    if (job)
      await attempt(logger, `remove the ${policy.key} policy of ${policy.relation}`, () =>
        session.exec(policy.remove),
      );
    return;
  }
  if (!job) {
    await attempt(logger, `add the ${policy.key} policy of ${policy.relation}`, () =>
      session.exec(policy.add),
    );
    return;
  }
  await attempt(logger, `update the ${policy.key} policy of ${policy.relation}`, () =>
    session.exec(`
      select alter_job(${Number(job.job_id)},
        config => jsonb_set(config, '{${policy.key}}', to_jsonb(interval '${policy.value}'::text)))
      from timescaledb_information.jobs
      where job_id = ${Number(job.job_id)}
        and (config->>'${policy.key}')::interval is distinct from interval '${policy.value}'`),
  );
}

async function applyPolicies(session: Session, options: ReadingsStorageOptions, logger: Logger) {
  for (const { view, endOffset, schedule } of REFRESH_POLICIES) {
    const [job] = await session.rows<{ job_id: number; open: boolean; end_ok: boolean }>(`
      select job_id, config->'start_offset' is null or config->'start_offset' = 'null'::jsonb as open,
        (config->>'end_offset')::interval = interval '${endOffset}' as end_ok
      from (${jobOf('policy_refresh_continuous_aggregate', view)}) j`);
    if (job && !(job.open && job.end_ok)) {
      // An older hub bounded the window (late readings then stayed out of the aggregate): replace it.
      await attempt(logger, `replace the refresh policy of ${view}`, () =>
        session.exec(`select remove_continuous_aggregate_policy('${view}', if_exists => true)`),
      );
    }
    if (!job || !(job.open && job.end_ok)) {
      await attempt(logger, `add the refresh policy of ${view}`, () =>
        session.exec(
          `select add_continuous_aggregate_policy('${view}', start_offset => null, end_offset => interval '${endOffset}', schedule_interval => interval '${schedule}', if_not_exists => true)`,
        ),
      );
    }
  }
  await ensureIntervalPolicy(session, logger, {
    relation: 'readings',
    proc: 'policy_compression',
    key: 'compress_after',
    value: options.compressAfter,
    add: `select add_compression_policy('readings', compress_after => interval '${options.compressAfter}', if_not_exists => true)`,
    remove: "select remove_compression_policy('readings', if_exists => true)",
  });
  for (const { view } of REFRESH_POLICIES) {
    // The aggregates are compressed like the raw rows (≈ 190 bytes a row otherwise), segmented by series
    // as history reads them: since TimescaleDB 2.25 an aggregate is no longer segmented by its GROUP BY
    // columns unless told. Refreshing a compressed region works since compressed chunks accept changes;
    // TimescaleDB before 2.18.1 refuses a compression policy overlapping an open refresh window (start
    // offset NULL), which is logged and leaves them uncompressed. The `compress` options are the pre-2.18
    // names, which later versions still accept (there: `enable_columnstore`, `segmentby`).
    const [aggregate] = await session.rows<{ compression_enabled: boolean }>(
      `select compression_enabled from timescaledb_information.continuous_aggregates where view_name = '${view}'`,
    );
    if (aggregate && !aggregate.compression_enabled) {
      await attempt(logger, `enable compression of ${view}`, () =>
        session.exec(
          `alter materialized view ${view} set (timescaledb.compress = true, timescaledb.compress_segmentby = 'device_id, metric')`,
        ),
      );
    }
    await ensureIntervalPolicy(session, logger, {
      relation: view,
      proc: 'policy_compression',
      key: 'compress_after',
      value: options.compressAfter,
      add: `select add_compression_policy('${view}', compress_after => interval '${options.compressAfter}', if_not_exists => true)`,
      remove: `select remove_compression_policy('${view}', if_exists => true)`,
    });
  }
  // Retention drops raw chunks and aggregate chunks alike, so history never shows buckets without readings.
  for (const relation of ['readings', ...REFRESH_POLICIES.map((p) => p.view)]) {
    await ensureIntervalPolicy(session, logger, {
      relation,
      proc: 'policy_retention',
      key: 'drop_after',
      value: options.retention,
      add: `select add_retention_policy('${relation}', drop_after => interval '${options.retention}', if_not_exists => true)`,
      remove: `select remove_retention_policy('${relation}', if_exists => true)`,
    });
  }
}
