/**
 * SPEC "Topics": reserved topics are written by the hub alone, so nobody can forge a device's readings
 * (live or retained), its presence, or another device's command results; and nothing a device sends
 * comes back out of a CSV export as a live formula.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startTestHub, type TestHub } from './hub-harness.js';
import { storeReadings } from './readings.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

describe('reserved topics', () => {
  it('refuses a forged reading from a readwrite grant on devices/#, retained or not', async () => {
    const victim = await hub.admin.addDevice('victim');
    const attacker = await hub.admin.addToken({
      permissions: [{ filter: 'devices/#', access: 'readwrite' }],
    });
    const reader = await hub.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
    const watcher = (await connect(hub, '/ws', { token: reader.token, topics: 'devices/victim/telemetry/#' }))
      .client;
    const { client } = await connect(hub, '/ws', { token: attacker.token });
    for (const [id, topic] of [
      [1, 'devices/victim/telemetry/temp'],
      [2, 'devices/victim/telemetry'],
      [3, 'devices/victim/status'],
      [4, 'devices/victim/cmd-result/reboot'],
      [5, '$admin/tokens'],
    ] as const) {
      client.send({ type: 'pub', id, topic, payload: { value: 9999 }, retain: true });
      const error = await client.nextOfType('error');
      expect(error, topic).toMatchObject({ code: 'forbidden', ref: id });
      expect(error.message).toContain(`${topic} is reserved`);
    }
    // Nothing was retained either: a later subscriber gets no fake value.
    const late = (await connect(hub, '/ws', { token: reader.token, topics: 'devices/victim/#' })).client;

    // The real device's readings still flow, and are the first message the watcher sees: no forged one
    // came before them.
    const device = (await connect(hub, '/ws/device/victim', { token: victim.token })).client;
    device.send({ type: 'telemetry', seq: 1, readings: [{ metric: 'temp', value: 21, ts: 1000 }] });
    expect(await watcher.nextOfType('msg')).toMatchObject({
      topic: 'devices/victim/telemetry/temp',
      payload: { value: 21, ts: 1000 },
    });
    await late.noneBefore(
      (f) =>
        f.type === 'msg' &&
        f.topic !== 'devices/victim/status' &&
        f.topic !== 'devices/victim/telemetry/temp',
      (f) => f.type === 'msg' && f.topic === 'devices/victim/telemetry/temp',
    );
  });

  it('refuses a device publishing a non-number to its own telemetry topic, but not its command results', async () => {
    const issued = await hub.admin.addDevice('sloppy');
    const reader = await hub.admin.addToken({
      permissions: [{ filter: 'devices/sloppy/#', access: 'read' }],
    });
    const watcher = (await connect(hub, '/ws', { token: reader.token, topics: 'devices/sloppy/#' })).client;
    const { client } = await connect(hub, '/ws/device/sloppy', { token: issued.token });
    client.send({ type: 'pub', id: 1, topic: 'devices/sloppy/telemetry/temp', payload: { value: 'hot' } });
    expect(await client.nextOfType('error')).toMatchObject({ code: 'forbidden', ref: 1 });
    client.send({ type: 'pub', id: 2, topic: 'devices/sloppy/cmd-result/reboot', payload: { ok: true } });
    expect(await client.nextOfType('ack')).toEqual({ type: 'ack', ref: 2 });
    const notPresence = (f: { type: string; topic?: string }) =>
      f.type === 'msg' && f.topic !== 'devices/sloppy/status';
    // The refused reading was sent first: had it gone out, it would be the first message here.
    expect(await watcher.next(notPresence)).toMatchObject({ topic: 'devices/sloppy/cmd-result/reboot' });
  });
});

describe('CSV export', () => {
  it('refuses a formula as a unit, and neutralises one already stored', async () => {
    const issued = await hub.admin.addDevice('csv-dev');
    const { client } = await connect(hub, '/ws/device/csv-dev', { token: issued.token });
    client.send({
      type: 'telemetry',
      id: 'f',
      seq: 1,
      readings: [{ metric: 'temp', value: 1, ts: 1000, unit: '=HYPERLINK("http://evil.example","x")' }],
    });
    const error = await client.nextOfType('error');
    expect(error).toMatchObject({ code: 'invalid_frame', ref: 'f' });
    expect(error.message).toMatch(/^readings\[0\]\.unit: /);

    // Rows written before units were checked (or by SQL) carry whatever they carry.
    await storeReadings(hub.database, [
      {
        deviceId: 'csv-dev',
        seq: 1,
        readings: [
          { metric: 'a', value: -2, ts: 2000, unit: '+cmd|"/c calc"!A0' },
          { metric: 'b', value: 3, ts: 2000, unit: '@SUM(1+1)*cmd|"/c calc"!A0' },
        ],
      },
    ]);
    const reader = await hub.admin.addToken({
      permissions: [{ filter: 'devices/csv-dev/#', access: 'read' }],
    });
    const response = await fetch(`${hub.url}/api/devices/csv-dev/readings?from=0&to=10000`, {
      headers: { authorization: `Bearer ${reader.token}`, accept: 'text/csv' },
    });
    expect(response.status).toBe(200);
    const rows = (await response.text()).trimEnd().split('\r\n').slice(1);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const unit = row.split(',')[2]!.replace(/^"/, '');
      expect(unit, row).toMatch(/^'[+@]/);
    }
    expect(rows[0]).toMatch(/,-2$/);
  });
});
