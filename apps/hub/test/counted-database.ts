/** A fresh database for a suite, counting the statements the code under test sends to it. */
import { afterAll, beforeAll } from 'vitest';
import type { Database, DriverKind } from '../src/storage/database.js';
import { createTestDatabase, type TestDatabase } from './databases.js';

export interface CountedDatabase {
  /** Set once the suite's `beforeAll` has run. */
  readonly database: Database;
  /** Statements sent so far (compare before and after the work under test). */
  readonly statements: number;
}

/** Opens a database of `driver` before the enclosing suite (then `prepare`s it) and drops it after. */
export function countedDatabase(
  driver: DriverKind,
  prepare: (database: Database) => Promise<void>,
): CountedDatabase {
  let testDb: TestDatabase | undefined;
  let database: Database | undefined;
  let statements = 0;
  beforeAll(async () => {
    testDb = await createTestDatabase(driver);
    database = await testDb.open({ onStatement: () => statements++ });
    await prepare(database);
  });
  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });
  return {
    get database() {
      if (!database) throw new Error('the database opens in beforeAll');
      return database;
    },
    get statements() {
      return statements;
    },
  };
}
