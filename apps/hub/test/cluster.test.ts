/**
 * Two hub instances sharing PostgreSQL and Redis, as behind a load balancer: fan-out, retained presence,
 * revocation and takeover reach connections on the other instance. Runs against the shared single Redis
 * (random key prefix) and against a real three-master Redis Cluster started for the suite.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlledSink } from './controlled-sink.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, refusal, startTestHub, type TestHub } from './hub-harness.js';
import { REDIS_SETUPS, type RedisUnderTest } from './redis-cluster.js';

describe.each(REDIS_SETUPS)('two hubs on $name', ({ start }) => {
  let redis: RedisUnderTest;
  let testDb: TestDatabase;
  let a: TestHub;
  let b: TestHub;
  let shared: { databaseUrl: string | undefined; redisPrefix: string } & RedisUnderTest['options'];

  beforeAll(async () => {
    redis = await start();
    testDb = await createTestDatabase('postgres');
    shared = {
      databaseUrl: testDb.url,
      ...redis.options,
      redisPrefix: `edgewire-test-${randomBytes(6).toString('hex')}`,
    };
    a = await startTestHub(shared);
    b = await startTestHub(shared);
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await testDb?.drop();
    await redis?.clean(shared.redisPrefix);
    await redis?.stop();
  });

  it('reports the bus in /readyz', async () => {
    const ready = await fetch(`${a.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ bus: 'ok', storage: 'ok' });
  });

  it("delivers a device's readings on one instance to a subscriber on the other, with retained presence", async () => {
    const device = await a.admin.addDevice('pi-1');
    const viewer = await a.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
    const watcher = (await connect(b, '/ws', { token: viewer.token, topics: 'devices/pi-1/telemetry/#' }))
      .client;
    const pi = (await connect(a, '/ws/device/pi-1', { token: device.token })).client;
    const readings = [20, 21, 22].map((value, i) => ({ metric: 'temp', value, ts: 1_700_000_000_000 + i }));
    pi.send({ type: 'telemetry', seq: 1, readings });
    for (const { value, ts } of readings) {
      expect(await watcher.nextOfType('msg')).toMatchObject({
        topic: 'devices/pi-1/telemetry/temp',
        payload: { value, ts },
      });
    }
    const late = (await connect(b, '/ws', { token: viewer.token, topics: 'devices/pi-1/status' })).client;
    expect(await late.nextOfType('msg')).toMatchObject({ payload: { online: true }, retained: true });
  });

  it('closes a connection on the other instance with 4003 when its token is revoked', async () => {
    const issued = await a.admin.addToken({ permissions: [{ filter: 'x/#', access: 'read' }] });
    const { client } = await connect(b, '/ws', { token: issued.token });
    await a.admin.revokeToken(issued.id);
    const closed = await Promise.race([
      client.closed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still open after 1 s')), 1000)),
    ]);
    expect(closed.code).toBe(4003);
  });

  it("replaces a device's connection on the other instance (4009)", async () => {
    const device = await a.admin.addDevice('pi-2');
    const viewer = await a.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
    const watcher = (await connect(a, '/ws', { token: viewer.token, topics: 'devices/pi-2/status' })).client;
    const older = (await connect(a, '/ws/device/pi-2', { token: device.token })).client;
    expect((await watcher.nextOfType('msg')).payload).toMatchObject({ online: true });
    const newer = (await connect(b, '/ws/device/pi-2', { token: device.token })).client;
    expect((await older.closed).code).toBe(4009);
    expect((await watcher.nextOfType('msg')).payload).toMatchObject({ online: true });
    // The replaced connection's end must not mark the device offline: it is online elsewhere.
    await watcher.nothing((f) => f.type === 'msg', 300);
    newer.send({ type: 'telemetry', seq: 1, readings: [{ metric: 'm', value: 1, ts: 1 }] });
    expect(await newer.nextOfType('ack')).toEqual({ type: 'ack', seq: 1 });
  });

  it('counts maxConnections across instances', async () => {
    const issued = await a.admin.addToken({
      permissions: [{ filter: 'x/#', access: 'read' }],
      maxConnections: 2,
    });
    const first = (await connect(a, '/ws', { token: issued.token })).client;
    await connect(b, '/ws', { token: issued.token });
    const refused = await refusal(a, '/ws', { token: issued.token });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await refusal(b, '/ws', { token: issued.token })).status).toBe(429);
    first.close();
    await first.closed;
    await expect
      .poll(
        async () =>
          await connect(b, '/ws', { token: issued.token }).then(
            () => 101,
            () => 429,
          ),
      )
      .toBe(101);
  });

  it('gives an instance started later the retained messages published before it', async () => {
    const device = await a.admin.addDevice('pi-3');
    const viewer = await a.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
    await connect(a, '/ws/device/pi-3', { token: device.token });
    await new Promise((r) => setTimeout(r, 200));
    const c = await startTestHub(shared);
    try {
      const late = (await connect(c, '/ws', { token: viewer.token, topics: 'devices/pi-3/status' })).client;
      expect(await late.nextOfType('msg')).toMatchObject({ payload: { online: true }, retained: true });
    } finally {
      await c.close();
    }
  });

  it("acks on the device's live connection on another instance, when it moved before the commit", async () => {
    const sink = new ControlledSink();
    const c = await startTestHub({ ...shared, telemetrySink: () => sink });
    try {
      const device = await a.admin.addDevice('pi-4');
      const before = (await connect(c, '/ws/device/pi-4', { token: device.token })).client;
      before.send({ type: 'telemetry', seq: 7, readings: [{ metric: 'm', value: 1, ts: 1 }] });
      await expect.poll(() => sink.taken.length).toBe(1);
      const after = (await connect(b, '/ws/device/pi-4', { token: device.token })).client;
      expect((await before.closed).code).toBe(4009);
      sink.commitAll();
      expect(await after.nextOfType('ack')).toEqual({ type: 'ack', seq: 7 });
    } finally {
      await c.close();
    }
  });
});
