/**
 * SPEC "Recovery of missed messages": a subscriber that comes back with `since` gets every message it
 * missed, then the live stream, with no gap and no duplicate, or `recovered: false` when the history no
 * longer reaches back. Runs on one in-process hub, and on two hubs (away on one, back on the other) over
 * a single Redis and over a Redis Cluster.
 */
import type { ServerFrame } from '@edgewire/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startHubPair, startTestHub, type TestClient, type TestHub } from './hub-harness.js';
import { REDIS_SETUPS, type RedisUnderTest } from './redis-cluster.js';

type Msg = Extract<ServerFrame, { type: 'msg' }>;
const HISTORY_SIZE = 200;

describe.each([
  { name: 'one in-process hub', start: async () => undefined },
  ...REDIS_SETUPS.map(({ name, start }) => ({ name: `two hubs on ${name}`, start })),
])('$name', ({ start }) => {
  let redis: RedisUnderTest | undefined;
  let close: () => Promise<void>;
  let a: TestHub;
  let b: TestHub;
  let viewerToken: string;
  let counter = 0;

  beforeAll(async () => {
    redis = await start();
    // The gap test below sends one reading per frame as fast as it can.
    const history = { historySize: HISTORY_SIZE, historyTtlSec: 60, publishRate: 100_000 };
    if (redis) {
      ({ a, b, close } = await startHubPair(redis, history));
    } else {
      a = await startTestHub(history);
      b = a;
      close = () => a.close();
    }
    viewerToken = (await a.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] })).token;
  }, 60_000);
  afterAll(async () => {
    await close?.();
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
      last = await client.nextOfType('msg', 15_000);
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

  /** The position in the `ack` of `filter`'s subscription; `answer` is what the ack says besides it. */
  const ackPosition = async (client: TestClient, filter: string, answer: object = { ref: 's' }) => {
    const ack = await client.nextOfType('ack', 5000);
    expect(ack).toEqual({
      type: 'ack',
      ...answer,
      positions: { [filter]: { epoch: expect.any(String), offset: expect.any(Number) } },
    });
    return ack.positions![filter]!;
  };

  it('tells the position in the ack and in every msg, rising by one per message of the stream', async () => {
    const device = await counterDevice();
    const watcher = await watch(b, device.filter);
    const start = await ackPosition(watcher, device.filter);
    // The ack means the subscription is in effect on every hub: the very next reading arrives.
    const { values: got, last } = await values(watcher, device.send(3));
    expect(got).toEqual([1, 2, 3]);
    expect(last.pos).toEqual({ epoch: start.epoch, offset: start.offset + 3 });
    watcher.close();
  });

  it('recovers from the ack position a subscriber that saw no message before it left', async () => {
    const device = await counterDevice();
    const first = await watch(b, device.filter);
    const start = await ackPosition(first, device.filter);
    first.close();
    await first.closed;
    const away = device.send(25);
    const back = await watch(a, device.filter, start);
    expect(await back.nextOfType('ack', 5000)).toEqual({ type: 'ack', ref: 's', recovered: true });
    expect((await values(back, away)).values).toEqual(range(1, away));
    const marker = device.send(1);
    expect((await back.nextOfType('msg')).payload).toMatchObject({ value: marker });
  });

  it.each([
    { how: 'a sub', answer: { ref: 's' }, open: (filter: string) => watch(b, filter) },
    {
      // The history never held that position: the subscription starts from the ack's, like a plain one.
      how: 'a sub whose since the history does not hold',
      answer: { ref: 's', recovered: false },
      open: (filter: string) => watch(b, filter, { epoch: 'long-gone', offset: 7 }),
    },
    {
      how: 'the Topics header',
      answer: {},
      open: async (filter: string) =>
        (await connect(b, '/ws', { token: viewerToken, topics: filter })).client,
    },
  ])(
    'misses nothing published on another hub after the ack of $how, while the subscription spreads',
    async ({ answer, open }) => {
      const device = await counterDevice();
      // Someone on the device's hub already watches: its readings are recorded (given positions) there
      // before that hub hears of the new subscriber.
      const local = await watch(a, device.filter);
      await ackPosition(local, device.filter);
      const watcher = await open(device.filter);
      // Readings go out one per frame, as fast as the device's socket takes them, from before the ack
      // until well after it: the subscription reaches the device's hub somewhere in between.
      let sentAtAck: number | undefined;
      let sent = 0;
      while (sentAtAck === undefined || sent < sentAtAck + 300) {
        sent = device.send(1);
        if (sentAtAck === undefined && watcher.frames.some((f) => f.type === 'ack')) sentAtAck = sent - 1;
        await new Promise((r) => setImmediate(r));
      }
      const start = await ackPosition(watcher, device.filter, answer);
      const { values: got, last } = await values(watcher, sent);
      const firstValue = got[0]!;
      // Whatever was sent after the ack arrived is there, in order, once each, with no position skipped.
      expect(firstValue).toBeLessThanOrEqual(sentAtAck! + 1);
      expect(got).toEqual(range(firstValue, sent));
      expect(last.pos!.offset - start.offset).toBe(got.length);
      local.close();
    },
  );

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
    expect(after.last.pos!.offset - before.last.pos!.offset).toBe(end - lastBefore);
    // Nothing replayed twice after the end: the next message is the next reading.
    const marker = device.send(1);
    expect((await back.nextOfType('msg')).payload).toMatchObject({ value: marker });
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
    // A new position to recover from next time, once the client has reloaded the gap from the history API.
    expect(await back.nextOfType('ack', 5000)).toEqual({
      type: 'ack',
      ref: 's',
      recovered: false,
      positions: { [device.filter]: expect.objectContaining({ offset: expect.any(Number) }) },
    });
    // The first message after the ack is live: nothing of the lost range is replayed.
    const live = device.send(1);
    expect((await back.nextOfType('msg')).payload).toMatchObject({ value: live });
  });

  it('answers recovered: false for a position of another epoch or a filter across devices', async () => {
    const device = await counterDevice();
    const stranger = await watch(a, device.filter, { epoch: 'not-this-one', offset: 1 });
    expect(await stranger.nextOfType('ack')).toMatchObject({ type: 'ack', ref: 's', recovered: false });
    const wide = await watch(a, 'devices/+/telemetry/#', { epoch: 'whatever', offset: 3 });
    expect(await wide.nextOfType('ack')).toEqual({ type: 'ack', ref: 's', recovered: false });
  });
});
