import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { isNewer, LocalGenerations } from './device-generations.js';
import { InstanceLease } from './instance-lease.js';
import { RedisGenerations } from './redis-generations.js';

const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });
const prefix = `{edgewire-test-${randomBytes(6).toString('hex')}}`;
const clients: Redis[] = [];
const leases: InstanceLease[] = [];

/** A hub instance's generations; `reachable: false` plays one that cannot reach Redis. */
async function instance(reachable = true): Promise<RedisGenerations> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  clients.push(redis);
  if (reachable) await redis.connect();
  const lease = new InstanceLease(redis, prefix, logger);
  leases.push(lease);
  return new RedisGenerations(redis, lease, logger);
}

afterAll(async () => {
  for (const lease of leases) await lease.release();
  const keys = (await clients[0]?.keys(`${prefix}:generation:*`)) ?? [];
  if (keys.length > 0) await clients[0]?.del(...keys);
  for (const client of clients) client.disconnect();
});

it("orders a device's connections across instances, and after an outage", async () => {
  const [a, b] = [await instance(), await instance()];
  const taken: number[] = [];
  for (const hub of [a, b, a, a, b]) taken.push(await hub.next('pi-1'));
  expect([...taken].sort((x, y) => x - y)).toEqual(taken);
  expect(new Set(taken).size).toBe(taken.length);

  // During an outage an instance gives out generations of its own; once Redis is back, the next
  // connection of the device (here on another instance) is newer than the one of the outage.
  const during = await (await instance(false)).next('pi-1');
  expect(during).toBeGreaterThan(0);
  // Later: past the millisecond of the outage's generation (within one, the connection ids decide).
  while (Date.now() <= during) await new Promise((resolve) => setImmediate(resolve));
  const after = await a.next('pi-1');
  expect(isNewer({ generation: after, connId: 'a' }, { generation: during, connId: 'b' })).toBe(true);
});

it("forgets a device's generation a day after its last connection, so deleted devices leave nothing", async () => {
  const hub = await instance();
  const first = await hub.next('pi-gone');
  const ttl = await clients[0]!.pttl(`${prefix}:generation:pi-gone`);
  expect(ttl).toBeGreaterThan(23 * 3600_000);
  expect(ttl).toBeLessThanOrEqual(24 * 3600_000);
  // Once forgotten (a day later), the next connection still comes after every earlier one: generations
  // follow the clock.
  await clients[0]!.del(`${prefix}:generation:pi-gone`);
  while (Date.now() <= first) await new Promise((resolve) => setImmediate(resolve));
  expect(await hub.next('pi-gone')).toBeGreaterThan(first);
});

it('settles equal generations by connection id, the same way on every instance', () => {
  const one = { generation: 7, connId: 'aa' };
  const other = { generation: 7, connId: 'bb' };
  expect([isNewer(one, other), isNewer(other, one)]).toEqual([false, true]);
});

it('counts up on a single hub', async () => {
  const local = new LocalGenerations();
  const first = await local.next();
  expect(await local.next()).toBeGreaterThan(first);
});
