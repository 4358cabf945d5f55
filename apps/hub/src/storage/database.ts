/**
 * The one place that knows which PostgreSQL the hub talks to: embedded PGlite in a data directory
 * (the zero-setup default) or a server through postgres.js when `DATABASE_URL` is set. Everything
 * above this module sees the same drizzle database and the same `rows()` for raw SQL.
 *
 * PGlite runs on a thread of its own (pglite-thread.ts): its statements execute synchronously, and on the
 * hub's thread every batch insert and history query would stall live delivery for as long as it ran.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { PgliteThread } from './pglite-thread.js';

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
  /**
   * Told the text of every statement sent, for tests that count them. On PostgreSQL it is postgres.js'
   * `debug` hook, which also makes its errors carry their parameters: never set it in production.
   */
  onStatement?: ((text: string) => void) | undefined;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  return options.url
    ? openPostgres(options.url, options.maxConnections ?? 10, options.onStatement)
    : openPglite(options.dataDir, options.onStatement);
}

/**
 * PostgreSQL settings of the embedded database, chosen for a hub's small working set. `shared_buffers`
 * is what PGlite touches at start and keeps: at the initdb default of 128MB an idle hub held ~400 MB.
 * 8MB costs no measured insert throughput (the data files stay in the OS page cache), and the history
 * queries scan with work_mem, not the buffer pool. bench/embedded.ts prints the resulting RSS.
 */
export const EMBEDDED_SETTINGS: readonly string[] = ['shared_buffers=8MB', 'max_connections=4'];

async function openPglite(
  dataDir: string | undefined,
  onStatement: OpenOptions['onStatement'],
): Promise<Database> {
  // The database files are readable by whoever can enter the directory: only the hub's user may.
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (dataDir && !existsSync(join(dataDir, 'PG_VERSION'))) {
    // Creating the database (initdb) leaves a few hundred MB behind in its thread for good: create it in
    // a thread of its own, then open it in a fresh one.
    await (await PgliteThread.start({ dataDir, settings: EMBEDDED_SETTINGS })).close();
  }
  const client = await PgliteThread.start({ dataDir, settings: EMBEDDED_SETTINGS, onStatement });
  // drizzle's PGlite driver uses `query`, `exec` and `transaction` only, which the thread offers alike.
  const db = drizzlePglite({ client: client as unknown as PGlite }) as unknown as Db;
  const rows = async <T extends Record<string, unknown>>(query: SQL | string): Promise<T[]> => {
    if (typeof query === 'string') return (await client.query<T>(query)).rows;
    const result = (await db.execute(query)) as unknown as { rows: T[] };
    return result.rows;
  };
  const exec = (text: string): Promise<void> => client.exec(text);
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

async function openPostgres(
  url: string,
  max: number,
  onStatement: OpenOptions['onStatement'],
): Promise<Database> {
  const client = postgres(url, {
    max,
    onnotice: () => {},
    ...(onStatement ? { debug: (_connection: number, text: string) => onStatement(text) } : {}),
    // Connection errors carry the URL's host but never its password; postgres.js does not log them itself.
    // JIT compiling costs a second or more per statement and pays only on long analytical scans, which the
    // hub avoids by design; a rough row estimate was enough to have it compile every flush and history query.
    connection: { application_name: 'edgewire-hub', jit: 'off' },
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
