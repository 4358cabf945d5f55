/**
 * Databases for tests: every suite runs against BOTH embedded PGlite and a real PostgreSQL server.
 * Each PostgreSQL test database is created fresh and dropped afterwards, so suites never share state.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type Database, type DriverKind, type OpenOptions, openDatabase } from '../src/storage/database.js';

/** The PostgreSQL server tests use; CI starts it. A missing server fails the tests, it never skips them. */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly driver: DriverKind;
  /** Set for PostgreSQL: the URL of this test's own database. */
  readonly url: string | undefined;
  /** `onStatement` counts what the code under test sends (see `OpenOptions`). */
  open(options?: Pick<OpenOptions, 'onStatement'>): Promise<Database>;
  drop(): Promise<void>;
}

export const DRIVERS: readonly DriverKind[] = ['pglite', 'postgres'];

export async function createTestDatabase(driver: DriverKind): Promise<TestDatabase> {
  if (driver === 'pglite') {
    return { driver, url: undefined, open: (options) => openDatabase({ ...options }), drop: async () => {} };
  }
  const name = `edgewire_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${name}`;
  return {
    driver,
    url: url.toString(),
    open: (options) => openDatabase({ ...options, url: url.toString(), maxConnections: 5 }),
    drop: async () => {
      const again = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
      try {
        await again.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await again.end();
      }
    },
  };
}
