/**
 * Bounded answers and bounded metrics (a device inventing names must not make history answers, or
 * the hub's work for one request, grow without end), against a real hub on PGlite.
 */
import { historyResponseSchema, type Reading } from '@edgewire/protocol';
import { afterEach, expect, it } from 'vitest';
import { connect, startTestHub, type TestHub } from './hub-harness.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const T0 = Date.UTC(2026, 6, 1);

async function readerToken(h: TestHub): Promise<string> {
  return (await h.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] })).token;
}

it('bounds the points of one answer across all its series, and says which parameter to change', {
  timeout: 120_000,
}, async () => {
  hub = await startTestHub({ historyMaxPoints: 600 });
  const issued = await hub.admin.addDevice('pi-1');
  const device = (await connect(hub, '/ws/device/pi-1', { token: issued.token })).client;
  const readings: Reading[] = [];
  for (let m = 0; m < 40; m++) {
    for (let i = 0; i < 60; i++) readings.push({ metric: `m${m}`, ts: T0 + i * 60_000, value: i });
  }
  for (let i = 0; i < readings.length; i += 500) {
    device.send({ type: 'telemetry', seq: i + 1, readings: readings.slice(i, i + 500) });
    expect(await device.nextOfType('ack')).toEqual({ type: 'ack', seq: i + 1 });
  }
  const token = await readerToken(hub);
  const get = (query: string) =>
    fetch(`${hub!.url}/api/devices/pi-1/readings?${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });

  // No metric named: every metric, each with its share (600 / 40 = 15 points), not maxPoints (1000) each.
  const all = historyResponseSchema.parse(await (await get(`from=${T0}&to=${T0 + 3_600_000}`)).json());
  expect(all.series).toHaveLength(40);
  const points = all.series.reduce((n, s) => n + s.points.length, 0);
  expect(points).toBeLessThanOrEqual(600);
  expect(all.bucket).toBe('5m');
  expect(all.series[0]!.points).toHaveLength(12);

  const tooFine = await get(`from=${T0}&to=${T0 + 3_600_000}&bucket=1m`);
  expect(tooFine.status).toBe(400);
  expect(((await tooFine.json()) as { message: string }).message).toBe(
    'bucket: 1m gives 60 points over this range, more than 15 per series (600 points per answer over 40 series); choose a larger bucket or a shorter range',
  );
  // One metric named: its own maxPoints applies.
  const one = await get(`metric=m1&from=${T0}&to=${T0 + 3_600_000}&bucket=1m`);
  expect(one.status).toBe(200);
  expect(historyResponseSchema.parse(await one.json()).series[0]!.points).toHaveLength(60);
});

it('refuses a frame bringing a metric beyond the device limit: error naming it, nothing stored, no ack', {
  timeout: 120_000,
}, async () => {
  hub = await startTestHub({ maxMetricsPerDevice: 3 });
  const issued = await hub.admin.addDevice('pi-1');
  const device = (await connect(hub, '/ws/device/pi-1', { token: issued.token })).client;
  const reading = (metric: string, i: number): Reading => ({ metric, ts: T0 + i, value: i });
  device.send({ type: 'telemetry', id: 1, seq: 1, readings: [reading('a', 1), reading('b', 1)] });
  expect(await device.nextOfType('ack')).toEqual({ type: 'ack', seq: 1 });
  device.send({
    type: 'telemetry',
    id: 2,
    seq: 2,
    readings: [reading('a', 2), reading('c', 2), reading('d', 2)],
  });
  expect(await device.nextOfType('error')).toEqual({
    type: 'error',
    code: 'forbidden',
    ref: 2,
    message:
      'metric: "d" would be metric 4 of device pi-1, more than the hub allows (EDGEWIRE_MAX_METRICS_PER_DEVICE=3); the frame was not stored',
  });
  // Later frames wait for the refused one (so no ack can cover it); known metrics are fine once it is dropped.
  device.send({ type: 'telemetry', id: 3, seq: 3, readings: [reading('a', 3)] });
  expect(await device.nextOfType('error')).toMatchObject({ code: 'rate_limited', ref: 3 });
  device.send({ type: 'telemetry', id: 4, seq: 2, readings: [reading('a', 2), reading('c', 2)] });
  expect(await device.nextOfType('ack')).toEqual({ type: 'ack', seq: 2 });
  const stored = await hub.database.rows<{ metric: string; n: number }>(
    "select metric, count(*)::int as n from readings where device_id = 'pi-1' group by 1 order by 1",
  );
  expect(stored).toEqual([
    { metric: 'a', n: 2 },
    { metric: 'b', n: 1 },
    { metric: 'c', n: 1 },
  ]);
  // The limit counts what is stored: a new connection (another hub, a restart) knows the three.
  device.close();
  const again = (await connect(hub, '/ws/device/pi-1', { token: issued.token })).client;
  again.send({ type: 'telemetry', id: 5, seq: 5, readings: [reading('e', 5)] });
  expect(await again.nextOfType('error')).toMatchObject({ code: 'forbidden', ref: 5 });
});
