/**
 * SPEC "Recovery of missed messages": a subscriber that comes back with `since` gets every message it
 * missed, then the live stream, with no gap and no duplicate, or `recovered: false` when the history no
 * longer reaches back. Runs on one in-process hub, and on two hubs (away on one, back on the other) over
 * a single Redis and over a Redis Cluster.
 */
import { randomBytes } from 'node:crypto';
import type { ServerFrame } from '@edgewire/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, startTestHub, type TestClient, type TestHub } from './hub-harness.js';
import { REDIS_SETUPS, type RedisUnderTest } from './redis-cluster.js';

type Msg = Extract<ServerFrame, { type: 'msg' }>;
const HISTORY_SIZE = 200;

describe.each([
  { name: 'one in-process hub', start: async () => undefined },
  ...REDIS_SETUPS.map(({ name, start }) => ({ name: `two hubs on ${name}`, start })),
])('$name', ({ start }) => {
  let redis: RedisUnderTest | undefined;
  let testDb: TestDatabase | undefined;
  let prefix: string;
  let a: TestHub;
  let b: TestHub;
  let viewerToken: string;
  let counter = 0;

  beforeAll(async () => {
    redis = await start();
    prefix = `edgewire-test-${randomBytes(6).toString('hex')}`;
    const history = { historySize: HISTORY_SIZE, historyTtlSec: 60 };
    if (redis) {
      testDb = await createTestDatabase('postgres');
      const shared = { databaseUrl: testDb.url, redisPrefix: prefix, ...redis.options, ...history };
      a = await startTestHub(shared);
      b = await startTestHub(shared);
    } else {
      a = await startTestHub(history);
      b = a;
    }
    viewerToken = (await a.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] })).token;
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    if (b !== a) await b?.close();
    await testDb?.drop();
    await redis?.clean(prefix);
    await redis?.stop();
  });

  /** A device on hub `a` whose readings of metric `n` carry values 1, 2, 3, … */
  async function counterDevice() {
    const id = `rec-${++counter}`;
    const issued = await a.admin.addDevice(id);
    const { client } = await connect(a, `/ws/device/${id}`, { token: issued.token });
    let seq = 0;
    let value = 0;
    return {
      id,
      filter: `devices/${id}/telemetry/n`,
      client,
      send(count: number): number {
        const readings = Array.from({ length: count }, () => ({
          metric: 'n',
          value: ++value,
          ts: 1e12 + value,
        }));
        client.send({ type: 'telemetry', seq: ++seq, readings });
        return value;
      },
    };
  }

  async function watch(hub: TestHub, filter: string, since?: Msg['pos']): Promise<TestClient> {
    const { client } = await connect(hub, '/ws', { token: viewerToken });
    client.send({
      type: 'sub',
      id: 's',
      filters: [filter],
      ...(since ? { since: { [filter]: since } } : {}),
    });
    return client;
  }

  async function values(client: TestClient, upTo: number): Promise<{ values: number[]; last: Msg }> {
    const seen: number[] = [];
    let last: Msg | undefined;
    while (seen.at(-1) !== upTo) {
      last = await client.nextOfType('msg', 5000);
      seen.push((last.payload as { value: number }).value);
    }
    return { values: seen, last: last! };
  }

  /** Sends single readings until `watcher` gets one: its subscription has reached every hub. */
  async function untilFlowing(device: { send(count: number): number }, watcher: TestClient): Promise<void> {
    await expect
      .poll(
        () => {
          device.send(1);
          return watcher.frames.some((f) => f.type === 'msg');
        },
        { timeout: 5000 },
      )
      .toBe(true);
  }

  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('carries a position in every msg, rising by one per message of the stream', async () => {
    const device = await counterDevice();
    const watcher = await watch(b, device.filter);
    expect(await watcher.nextOfType('ack')).toEqual({ type: 'ack', ref: 's' });
    await untilFlowing(device, watcher);
    const first = await watcher.nextOfType('msg');
    const sent = device.send(3);
    const { last } = await values(watcher, sent);
    expect(first.pos).toEqual({ epoch: expect.any(String), offset: expect.any(Number) });
    expect(last.pos).toEqual({
      epoch: first.pos!.epoch,
      offset: first.pos!.offset + (sent - (first.payload as { value: number }).value),
    });
    watcher.close();
  });

  it('replays what a subscriber missed, then continues live, with no gap and no duplicate', async () => {
    const device = await counterDevice();
    const first = await watch(b, device.filter);
    await first.nextOfType('ack');
    // Readings published before the subscription reached every hub are not the subscriber's to see.
    await untilFlowing(device, first);
    const before = await values(first, device.send(5));
    first.close();
    await first.closed;
    device.send(20);
    device.send(20);
    // Readings keep coming while the subscriber returns (to the other hub): none may be lost or doubled.
    const sending = setInterval(() => device.send(2), 5);
    const back = await watch(a, device.filter, before.last.pos);
    expect(await back.nextOfType('ack', 5000)).toEqual({ type: 'ack', ref: 's', recovered: true });
    await new Promise((r) => setTimeout(r, 100));
    clearInterval(sending);
    const end = device.send(1);
    const after = await values(back, end);
    const lastBefore = (before.last.payload as { value: number }).value;
    expect(after.values).toEqual(range(lastBefore + 1, end));
    await back.nothing((f) => f.type === 'msg', 100);
    expect(after.last.pos!.offset - before.last.pos!.offset).toBe(end - lastBefore);
  });

  it('answers recovered: false when the history no longer reaches back, then goes live', async () => {
    const device = await counterDevice();
    const first = await watch(b, device.filter);
    await first.nextOfType('ack');
    await untilFlowing(device, first);
    const before = await values(first, device.send(1));
    first.close();
    await first.closed;
    for (let i = 0; i < 3; i++) device.send(HISTORY_SIZE);
    await new Promise((r) => setTimeout(r, 300));
    const back = await watch(a, device.filter, before.last.pos);
    expect(await back.nextOfType('ack', 5000)).toEqual({ type: 'ack', ref: 's', recovered: false });
    await back.nothing((f) => f.type === 'msg', 200);
    const live = device.send(1);
    expect((await back.nextOfType('msg')).payload).toMatchObject({ value: live });
  });

  it('answers recovered: false for a position of another epoch or a filter across devices', async () => {
    const device = await counterDevice();
    const stranger = await watch(a, device.filter, { epoch: 'not-this-one', offset: 1 });
    expect(await stranger.nextOfType('ack')).toEqual({ type: 'ack', ref: 's', recovered: false });
    const wide = await watch(a, 'devices/+/telemetry/#', { epoch: 'whatever', offset: 3 });
    expect(await wide.nextOfType('ack')).toEqual({ type: 'ack', ref: 's', recovered: false });
  });
});
