/**
 * A PostgreSQL that has the TimescaleDB package but not in `shared_preload_libraries` answers
 * `create extension timescaledb` with FATAL and ends the session. The hub must fall back to plain
 * tables, keep working, and say why. The server here does not have the package, so the fault is
 * injected at the driver seam: the statement is replaced by one that really ends its session the
 * same way (`pg_terminate_backend` of its own backend), on a real PostgreSQL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/databases.js';
import { prepareReadingsStorage } from '../telemetry/readings-storage.js';
import type { Database } from './database.js';
import { migrate } from './migrate.js';
import { DEFAULT_READINGS_STORAGE } from './migrations/0002_readings.js';
import { migrations } from './migrations/index.js';

type Run = (query: Parameters<Database['rows']>[0]) => Promise<unknown>;

/** The server as it looks with the package installed; `preloaded` decides what the setting says. */
function withTimescalePackage(database: Database, preloaded: boolean): Database {
  const intercept =
    <F extends Run>(run: F) =>
    async (query: Parameters<Database['rows']>[0]) => {
      if (typeof query === 'string') {
        if (query.includes('pg_available_extensions')) return [{ offered: 1 }];
        if (query.includes('shared_preload_libraries'))
          return [{ libs: preloaded ? 'timescaledb' : 'pg_stat_statements' }];
        // What a server without timescaledb preloaded does to the session that asks.
        if (/create extension .*timescaledb/.test(query))
          return run('select pg_terminate_backend(pg_backend_pid())');
      }
      return run(query);
    };
  return {
    driver: database.driver,
    db: database.db,
    rows: intercept(database.rows) as Database['rows'],
    exec: intercept(database.exec as Run) as unknown as Database['exec'],
    withLock: (key, work) =>
      database.withLock(key, (session) =>
        work({
          rows: intercept(session.rows) as Database['rows'],
          exec: intercept(session.exec as Run) as unknown as Database['exec'],
        }),
      ),
    listen: (channel, onNotify, onListen) => database.listen(channel, onNotify, onListen),
    ping: () => database.ping(),
    close: () => database.close(),
  };
}

function captureLogger() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  const log = (level: string) => (fields: unknown, msg?: string) => {
    if (typeof fields === 'string') lines.push({ level, fields: {}, msg: fields });
    else lines.push({ level, fields: fields as Record<string, unknown>, msg: msg ?? '' });
  };
  return { lines, logger: { info: log('info'), warn: log('warn') } as never };
}

describe('a server whose TimescaleDB is installed but not preloaded', () => {
  let testDb: TestDatabase;
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('migrates onto plain tables, keeps its session, and logs why TimescaleDB is not used', async () => {
    testDb = await createTestDatabase('postgres');
    database = await testDb.open();
    // The role may not read shared_preload_libraries, or it lists timescaledb yet the library fails:
    // either way `create extension` is attempted and kills the session that runs it.
    const server = withTimescalePackage(database, true);
    expect(await migrate(server, migrations)).toEqual(migrations.map((m) => m.id));
    const { lines, logger } = captureLogger();
    expect(await prepareReadingsStorage(server, DEFAULT_READINGS_STORAGE, logger)).toBe('postgres');
    const reason = lines.find((l) => l.msg.startsWith('TimescaleDB not used'));
    expect(reason?.fields.reason).toMatch(/^the server ended the session on create extension timescaledb/);
    // Plain tables with the hub-kept roll-ups, and a database that still answers.
    const tables = await database.rows<{ name: string }>(
      "select tablename as name from pg_tables where tablename like 'readings%' order by 1",
    );
    expect(tables.map((t) => t.name)).toEqual([
      'readings',
      'readings_rollup_1h',
      'readings_rollup_1m',
      'readings_rollup_state',
    ]);
    await database.ping();
  });

  it('does not even try when the setting says it is not preloaded, and says how to fix it', async () => {
    testDb = await createTestDatabase('postgres');
    database = await testDb.open();
    const server = withTimescalePackage(database, false);
    await migrate(server, migrations);
    const { lines, logger } = captureLogger();
    expect(await prepareReadingsStorage(server, DEFAULT_READINGS_STORAGE, logger)).toBe('postgres');
    expect(lines.find((l) => l.msg.startsWith('TimescaleDB not used'))?.fields.reason).toBe(
      'timescaledb is installed but not preloaded: add timescaledb to shared_preload_libraries in postgresql.conf and restart PostgreSQL',
    );
  });
});
