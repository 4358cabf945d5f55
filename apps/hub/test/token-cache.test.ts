/**
 * The token cache spares the database a query per handshake; a revocation made behind the hub's back
 * (SQL on the database, no event) is bounded by its lifetime, EDGEWIRE_TOKEN_CACHE_MS.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, refusal, startTestHub, type TestHub } from './hub-harness.js';
import { waitFor } from './wait.js';

const TOKEN_CACHE_MS = 1500;

let testDb: TestDatabase;
let hub: TestHub;
beforeAll(async () => {
  testDb = await createTestDatabase('postgres');
  hub = await startTestHub({ databaseUrl: testDb.url, tokenCacheMs: TOKEN_CACHE_MS });
});
afterAll(async () => {
  await hub?.close();
  await testDb?.drop();
});

it('refuses a token revoked by SQL within EDGEWIRE_TOKEN_CACHE_MS', async () => {
  const issued = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }] });
  // A handshake puts the token in the cache.
  const { client } = await connect(hub, '/ws', { token: issued.token });
  client.close();
  const direct = await testDb.open();
  let revokedAt: number;
  try {
    await direct.exec(`update tokens set revoked_at = now() where id = '${issued.id}'`);
    revokedAt = Date.now();
  } finally {
    await direct.close();
  }
  const refused = await waitFor(
    'a refused handshake',
    async () => {
      const attemptAt = Date.now();
      const answer = await refusal(hub, '/ws', { token: issued.token }).catch(() => undefined);
      return answer?.status === 403 && attemptAt;
    },
    TOKEN_CACHE_MS + 5000,
    50,
  );
  // The first refused attempt started within the cache lifetime, plus one accepted attempt before it.
  expect(refused - revokedAt).toBeLessThanOrEqual(TOKEN_CACHE_MS + 500);
});
