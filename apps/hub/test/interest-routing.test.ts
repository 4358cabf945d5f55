/**
 * Routing by interest, seen from Redis itself (MONITOR): a reading nobody watches never reaches Redis;
 * a watched one goes only to the inbox of the hub that watches it; once the watcher left and the
 * history's age passed, the device's readings stop reaching Redis again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type HubPair, startHubPair, type TestClient, type TestHub } from './hub-harness.js';
import { monitorRedis, REDIS_SETUPS, type RedisUnderTest } from './redis-cluster.js';

describe.each(REDIS_SETUPS)('two hubs on $name', ({ start }) => {
  let redis: RedisUnderTest;
  let pair: HubPair;
  let a: TestHub;
  let b: TestHub;
  let monitor: Awaited<ReturnType<typeof monitorRedis>>;
  let viewerToken: string;

  beforeAll(async () => {
    redis = await start();
    pair = await startHubPair(redis, { historyTtlSec: 1 });
    ({ a, b } = pair);
    viewerToken = (await a.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] })).token;
    monitor = await monitorRedis(redis);
  }, 60_000);
  afterAll(async () => {
    await monitor?.stop();
    await pair?.close();
    await redis?.stop();
  });

  /** Commands that carried a reading of `deviceId`. */
  const carrying = (deviceId: string) =>
    monitor.commands.filter((args) => args.some((arg) => arg.includes(`devices/${deviceId}/telemetry/`)));

  async function device(id: string) {
    const issued = await a.admin.addDevice(id);
    const { client } = await connect(a, `/ws/device/${id}`, { token: issued.token });
    let seq = 0;
    return {
      client,
      /** Sends `count` readings and waits until they are stored (acked): the hub is done with them. */
      async send(count: number): Promise<void> {
        const readings = Array.from({ length: count }, (_, i) => ({
          metric: 'temp',
          value: i,
          ts: Date.now() + i,
        }));
        const frameSeq = ++seq;
        client.send({ type: 'telemetry', seq: frameSeq, readings });
        await client.next((f) => f.type === 'ack' && f.seq === frameSeq, 5000);
      },
    };
  }

  it('never sends a reading nobody watches to Redis', async () => {
    const quiet = await device('quiet-1');
    await quiet.send(20);
    await new Promise((r) => setTimeout(r, 200));
    expect(carrying('quiet-1')).toEqual([]);
  });

  it('sends a watched reading only to the inbox of the hub that watches it, and stops once nobody does', async () => {
    const watched = await device('watched-1');
    const { client: watcher } = await connect(b, '/ws', {
      token: viewerToken,
      topics: 'devices/watched-1/telemetry/#',
    });
    await untilFlowing(watched, watcher);
    monitor.commands.length = 0;
    await watched.send(10);
    for (let i = 0; i < 10; i++) await watcher.nextOfType('msg');
    const publishes = carrying('watched-1').filter(([name]) => /^s?publish$/i.test(name!));
    expect(publishes.length).toBeGreaterThan(0);
    const channels = new Set(publishes.map(([, channel]) => channel));
    expect([...channels]).toEqual([
      expect.stringMatching(new RegExp(`^${pair.shared.redisPrefix}:inbox:[0-9a-f]+$`)),
    ]);

    watcher.close();
    await watcher.closed;
    // The history is kept for its age (1 s here) after the last watcher left; then nothing goes to Redis.
    await new Promise((r) => setTimeout(r, 1500));
    monitor.commands.length = 0;
    await watched.send(10);
    await new Promise((r) => setTimeout(r, 200));
    expect(carrying('watched-1')).toEqual([]);
  });

  async function untilFlowing(
    from: { send(count: number): Promise<void> },
    watcher: TestClient,
  ): Promise<void> {
    await expect
      .poll(
        async () => {
          await from.send(1);
          return watcher.frames.some((f) => f.type === 'msg');
        },
        { timeout: 5000 },
      )
      .toBe(true);
  }
});
