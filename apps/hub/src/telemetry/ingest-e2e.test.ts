/**
 * Telemetry through a real hub: a device streams over WebSocket, an operator's client watches live,
 * the storage writer commits and acks. The outage case runs the hub's PostgreSQL through a TCP
 * proxy and cuts it for 10 s.
 */
import type { ErrorFrame, MsgFrame, TelemetryFrameInput } from '@edgewire/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DRIVERS, type TestDatabase } from '../../test/databases.js';
import { connect, startTestHub, type TestClient, type TestHub } from '../../test/hub-harness.js';
import { startTcpProxy, type TcpProxy } from '../../test/tcp-proxy.js';
import type { Database } from '../storage/database.js';
import { TelemetryWriter, type TelemetryWriterOptions } from './telemetry-writer.js';

const T0 = Date.UTC(2026, 5, 1);
const READINGS_PER_FRAME = 20;

function frame(seq: number): TelemetryFrameInput {
  const readings = Array.from({ length: READINGS_PER_FRAME }, (_, i) => ({
    metric: i % 2 ? 'temp' : 'load',
    value: seq + i / 100,
    ts: T0 + seq * READINGS_PER_FRAME + i,
  }));
  return { type: 'telemetry', id: seq, seq, readings };
}

const countRows = async (database: Database) =>
  (await database.rows<{ n: number }>('select count(*)::int as n from readings'))[0]!.n;

const duplicateKeys = async (database: Database) =>
  (
    await database.rows<{ n: number }>(
      'select count(*)::int as n from (select 1 from readings group by device_id, metric, time having count(*) > 1) d',
    )
  )[0]!.n;

/** Plays the agent's side of the ack contract: keeps unacked frames, rewinds to the oldest on `rate_limited`. */
class TestAgent {
  readonly unacked = new Map<number, TelemetryFrameInput>();
  highestAck = -1;
  refusals = 0;
  #paused = false;

  constructor(readonly client: TestClient) {
    this.#listen(client);
  }

  send(seq: number): void {
    const f = frame(seq);
    this.unacked.set(seq, f);
    if (!this.#paused) this.client.send(f);
  }

  #listen(client: TestClient): void {
    client.socket.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { type: string; seq?: number; code?: string };
      if (f.type === 'ack' && f.seq !== undefined) {
        this.highestAck = Math.max(this.highestAck, f.seq);
        for (const seq of this.unacked.keys()) if (seq <= f.seq) this.unacked.delete(seq);
      } else if (f.type === 'error' && f.code === 'rate_limited' && !this.#paused) {
        this.refusals++;
        this.#paused = true;
        setTimeout(() => this.#rewind(), 300);
      }
    });
  }

  #rewind(): void {
    this.#paused = false;
    for (const seq of [...this.unacked.keys()].sort((a, b) => a - b))
      this.client.send(this.unacked.get(seq)!);
  }
}

describe.each(DRIVERS)('telemetry through the hub on %s', (driver) => {
  let testDb: TestDatabase;
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
    await testDb?.drop();
  });

  it('publishes live at once, acks after commit, and stores a resent frame once', async () => {
    testDb = await createTestDatabase(driver);
    hub = await startTestHub({
      databaseUrl: testDb.url,
      // A partial batch waits 300 ms before its statement starts: an ack sent before the commit would
      // reach the device long before the rows exist.
      telemetrySink: ({ database, logger }) => new TelemetryWriter({ database, logger, batchDelayMs: 300 }),
    });
    const device = await hub.admin.addDevice('pi-1');
    const reader = await hub.admin.addToken({ permissions: [{ filter: 'devices/pi-1/#', access: 'read' }] });
    const { client: watcher } = await connect(hub, '/ws', {
      token: reader.token,
      topics: 'devices/pi-1/telemetry/#',
    });
    const { client: agent } = await connect(hub, '/ws/device/pi-1', { token: device.token });

    const acked: number[] = [];
    // Counted the moment the device receives each ack: what it may then delete must be stored.
    const rowsAtAck: Array<Promise<number>> = [];
    agent.socket.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { type: string; seq?: number };
      if (f.type !== 'ack' || f.seq === undefined) return;
      acked.push(f.seq);
      rowsAtAck.push(countRows(hub!.database));
    });
    agent.send(frame(1));
    const live = await watcher.nextOfType('msg');
    expect(live.topic).toMatch(/^devices\/pi-1\/telemetry\/(temp|load)$/);
    await agent.nextOfType('ack');
    expect(acked).toEqual([1]);
    expect(await rowsAtAck[0]).toBe(READINGS_PER_FRAME);

    agent.send(frame(1));
    agent.send(frame(2));
    await expect.poll(() => acked.at(-1)).toBe(2);
    expect(await countRows(hub.database)).toBe(2 * READINGS_PER_FRAME);
    expect(await duplicateKeys(hub.database)).toBe(0);
    watcher.close();
    agent.close();
  });
});

describe('telemetry through the hub while PostgreSQL is down', () => {
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let hub: TestHub | undefined;
  let direct: Database | undefined;
  afterEach(async () => {
    proxy?.restore();
    await hub?.close();
    hub = undefined;
    await direct?.close();
    await proxy?.close();
    await testDb?.drop();
  });

  /** A hub on PostgreSQL behind a cuttable proxy, a device streaming a frame every 50 ms, and a live watcher. */
  async function setUp(writerOptions: Partial<TelemetryWriterOptions>) {
    testDb = await createTestDatabase('postgres');
    const url = new URL(testDb.url!);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    let writer: TelemetryWriter | undefined;
    hub = await startTestHub({
      databaseUrl: proxy.urlFor(testDb.url!),
      telemetrySink: ({ database, logger }) => {
        writer = new TelemetryWriter({
          database,
          logger,
          retryInitialMs: 50,
          retryMaxMs: 500,
          stallMs: 500,
          ...writerOptions,
        });
        return writer;
      },
    });
    direct = await testDb.open();
    const device = await hub.admin.addDevice('pi-1');
    const reader = await hub.admin.addToken({ permissions: [{ filter: 'devices/pi-1/#', access: 'read' }] });
    const { client: watcher } = await connect(hub, '/ws', {
      token: reader.token,
      topics: 'devices/pi-1/telemetry/#',
    });
    const { client } = await connect(hub, '/ws/device/pi-1', { token: device.token });
    const agent = new TestAgent(client);
    const seen = { live: 0, seq: 0 };
    watcher.socket.on('message', (data) => {
      if ((JSON.parse(data.toString()) as MsgFrame).type === 'msg') seen.live++;
    });
    const stream = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        agent.send(++seen.seq);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    /** After the database is back: every frame acked, every reading stored exactly once. */
    const expectAllStoredOnce = async (timeout = 15_000) => {
      await expect.poll(() => agent.highestAck, { timeout, interval: 100 }).toBe(seen.seq);
      expect(agent.unacked.size).toBe(0);
      expect(await countRows(direct!)).toBe(seen.seq * READINGS_PER_FRAME);
      expect(await duplicateKeys(direct!)).toBe(0);
      const errors = agent.client.frames.filter((f): f is ErrorFrame => f.type === 'error');
      expect(errors.every((e) => e.code === 'rate_limited')).toBe(true);
    };
    return { agent, seen, stream, expectAllStoredOnce, hub, writer: writer! };
  }

  it('keeps delivering live through a 10 s outage, acks nothing meanwhile, then acks and stores everything once', async () => {
    const { agent, seen, stream, expectAllStoredOnce, hub } = await setUp({});
    await stream(1000);
    await expect.poll(() => agent.highestAck, { timeout: 5000 }).toBe(seen.seq);

    proxy.cut();
    const ackBefore = agent.highestAck;
    const liveBefore = seen.live;
    await stream(10_000);
    const sentDuringOutage = (seen.seq - ackBefore) * READINGS_PER_FRAME;
    await expect.poll(() => seen.live - liveBefore).toBe(sentDuringOutage);
    expect(agent.highestAck).toBe(ackBefore);
    expect(agent.refusals).toBe(0);
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(503);

    proxy.restore();
    await stream(500);
    await expectAllStoredOnce();
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
  }, 60_000);

  /** A 3 s outage at 20 frames/s fills a queue with room for about 20 frames. */
  it('tells devices to slow down when its queue is full, holds no more than its budget, and acks only what it stored', async () => {
    // Room for about 20 frames: a 3 s outage at 20 frames/s fills it.
    const { agent, stream, writer } = await setUp({ maxQueueBytes: 20 * READINGS_PER_FRAME * 100 });
    await stream(500);
    proxy.cut();
    await stream(3000);
    expect(agent.refusals).toBeGreaterThan(0);
    expect(agent.unacked.size).toBeGreaterThan(20);
    expect(writer.queuedReadings).toBeLessThanOrEqual(21 * READINGS_PER_FRAME);
    proxy.restore();
    await writer.drained();
    await expect.poll(() => agent.highestAck).toBeGreaterThan(0);
    const acked = agent.highestAck;
    // Frame `seq` holds the readings at T0 + seq * 20 ms … + 19 ms: every acked one is stored, once.
    const [stored] = await direct!.rows<{ n: number }>(
      `select count(*)::int as n from readings where time < timestamptz 'epoch' + ${T0 + (acked + 1) * READINGS_PER_FRAME} * interval '1 millisecond'`,
    );
    expect(stored?.n).toBe(acked * READINGS_PER_FRAME);
    expect(await duplicateKeys(direct!)).toBe(0);
  }, 60_000);

  // The rewind resends frames still queued; the full queue refuses such a resend R, then the queued
  // original of R commits and is acked. The agent never sends a frame <= R again, so the hub must stop
  // waiting for one once an ack covers R.
  it('accepts the next frame once a refused resend was acked through its queued original', async () => {
    const { agent, writer } = await setUp({ maxQueueBytes: 20 * READINGS_PER_FRAME * 100 });
    const client = agent.client;
    proxy.cut();
    let firstRefused = 0;
    for (let seq = 1; firstRefused === 0; seq++) {
      client.send(frame(seq));
      const answer = await client.next((f) => f.type === 'error', 200).catch(() => undefined);
      if (answer) firstRefused = seq;
    }
    client.send(frame(1)); // the rewind: still queued, refused again while the queue is full
    await client.nextOfType('error');
    proxy.restore();
    await writer.drained();
    await client.next((f) => f.type === 'ack' && f.seq === firstRefused - 1, 5000);
    client.frames.length = 0;
    client.send(frame(firstRefused)); // the agent's oldest unacked frame
    const answer = await client.next((f) => f.type === 'ack' || f.type === 'error', 3000);
    // With the bug: {"type":"error","code":"rate_limited",...}
    expect(answer).toEqual({ type: 'ack', seq: firstRefused });
  }, 60_000);
});
