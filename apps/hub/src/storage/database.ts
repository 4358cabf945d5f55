/**
 * The one place that knows which PostgreSQL the hub talks to: embedded PGlite in a data directory
 * (the zero-setup default) or a server through postgres.js when `DATABASE_URL` is set. Everything
 * above this module sees the same drizzle database and the same `rows()` for raw SQL.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';

export type Db = PgDatabase<PgQueryResultHKT>;
export type DriverKind = 'pglite' | 'postgres';

export interface Database {
  readonly driver: DriverKind;
  readonly db: Db;
  /** Runs one raw statement (a drizzle `sql` template, or text without parameters) and returns its rows. */
  rows<T extends Record<string, unknown>>(query: SQL | string): Promise<T[]>;
  /** Runs text that may hold several statements and no parameters, on one session. */
  exec(text: string): Promise<void>;
  /**
   * Runs `work` while holding a cluster-wide lock named by `key`, so that hubs starting together
   * do not migrate twice. PGlite is single-process and needs no lock.
   */
  withLock<T>(key: number, work: (session: Pick<Database, 'exec' | 'rows'>) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` with the payload of every `NOTIFY channel` committed by anyone, from now on;
   * `onListen` runs once listening (again after a reconnection, when notifications may have been missed).
   * Resolves to a function that stops listening.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onListen?: () => void,
  ): Promise<() => Promise<void>>;
  /** Throws unless the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL URL; when absent the embedded database in `dataDir` is used. */
  url?: string | undefined;
  /** Directory of the embedded database; `undefined` with no `url` means in memory (tests). */
  dataDir?: string | undefined;
  /** Pool size for PostgreSQL. */
  maxConnections?: number;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.maxConnections ?? 10) : openPglite(options.dataDir);
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  // The database files are readable by whoever can enter the directory: only the hub's user may.
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const client = dataDir ? new PGlite(dataDir) : new PGlite();
  await client.waitReady;
  const db = drizzlePglite({ client }) as unknown as Db;
  const rows = async <T extends Record<string, unknown>>(query: SQL | string): Promise<T[]> => {
    if (typeof query === 'string') return (await client.query<T>(query)).rows;
    const result = (await db.execute(query)) as unknown as { rows: T[] };
    return result.rows;
  };
  const exec = async (text: string): Promise<void> => {
    await client.exec(text);
  };
  return {
    driver: 'pglite',
    db,
    rows,
    exec,
    withLock: (_key, work) => work({ rows, exec }),
    listen: async (channel, onNotify, onListen) => {
      const stop = await client.listen(channel, onNotify);
      onListen?.();
      return () => stop();
    },
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const client = postgres(url, {
    max,
    onnotice: () => {},
    // Connection errors carry the URL's host but never its password; postgres.js does not log them itself.
    connection: { application_name: 'edgewire-hub' },
  });
  const db = drizzlePostgres({ client }) as unknown as Db;
  const rows = async <T extends Record<string, unknown>>(query: SQL | string): Promise<T[]> => {
    if (typeof query === 'string') return (await client.unsafe(query)) as unknown as T[];
    return (await db.execute(query)) as unknown as T[];
  };
  return {
    driver: 'postgres',
    db,
    rows,
    exec: async (text) => {
      await client.unsafe(text).simple();
    },
    withLock: async (key, work) => {
      const session = await client.reserve();
      try {
        await session`select pg_advisory_lock(${key})`;
        return await work({
          rows: async <T extends Record<string, unknown>>(query: SQL | string) => {
            if (typeof query !== 'string') throw new Error('a locked session runs raw SQL text only');
            return (await session.unsafe(query)) as unknown as T[];
          },
          exec: async (text) => {
            await session.unsafe(text).simple();
          },
        });
      } finally {
        await session`select pg_advisory_unlock(${key})`.catch(() => {});
        session.release();
      }
    },
    listen: async (channel, onNotify, onListen) => {
      // postgres.js keeps one extra connection for LISTEN and re-listens after reconnecting.
      const { unlisten } = await client.listen(channel, onNotify, onListen);
      return unlisten;
    },
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}
