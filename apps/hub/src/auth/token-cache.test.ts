import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/databases.js';
import type { Database } from '../storage/database.js';
import { migrate } from '../storage/migrate.js';
import { migrations } from '../storage/migrations/index.js';
import { newToken } from './secrets.js';
import { TokenCache } from './token-cache.js';
import { TokenStore } from './token-store.js';

/** The real store on a real database, counting the lookups that reach it. */
class CountingStore extends TokenStore {
  lookups = 0;
  override findByHash(hash: string) {
    this.lookups++;
    return super.findByHash(hash);
  }
}

describe('TokenCache', () => {
  let testDb: TestDatabase;
  let database: Database;
  let store: CountingStore;
  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    database = await testDb.open();
    await migrate(database, migrations);
    store = new CountingStore(database);
  });
  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('remembers an unknown token for its TTL, so repeating it costs no query', async () => {
    const cache = new TokenCache(store, 200);
    const unknown = newToken();
    const before = store.lookups;
    for (let i = 0; i < 50; i++) expect(await cache.lookup(unknown)).toBeUndefined();
    expect(store.lookups - before).toBe(1);
    // Past the TTL the store is asked again.
    await new Promise((r) => setTimeout(r, 250));
    expect(await cache.lookup(unknown)).toBeUndefined();
    expect(store.lookups - before).toBe(2);
  });

  it('still finds a token issued after other unknown tokens were looked up', async () => {
    const cache = new TokenCache(store, 60_000);
    for (let i = 0; i < 5; i++) await cache.lookup(newToken());
    const issued = await store.addDevice('fresh');
    expect(await cache.lookup(issued.token)).toMatchObject({ kind: 'device', deviceId: 'fresh' });
  });

  it('remembers nothing with a TTL of 0', async () => {
    const cache = new TokenCache(store, 0);
    const unknown = newToken();
    const before = store.lookups;
    await cache.lookup(unknown);
    await cache.lookup(unknown);
    expect(store.lookups - before).toBe(2);
  });
});
