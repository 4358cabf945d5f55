/**
 * Schema migrations: an ordered list of raw-SQL steps, each applied once and recorded in
 * `edgewire_migrations`. Raw SQL rather than generated files because some steps depend on what
 * the server offers (TimescaleDB) and must say so plainly.
 */
import type { Database } from './database.js';

export interface MigrationContext {
  readonly driver: Database['driver'];
  exec(text: string): Promise<void>;
  rows<T extends Record<string, unknown>>(text: string): Promise<T[]>;
  /**
   * Runs `text` on another session than the migration's own, so that a statement able to end its session
   * (`create extension timescaledb` on a server that has not preloaded it) cannot take the lock holder down.
   */
  isolated(text: string): Promise<void>;
}

export interface Migration {
  /** Unique, sortable, never renamed once released: `0001_core`. */
  readonly id: string;
  up(ctx: MigrationContext): Promise<void>;
}

/** Arbitrary constant naming the advisory lock that serialises migrations across hub instances. */
export const MIGRATION_LOCK_KEY = 0x0ed6e_001;

/** Applies every migration not yet recorded. Returns the ids it applied, in order. */
export async function migrate(database: Database, migrations: readonly Migration[]): Promise<string[]> {
  return database.withLock(MIGRATION_LOCK_KEY, async (session) => {
    await session.exec(
      'create table if not exists edgewire_migrations (id text primary key, applied_at timestamptz not null default now())',
    );
    const done = new Set(
      (await session.rows<{ id: string }>('select id from edgewire_migrations')).map((r) => r.id),
    );
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      await migration.up({
        driver: database.driver,
        exec: session.exec,
        rows: session.rows,
        isolated: (text) => database.exec(text),
      });
      await session.exec(
        `insert into edgewire_migrations (id) values ('${migration.id.replaceAll("'", "''")}')`,
      );
      applied.push(migration.id);
    }
    return applied;
  });
}
