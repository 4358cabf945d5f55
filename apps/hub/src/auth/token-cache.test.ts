import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/databases.js';
import { AbandonedRequest } from '../storage/batcher.js';
import type { Database } from '../storage/database.js';
import { migrate } from '../storage/migrate.js';
import { migrations } from '../storage/migrations/index.js';
import { newToken } from './secrets.js';
import { TokenCache } from './token-cache.js';
import { TokenStore } from './token-store.js';

/** The real store on a real database, counting the lookups that reach it (one statement each). */
class CountingStore extends TokenStore {
  lookups = 0;
  override findByHashes(hashes: readonly string[]) {
    this.lookups++;
    return super.findByHashes(hashes);
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

  it('looks up the tokens of handshakes made together in one statement, each answered with its own', async () => {
    const cache = new TokenCache(store, 60_000);
    const issued = await Promise.all(Array.from({ length: 40 }, (_, i) => store.addDevice(`storm-${i}`)));
    const unknown = newToken();
    const before = store.lookups;
    const presented = [...issued.map((t) => t.token), unknown, issued[0]!.token];
    const records = await Promise.all(presented.map((token) => cache.lookup(token)));
    expect(store.lookups - before).toBe(1);
    expect(records.slice(0, 40).map((r) => r?.deviceId)).toEqual(issued.map((_, i) => `storm-${i}`));
    expect(records.slice(0, 40).map((r) => r?.id)).toEqual(issued.map((t) => t.id));
    expect(records[40]).toBeUndefined();
    expect(records[41]?.deviceId).toBe('storm-0');
  });

  it('does not look up a token for a caller that left before its turn', async () => {
    const cache = new TokenCache(store, 60_000);
    const issued = await store.addDevice('gone');
    const before = store.lookups;
    await expect(cache.lookup(issued.token, () => false)).rejects.toBeInstanceOf(AbandonedRequest);
    expect(store.lookups - before).toBe(0);
    // Nothing was remembered about it either: a caller that stays gets the token.
    expect(await cache.lookup(issued.token, () => true)).toMatchObject({ deviceId: 'gone' });
  });

  it('does not remember an answer read before a revocation cleared the cache', async () => {
    const cache = new TokenCache(store, 60_000);
    const issued = await store.addDevice('revoked-meanwhile');
    const before = store.lookups;
    const lookup = cache.lookup(issued.token);
    // The revocation's event arrives while the lookup is under way.
    cache.clear();
    await lookup;
    await store.revoke(issued.id);
    expect((await cache.lookup(issued.token))?.revokedAt).toBeInstanceOf(Date);
    expect(store.lookups - before).toBe(2);
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
