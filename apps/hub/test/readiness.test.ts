/**
 * `/readyz` tells a load balancer whether to send this hub new connections. Redis (its bus to the other
 * instances) being unreachable does not stop a hub serving its own clients, so `/readyz` stays 200 and
 * reports the bus as degraded: answering 503 would have the balancer take every hub out of service at
 * once during a Redis outage, cutting all clients for nothing. It answers 503 while the hub shuts down.
 * Redis is taken away by a TCP proxy in front of the shared server, which keeps running for everyone else.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TelemetrySink } from '../src/ingest/telemetry-sink.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { startTestHub, type TestHub } from './hub-harness.js';
import { singleRedis, TEST_REDIS_URL } from './redis-cluster.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { waitFor } from './wait.js';

const prefix = `edgewire-test-${randomBytes(6).toString('hex')}`;

let testDb: TestDatabase;
let proxy: TcpProxy;
let hub: TestHub;
beforeAll(async () => {
  testDb = await createTestDatabase('postgres');
  const redis = new URL(TEST_REDIS_URL);
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  hub = await startTestHub({
    databaseUrl: testDb.url,
    redisUrl: proxy.urlFor(TEST_REDIS_URL),
    redisPrefix: prefix,
  });
});
afterAll(async () => {
  proxy?.restore();
  await hub?.close();
  await proxy?.close();
  await testDb?.drop();
  await singleRedis().clean(prefix);
});

const readyz = async (target = hub) => {
  const res = await fetch(`${target.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

it('stays 200 but reports the bus degraded while Redis is gone, and ready once it is back', async () => {
  expect(await readyz()).toMatchObject({ status: 200, body: { status: 'ready', bus: 'ok' } });
  proxy.cut();
  const down = await waitFor('/readyz to report the bus', async () => {
    const answer = await readyz();
    return answer.body.bus === 'unreachable' && answer;
  });
  expect(down).toMatchObject({
    status: 200,
    body: { status: 'degraded', bus: 'unreachable', storage: 'ok' },
  });
  proxy.restore();
  await waitFor('/readyz to say ready again', async () => (await readyz()).body.status === 'ready', 20_000);
});

it('answers 503 once the hub is shutting down, while it still finishes its work', async () => {
  // A storage writer still flushing when asked to stop: the hub answers HTTP until it is done.
  let flushed!: () => void;
  const flushing = new Promise<void>((resolve) => {
    flushed = resolve;
  });
  const sink: TelemetrySink = {
    healthy: true,
    offer: () => true,
    onCommitted: () => {},
    close: () => flushing,
  };
  const stopping = await startTestHub({ databaseUrl: testDb.url, telemetrySink: () => sink });
  expect((await readyz(stopping)).status).toBe(200);
  const closed = stopping.close();
  // Fastify answers requests that arrive once it is closing with its own 503; one already inside the
  // route when the close begins gets the route's "shutting down". Either way the balancer sees 503.
  expect((await readyz(stopping)).status).toBe(503);
  flushed();
  await closed;
});
