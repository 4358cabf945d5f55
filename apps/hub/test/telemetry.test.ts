/**
 * Telemetry ingest against the contract: hot-path fan-out, acks from the sink's commits (to the
 * device's live connection), and the rewind rule when the sink refuses a batch.
 */
import type { Reading } from '@edgewire/protocol';
import { afterEach, expect, it } from 'vitest';
import type { TelemetrySink } from '../src/ingest/telemetry-sink.js';
import { ControlledSink } from './controlled-sink.js';
import { connect, startTestHub, type TestHub } from './hub-harness.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const reading = (metric: string, value: number): Reading => ({
  metric,
  value,
  ts: 1_700_000_000_000 + value,
});

it('publishes every reading on the hot path and acks once the sink commits', async () => {
  const sink = new ControlledSink();
  hub = await startTestHub({ telemetrySink: () => sink });
  const issued = await hub.admin.addDevice('pi-1');
  const viewer = await hub.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
  const watcher = (await connect(hub, '/ws', { token: viewer.token, topics: 'devices/pi-1/telemetry/temp' }))
    .client;
  const device = (await connect(hub, '/ws/device/pi-1', { token: issued.token })).client;
  device.send({
    type: 'telemetry',
    id: 1,
    seq: 1,
    readings: [reading('temp', 1), reading('hum', 2), reading('temp', 3)],
  });
  expect((await watcher.nextOfType('msg')).payload).toEqual({ value: 1, ts: 1_700_000_000_001 });
  expect((await watcher.nextOfType('msg')).payload).toEqual({ value: 3, ts: 1_700_000_000_003 });
  // No ack before the commit: a round trip on the device's connection comes back without one.
  device.send({ type: 'sub', id: 'marker', filters: ['devices/pi-1/cmd/marker'] });
  await device.noneBefore(
    (f) => f.type === 'ack' && f.seq !== undefined,
    (f) => f.type === 'ack' && f.ref === 'marker',
  );
  expect(sink.taken.map((b) => [b.deviceId, b.seq, b.readings.length])).toEqual([['pi-1', 1, 3]]);
  sink.commitAll();
  expect(await device.nextOfType('ack')).toEqual({ type: 'ack', seq: 1 });
});

it("acks on the device's live connection, even one opened after the batch was sent", async () => {
  const sink = new ControlledSink();
  hub = await startTestHub({ telemetrySink: () => sink });
  const issued = await hub.admin.addDevice('pi-1');
  const before = (await connect(hub, '/ws/device/pi-1', { token: issued.token })).client;
  before.send({ type: 'telemetry', seq: 5, readings: [reading('t', 1)] });
  await expect.poll(() => sink.taken.length).toBe(1);
  const after = (await connect(hub, '/ws/device/pi-1', { token: issued.token })).client;
  expect((await before.closed).code).toBe(4009);
  sink.commitAll();
  expect(await after.nextOfType('ack')).toEqual({ type: 'ack', seq: 5 });
});

it('refuses a batch the sink cannot take, and every later one until the agent rewinds', async () => {
  const sink = new ControlledSink();
  hub = await startTestHub({ telemetrySink: () => sink });
  const issued = await hub.admin.addDevice('pi-1');
  const device = (await connect(hub, '/ws/device/pi-1', { token: issued.token })).client;
  sink.accepting = false;
  device.send({ type: 'telemetry', id: 10, seq: 10, readings: [reading('t', 10)] });
  const refused = await device.nextOfType('error');
  expect(refused).toEqual({
    type: 'error',
    code: 'rate_limited',
    message: 'storage is behind: keep readings buffered and resend later',
    ref: 10,
  });
  sink.accepting = true;
  device.send({ type: 'telemetry', id: 11, seq: 11, readings: [reading('t', 11)] });
  expect(await device.nextOfType('error')).toMatchObject({ code: 'rate_limited', ref: 11 });
  expect(sink.taken).toHaveLength(0);
  device.send({ type: 'telemetry', id: 12, seq: 10, readings: [reading('t', 10)] });
  device.send({ type: 'telemetry', id: 13, seq: 11, readings: [reading('t', 11)] });
  await expect.poll(() => sink.taken.map((b) => b.seq)).toEqual([10, 11]);
  sink.commitAll();
  expect(await device.nextOfType('ack')).toEqual({ type: 'ack', seq: 10 });
  expect(await device.nextOfType('ack')).toEqual({ type: 'ack', seq: 11 });
});

it('stores telemetry with the default sink before acking, and refuses telemetry from clients', async () => {
  hub = await startTestHub();
  const issued = await hub.admin.addDevice('pi-1');
  const device = (await connect(hub, '/ws/device/pi-1', { token: issued.token })).client;
  device.send({ type: 'telemetry', seq: 3, readings: [reading('t', 1)] });
  expect(await device.nextOfType('ack')).toEqual({ type: 'ack', seq: 3 });
  const stored = await hub.database.rows<{ n: number }>(
    "select count(*)::int as n from readings where device_id = 'pi-1' and metric = 't'",
  );
  expect(stored[0]?.n).toBe(1);
  const writer = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'readwrite' }] });
  const client = (await connect(hub, '/ws', { token: writer.token })).client;
  client.send({ type: 'telemetry', id: 'x', seq: 1, readings: [reading('t', 1)] });
  expect(await client.nextOfType('error')).toMatchObject({ code: 'forbidden', ref: 'x' });
});

it('answers a failure inside the hub with an internal error and keeps serving', async () => {
  const failing: TelemetrySink = {
    healthy: true,
    offer: () => {
      throw new Error('writer bug');
    },
    onCommitted: () => {},
    close: async () => {},
  };
  hub = await startTestHub({ telemetrySink: () => failing });
  const issued = await hub.admin.addDevice('pi-1');
  const device = (await connect(hub, '/ws/device/pi-1', { token: issued.token })).client;
  device.send({ type: 'telemetry', seq: 1, readings: [reading('t', 1)] });
  expect(await device.nextOfType('error')).toMatchObject({ code: 'internal' });
  device.send({ type: 'pub', id: 'p', topic: 'devices/pi-1/cmd-result/t', payload: 1 });
  expect(await device.nextOfType('ack')).toEqual({ type: 'ack', ref: 'p' });
  expect(hub.logText()).toContain('frame handling failed');
});
