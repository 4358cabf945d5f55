/**
 * `/readyz` tells a load balancer whether this hub can do its job: 503 while Redis (its bus to the other
 * instances) is unreachable, 200 again once it is back. Redis is taken away by a TCP proxy in front of
 * the shared server, which keeps running for everyone else.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { startTestHub, type TestHub } from './hub-harness.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { waitFor } from './wait.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `edgewire-test-${randomBytes(6).toString('hex')}`;

let testDb: TestDatabase;
let proxy: TcpProxy;
let hub: TestHub;
beforeAll(async () => {
  testDb = await createTestDatabase('postgres');
  const redis = new URL(REDIS_URL);
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  hub = await startTestHub({
    databaseUrl: testDb.url,
    redisUrl: proxy.urlFor(REDIS_URL),
    redisPrefix: prefix,
  });
});
afterAll(async () => {
  proxy?.restore();
  await hub?.close();
  await proxy?.close();
  await testDb?.drop();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const readyz = async () => {
  const res = await fetch(`${hub.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

it('answers 503 naming the bus while Redis is gone, and 200 once it is back', async () => {
  expect(await readyz()).toMatchObject({ status: 200, body: { bus: 'ok' } });
  proxy.cut();
  const down = await waitFor('/readyz to say not ready', async () => {
    const answer = await readyz();
    return answer.status === 503 && answer;
  });
  expect(down.body).toMatchObject({ status: 'not ready', bus: 'unreachable', storage: 'ok' });
  proxy.restore();
  await waitFor('/readyz to say ready again', async () => (await readyz()).status === 200, 20_000);
});
