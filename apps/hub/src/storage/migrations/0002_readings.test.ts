import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DRIVERS, type TestDatabase } from '../../../test/databases.js';
import type { Database } from '../database.js';
import { migrate } from '../migrate.js';
import {
  createReadingsMigration,
  DEFAULT_READINGS_STORAGE,
  readingsStorageOptionsFromEnv,
} from './0002_readings.js';

describe('readings storage settings from the environment', () => {
  it('uses the defaults when nothing is set', () => {
    expect(readingsStorageOptionsFromEnv({})).toEqual(DEFAULT_READINGS_STORAGE);
  });

  it('takes intervals in PostgreSQL words', () => {
    expect(
      readingsStorageOptionsFromEnv({
        EDGEWIRE_CHUNK_INTERVAL: '12 hours',
        EDGEWIRE_COMPRESS_AFTER: '2 days',
        EDGEWIRE_RETENTION: '1 year',
      }),
    ).toEqual({ chunkInterval: '12 hours', compressAfter: '2 days', retention: '1 year' });
  });

  it.each([
    ['EDGEWIRE_CHUNK_INTERVAL', '1 fortnight'],
    ['EDGEWIRE_COMPRESS_AFTER', "7 days'; drop table readings; --"],
    ['EDGEWIRE_RETENTION', '-1 day'],
  ])('refuses %s=%s, naming the key', (key, value) => {
    expect(() => readingsStorageOptionsFromEnv({ [key]: value })).toThrow(
      new RegExp(`^${key}: expected an interval`),
    );
  });
});

describe.each(DRIVERS)('readings table on %s', (driver) => {
  let testDb: TestDatabase;
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('identifies a reading by device, metric and time, and keeps values exact', async () => {
    testDb = await createTestDatabase(driver);
    database = await testDb.open();
    const migration = createReadingsMigration(DEFAULT_READINGS_STORAGE);
    expect(await migrate(database, [migration])).toEqual(['0002_readings']);
    await database.exec(`
      insert into readings values ('2026-01-01T00:00:00.001Z', 'pi-1', 'temp', 0.1, 'C');
      insert into readings values ('2026-01-01T00:00:00.001Z', 'pi-1', 'load', 0.2, null);
      insert into readings values ('2026-01-01T00:00:00.001Z', 'pi-2', 'temp', 0.3, 'C');`);
    await expect(
      database.exec("insert into readings values ('2026-01-01T00:00:00.001Z', 'pi-1', 'temp', 9, 'C')"),
    ).rejects.toThrow();
    await database.exec(
      "insert into readings values ('2026-01-01T00:00:00.001Z', 'pi-1', 'temp', 9, 'C') on conflict do nothing",
    );
    const rows = await database.rows<{ device_id: string; metric: string; value: number }>(
      'select device_id, metric, value from readings order by device_id, metric',
    );
    expect(rows).toEqual([
      { device_id: 'pi-1', metric: 'load', value: 0.2 },
      { device_id: 'pi-1', metric: 'temp', value: 0.1 },
      { device_id: 'pi-2', metric: 'temp', value: 0.3 },
    ]);
    expect(await migrate(database, [migration])).toEqual([]);
  });
});
