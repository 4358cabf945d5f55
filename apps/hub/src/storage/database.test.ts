import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DRIVERS, type TestDatabase } from '../../test/databases.js';
import type { Database } from './database.js';
import { type Migration, migrate } from './migrate.js';

const widgets: Migration = {
  id: '0001_widgets',
  up: (ctx) => ctx.exec('create table widgets (id int primary key); insert into widgets values (1), (2);'),
};

describe.each(DRIVERS)('storage on %s', (driver) => {
  let testDb: TestDatabase;
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('applies each migration once, however often migrate runs', async () => {
    testDb = await createTestDatabase(driver);
    database = await testDb.open();
    expect(await migrate(database, [widgets])).toEqual(['0001_widgets']);
    expect(await migrate(database, [widgets])).toEqual([]);
    const rows = await database.rows<{ n: number }>('select count(*)::int as n from widgets');
    expect(rows[0]?.n).toBe(2);
    await database.ping();
  });

  it('leaves a failed migration unrecorded so the next start retries it', async () => {
    testDb = await createTestDatabase(driver);
    database = await testDb.open();
    const broken: Migration = { id: '0002_broken', up: (ctx) => ctx.exec('create table oops (') };
    await expect(migrate(database, [widgets, broken])).rejects.toThrow();
    const ids = await database.rows<{ id: string }>('select id from edgewire_migrations');
    expect(ids.map((r) => r.id)).toEqual(['0001_widgets']);
  });
});
