/**
 * Two hub instances sharing PostgreSQL and Redis, as behind a load balancer: fan-out, retained presence,
 * revocation and takeover reach connections on the other instance. Runs against the shared single Redis
 * (random key prefix) and against a real three-master Redis Cluster started for the suite.
 */
import { pageViewersSchema, viewerTopics } from '@edgewire/protocol';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, isCluster, redisTargetOf } from '../src/cluster/redis-client.js';
import { ApiClient } from './api-client.js';
import { ControlledSink } from './controlled-sink.js';
import {
  connect,
  type HubPair,
  refusal,
  startHubPair,
  startTestHub,
  type TestClient,
  type TestHub,
} from './hub-harness.js';
import { REDIS_SETUPS, type RedisUnderTest } from './redis-cluster.js';
import { closedWithin, waitFor } from './wait.js';

describe.each(REDIS_SETUPS)('two hubs on $name', ({ start }) => {
  let redis: RedisUnderTest;
  let pair: HubPair;
  let a: TestHub;
  let b: TestHub;
  let shared: HubPair['shared'];

  beforeAll(async () => {
    redis = await start();
    pair = await startHubPair(redis, { passwordScryptLog2N: 15 });
    ({ a, b, shared } = pair);
  }, 60_000);
  afterAll(async () => {
    await pair?.close();
    await redis?.stop();
  });

  /**
   * The hubs' control channel, heard and written as the hubs do (sharded on a Cluster): what the test
   * publishes reaches each instance in the order it was published.
   */
  const controlChannel = async () => {
    const target = redisTargetOf(redis.options)!;
    const listener = createRedis(target, pino({ level: 'silent' }), 'test', 'subscriber');
    const writer = createRedis(target, pino({ level: 'silent' }), 'test', 'commands');
    await Promise.all([listener.connect(), writer.connect()]);
    const sharded = isCluster(writer);
    const channel = `${shared.redisPrefix}:control`;
    const heard: string[] = [];
    listener.on(sharded ? 'smessage' : 'message', (_channel: string, text: string) => heard.push(text));
    await (sharded ? listener.ssubscribe(channel) : listener.subscribe(channel));
    const publish = (text: string) =>
      sharded ? writer.spublish(channel, text) : writer.publish(channel, text);
    // Listening once it hears itself (a Cluster client may still be settling its shard subscribers).
    const probe = JSON.stringify({ from: 'test', probe: true });
    await waitFor('the test to hear the control channel', async () => {
      await publish(probe);
      return heard.includes(probe);
    });
    return {
      heard,
      publish,
      close: async () => {
        await Promise.all([listener.quit(), writer.quit()]);
      },
    };
  };

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
    const presence = (await connect(b, '/ws', { token: viewer.token, topics: 'devices/pi-1/status' })).client;
    // Subscribed from the ack on: until then the other instance may not know anyone watches.
    await Promise.all([watcher.nextOfType('ack'), presence.nextOfType('ack')]);
    const pi = (await connect(a, '/ws/device/pi-1', { token: device.token })).client;
    const readings = [20, 21, 22].map((value, i) => ({ metric: 'temp', value, ts: 1_700_000_000_000 + i }));
    pi.send({ type: 'telemetry', seq: 1, readings });
    for (const { value, ts } of readings) {
      expect(await watcher.nextOfType('msg')).toMatchObject({
        topic: 'devices/pi-1/telemetry/temp',
        payload: { value, ts },
      });
    }
    // Retained messages travel apart from the readings (on a Redis Cluster, through another node): once
    // the presence has reached this instance, a late subscriber gets it from the retained store.
    expect(await presence.nextOfType('msg')).toMatchObject({ payload: { online: true } });
    const late = (await connect(b, '/ws', { token: viewer.token, topics: 'devices/pi-1/status' })).client;
    expect(await late.nextOfType('msg')).toMatchObject({ payload: { online: true }, retained: true });
  });

  it('closes a connection on the other instance with 4003 when its token is revoked', async () => {
    const issued = await a.admin.addToken({ permissions: [{ filter: 'x/#', access: 'read' }] });
    const { client } = await connect(b, '/ws', { token: issued.token });
    await a.admin.revokeToken(issued.id);
    expect(await closedWithin(client.closed, 1000)).toBe(4003);
  });

  it("replaces a device's connection on the other instance (4009)", async () => {
    const device = await a.admin.addDevice('pi-2');
    const viewer = await a.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
    // Watching on the instance the device moves to, subscribed before it first connects: the presence
    // reaches it live, on the control channel after the takeover event of the older connection, so once
    // seen, that instance knows the older connection and will not take the newer one for a stale one.
    const watcher = (await connect(b, '/ws', { token: viewer.token, topics: 'devices/pi-2/status' })).client;
    await watcher.nextOfType('ack');
    const older = (await connect(a, '/ws/device/pi-2', { token: device.token })).client;
    expect((await watcher.nextOfType('msg')).payload).toMatchObject({ online: true });
    const newer = (await connect(b, '/ws/device/pi-2', { token: device.token })).client;
    expect((await older.closed).code).toBe(4009);
    expect((await watcher.nextOfType('msg')).payload).toMatchObject({ online: true });
    newer.send({ type: 'telemetry', seq: 1, readings: [{ metric: 'm', value: 1, ts: 1 }] });
    expect(await newer.nextOfType('ack')).toEqual({ type: 'ack', seq: 1 });
    // The replaced connection's end must not mark the device offline: it is online elsewhere. The device
    // goes offline when its live connection ends, and a wrong offline from the older one would come first.
    const closing = Date.now();
    newer.close();
    const offline = await watcher.nextOfType('msg');
    expect(offline.payload).toMatchObject({ online: false });
    expect(Date.parse((offline.payload as { at: string }).at)).toBeGreaterThanOrEqual(closing);
  });

  it("keeps the newer connection when the older one's announcement reaches its instance late", async () => {
    const device = await a.admin.addDevice('pi-5');
    const marker = await a.admin.addDevice('pi-5-marker');
    const control = await controlChannel();
    try {
      const markerOnB = (await connect(b, '/ws/device/pi-5-marker', { token: marker.token })).client;
      const { client: older, welcome } = await connect(a, '/ws/device/pi-5', { token: device.token });
      const announced = await waitFor("the older connection's announcement", () =>
        control.heard.find((text) => text.includes(`"connId":"${welcome.conn}"`)),
      );
      const newer = (await connect(b, '/ws/device/pi-5', { token: device.token })).client;
      expect((await older.closed).code).toBe(4009);
      // The older connection's announcement again, late: the newer connection has taken over. A forged
      // takeover of the marker device follows it, so once the marker is closed the late one was handled.
      await control.publish(announced);
      const takeover = { type: 'device-connected', deviceId: 'pi-5-marker', connId: 'forged' };
      const forged = { from: 'test', event: { ...takeover, generation: Number.MAX_SAFE_INTEGER } };
      await control.publish(JSON.stringify(forged));
      expect(await closedWithin(markerOnB.closed, 5000)).toBe(4009);
      newer.send({ type: 'telemetry', seq: 1, readings: [{ metric: 'm', value: 1, ts: 1 }] });
      expect(await newer.nextOfType('ack')).toEqual({ type: 'ack', seq: 1 });
    } finally {
      await control.close();
    }
  });

  it('keeps the newer retained message when an older one from another instance arrives after it', async () => {
    const writer = await a.admin.addToken({ permissions: [{ filter: 'config/#', access: 'readwrite' }] });
    const live = (await connect(b, '/ws', { token: writer.token, topics: 'config/#' })).client;
    await live.nextOfType('ack');
    const publisher = (await connect(a, '/ws', { token: writer.token })).client;
    publisher.send({ type: 'pub', topic: 'config/mode', payload: 'new', retain: true });
    const newer = await live.nextOfType('msg');
    expect(newer).toMatchObject({ topic: 'config/mode', payload: 'new' });
    // Another instance's retained message of a moment before, delivered late; then a marker after it.
    const control = await controlChannel();
    try {
      const late = { topic: 'config/mode', payload: 'old', ts: newer.ts - 50, retain: true };
      const marker = { topic: 'config/marker', payload: 1, ts: Date.now(), retain: true };
      await control.publish(JSON.stringify({ from: 'test', retained: [late] }));
      await control.publish(JSON.stringify({ from: 'test', retained: [marker] }));
      expect(await live.nextOfType('msg')).toMatchObject({ topic: 'config/marker' });
      const joining = (await connect(b, '/ws', { token: writer.token, topics: 'config/mode' })).client;
      expect(await joining.nextOfType('msg')).toMatchObject({ payload: 'new', retained: true });
    } finally {
      await control.close();
    }
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
    // The presence is written through to Redis after the connection opens; a later instance loads it.
    const client = redis.client();
    try {
      await waitFor('the retained presence in Redis', () =>
        client.hget(`{${shared.redisPrefix}}:retained`, 'devices/pi-3/status'),
      );
    } finally {
      await client.quit();
    }
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

  it('shows two operators on a device page each other, across instances, and drops one that leaves', async () => {
    const password = 'correct horse battery';
    await a.admin.addUser('ada', 'admin', password);
    await a.admin.addUser('vic', 'viewer', password);
    const signedIn = async (hub: TestHub, name: string) => {
      const api = new ApiClient(hub.url);
      await api.signIn(name, password);
      return api;
    };
    const topic = viewerTopics.device('shared-page');
    /** Reads the page's viewer lists until `expected` (earlier lists may come first). */
    const becomes = async (page: TestClient, expected: string[]) => {
      const seen: string[] = [];
      for (;;) {
        const message = await page.nextOfType('msg', 5000).catch((error: Error) => {
          throw new Error(`${error.message}; lists seen: ${seen.join(' ')}; waited for [${expected}]`);
        });
        expect(message.topic).toBe(topic);
        const list = message.payload === null ? [] : pageViewersSchema.parse(message.payload).viewers;
        seen.push(`[${list.map((v) => v.name)}]`);
        if (JSON.stringify(list.map((v) => v.name)) === JSON.stringify(expected)) return;
      }
    };
    const ada = await (await signedIn(a, 'ada')).socket({ topics: topic });
    await becomes(ada, ['ada']);
    const vic = await (await signedIn(b, 'vic')).socket({ topics: topic });
    await becomes(vic, ['ada', 'vic']);
    await becomes(ada, ['ada', 'vic']);
    ada.close();
    await becomes(vic, ['vic']);
    vic.close();
  });
});
