/**
 * Operators across two hub instances sharing PostgreSQL and Redis: a session works on both, a change
 * made on one shows live on the other, the connection list covers both, and SQL typed into the
 * database closes connections on both within 1 s (each hub LISTENs itself).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient } from './api-client.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, startTestHub, type TestHub } from './hub-harness.js';
import { closedWithin } from './wait.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PASSWORD = 'correct horse battery';

let testDb: TestDatabase;
let a: TestHub;
let b: TestHub;
let psql: postgres.Sql;
let prefix: string;

beforeAll(async () => {
  testDb = await createTestDatabase('postgres');
  prefix = `edgewire-test-${randomBytes(6).toString('hex')}`;
  const shared = {
    databaseUrl: testDb.url,
    redisUrl: REDIS_URL,
    redisPrefix: prefix,
    passwordScryptLog2N: 15,
  };
  a = await startTestHub(shared);
  b = await startTestHub(shared);
  psql = postgres(testDb.url!, { max: 1, onnotice: () => {} });
  await a.admin.addUser('ada', 'admin', PASSWORD);
});
afterAll(async () => {
  await psql?.end();
  await a?.close();
  await b?.close();
  await testDb?.drop();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

it('keeps a session signed in on one instance valid on the other', async () => {
  const onA = new ApiClient(a.url);
  await onA.signIn('ada', PASSWORD);
  const onB = new ApiClient(b.url);
  onB.cookie = onA.cookie;
  expect((await onB.call('GET', '/api/session')).body).toMatchObject({ name: 'ada', role: 'admin' });
});

it('shows a change made on one instance live in an operator window on the other', async () => {
  const onA = new ApiClient(a.url);
  await onA.signIn('ada', PASSWORD);
  const onB = new ApiClient(b.url);
  onB.cookie = onA.cookie;
  const window = await onB.socket({ topics: '$admin/#' });
  await window.nextOfType('ack');
  await onA.call('POST', '/api/devices', { body: { id: 'cross-1' } });
  expect(await window.nextOfType('msg')).toMatchObject({
    topic: '$admin/devices/cross-1',
    payload: { resource: 'device', action: 'created', by: 'user:ada' },
  });
  window.close();
});

it('lists and kicks connections wherever they are', async () => {
  const issued = await a.admin.addToken({ permissions: [{ filter: 'x/#', access: 'read' }] });
  const onA = (await connect(a, '/ws', { token: issued.token })).client;
  const onB = (await connect(b, '/ws', { token: issued.token })).client;
  const api = new ApiClient(a.url);
  await api.signIn('ada', PASSWORD);
  const listed = (await api.call('GET', '/api/connections')).body.connections.filter(
    (c: { tokenId: string }) => c.tokenId === issued.id,
  );
  expect(listed).toHaveLength(2);
  for (const connection of listed)
    expect((await api.call('DELETE', `/api/connections/${connection.conn}`)).status).toBe(204);
  expect(await closedWithin(onA.closed, 1000)).toBe(4008);
  expect(await closedWithin(onB.closed, 1000)).toBe(4008);
});

it('closes connections on both instances within 1 s when a token is revoked in SQL', async () => {
  const issued = await a.admin.addToken({ permissions: [{ filter: 'x/#', access: 'read' }] });
  const onA = (await connect(a, '/ws', { token: issued.token })).client;
  const onB = (await connect(b, '/ws', { token: issued.token })).client;
  await psql.unsafe(`update tokens set revoked_at = now() where id = '${issued.id}'`);
  expect(await closedWithin(onA.closed, 1000)).toBe(4003);
  expect(await closedWithin(onB.closed, 1000)).toBe(4003);
});

it("closes a removed operator's WebSockets on both instances within 1 s", async () => {
  await a.admin.addUser('temp', 'viewer', PASSWORD);
  const onA = new ApiClient(a.url);
  await onA.signIn('temp', PASSWORD);
  const onB = new ApiClient(b.url);
  onB.cookie = onA.cookie;
  const sockets = [await onA.socket(), await onB.socket()];
  await b.admin.removeUser('temp');
  for (const socket of sockets) expect(await closedWithin(socket.closed, 1000)).toBe(4003);
});
