/** SPEC "Frames" and "Topics": sub/unsub/pub with permissions, wildcards, retained messages, presence, commands. */
import type { Permission } from '@edgewire/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startTestHub, type TestClient, type TestHub } from './hub-harness.js';

let hub: TestHub;
let counter = 0;
const clients: TestClient[] = [];

beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

async function client(permissions: Permission[], topics?: string): Promise<TestClient> {
  const issued = await hub.admin.addToken({ permissions });
  const { client } = await connect(
    hub,
    '/ws',
    topics === undefined ? { token: issued.token } : { token: issued.token, topics },
  );
  clients.push(client);
  return client;
}

async function device(id = `dev-${++counter}`): Promise<{ id: string; client: TestClient }> {
  const issued = await hub.admin.addDevice(id);
  const { client } = await connect(hub, `/ws/device/${id}`, { token: issued.token });
  return { id, client };
}

describe('sub', () => {
  it('acks with the ref, then delivers what the filter matches', async () => {
    const sub = await client([{ filter: 'plant/#', access: 'readwrite' }]);
    sub.send({ type: 'sub', id: 'a1', filters: ['plant/+/temp'] });
    expect(await sub.nextOfType('ack')).toEqual({ type: 'ack', ref: 'a1' });
    sub.send({ type: 'pub', topic: 'plant/boiler/temp', payload: { c: 80 } });
    sub.send({ type: 'pub', topic: 'plant/boiler/pressure', payload: 2 });
    const msg = await sub.nextOfType('msg');
    expect(msg).toMatchObject({ topic: 'plant/boiler/temp', payload: { c: 80 } });
    expect(Math.abs(msg.ts - Date.now())).toBeLessThan(5000);
    // Published after the unmatched one on the same connection, so delivered after it if at all.
    sub.send({ type: 'pub', topic: 'plant/marker/temp', payload: 'marker' });
    await sub.noneBefore(
      (f) => f.type === 'msg',
      (f) => f.type === 'msg' && f.payload === 'marker',
    );
  });

  it('refuses a filter outside the grant with forbidden, subscribing to none of the frame', async () => {
    const sub = await client([{ filter: 'plant/boiler/#', access: 'read' }]);
    sub.send({ type: 'sub', id: 7, filters: ['plant/boiler/temp', 'plant/#'] });
    const error = await sub.nextOfType('error');
    expect(error).toMatchObject({ code: 'forbidden', ref: 7 });
    expect(error.message).toContain('plant/#');
    const pub = await client([{ filter: 'plant/#', access: 'readwrite' }]);
    pub.send({ type: 'pub', topic: 'plant/boiler/temp', payload: 1 });
    // A filter the grant allows, then a message to it from the same publisher: it comes after the first
    // one would have.
    sub.send({ type: 'sub', id: 8, filters: ['plant/boiler/marker'] });
    // One plain topic keeps a history: the ack also tells its position (test/recovery.test.ts).
    expect(await sub.nextOfType('ack')).toMatchObject({ type: 'ack', ref: 8 });
    pub.send({ type: 'pub', topic: 'plant/boiler/marker', payload: 'marker' });
    await sub.noneBefore(
      (f) => f.type === 'msg' && f.payload !== 'marker',
      (f) => f.type === 'msg',
    );
  });

  it("delivers every device's readings to devices/+/telemetry/#", async () => {
    const watcher = await client([{ filter: 'devices/#', access: 'read' }], 'devices/+/telemetry/#');
    const a = await device();
    const b = await device();
    a.client.send({
      type: 'telemetry',
      seq: 1,
      readings: [{ metric: 'temp', value: 1.5, ts: 1_700_000_000_000 }],
    });
    b.client.send({
      type: 'telemetry',
      seq: 9,
      readings: [{ metric: 'hum', value: 40, ts: '2026-01-31T12:00:00Z', unit: '%' }],
    });
    const topics = [await watcher.nextOfType('msg'), await watcher.nextOfType('msg')]
      .map((m) => [m.topic, m.payload])
      .sort();
    expect(topics).toEqual(
      [
        [`devices/${a.id}/telemetry/temp`, { value: 1.5, ts: 1_700_000_000_000 }],
        [`devices/${b.id}/telemetry/hum`, { value: 40, ts: Date.parse('2026-01-31T12:00:00Z'), unit: '%' }],
      ].sort(),
    );
  });

  it('stops delivering after unsub', async () => {
    const sub = await client([{ filter: 'x/#', access: 'readwrite' }], 'x/#');
    sub.send({ type: 'unsub', id: 'u', filters: ['x/#'] });
    // The first ack answers the Topics header's subscription.
    expect(await sub.nextOfType('ack')).toEqual({ type: 'ack' });
    expect(await sub.nextOfType('ack')).toEqual({ type: 'ack', ref: 'u' });
    sub.send({ type: 'pub', topic: 'x/y', payload: 1 });
    sub.send({ type: 'sub', id: 'm', filters: ['x/marker'] });
    sub.send({ type: 'pub', topic: 'x/marker', payload: 'marker' });
    await sub.noneBefore(
      (f) => f.type === 'msg' && f.topic === 'x/y',
      (f) => f.type === 'msg' && f.topic === 'x/marker',
    );
  });
});

describe('pub', () => {
  it('needs readwrite on a filter matching the topic', async () => {
    const readOnly = await client([{ filter: 'room/#', access: 'read' }], 'room/#');
    readOnly.send({ type: 'pub', id: 'p', topic: 'room/1', payload: 'hi' });
    expect(await readOnly.nextOfType('error')).toMatchObject({ code: 'forbidden', ref: 'p' });
    // The refused pub was handled when its error came back; a later message reaches the subscriber after
    // anything it could have published.
    const writer = await client([{ filter: 'room/#', access: 'readwrite' }]);
    writer.send({ type: 'pub', topic: 'room/marker', payload: 'marker' });
    await readOnly.noneBefore(
      (f) => f.type === 'msg' && f.topic === 'room/1',
      (f) => f.type === 'msg' && f.topic === 'room/marker',
    );
  });

  it('acks only when an id was given', async () => {
    const writer = await client([{ filter: 'room/#', access: 'readwrite' }]);
    writer.send({ type: 'pub', topic: 'room/2', payload: 1 });
    writer.send({ type: 'pub', id: 3, topic: 'room/2', payload: 2 });
    // Answers come in order: an ack of the first pub would be the first ack received.
    expect(await writer.nextOfType('ack')).toEqual({ type: 'ack', ref: 3 });
  });

  it('never lets anyone forge presence', async () => {
    const admin = await client([{ filter: '#', access: 'readwrite' }]);
    admin.send({ type: 'pub', id: 's', topic: 'devices/dev-x/status', payload: { online: true } });
    expect(await admin.nextOfType('error')).toMatchObject({ code: 'forbidden', ref: 's' });
  });

  it("refuses $ topics whatever the grant: they are the hub's", async () => {
    const system = await client(
      [
        { filter: '$SYS/#', access: 'read' },
        { filter: 'marker', access: 'read' },
      ],
      '$SYS/#,marker',
    );
    const publisher = await client([
      { filter: '$SYS/#', access: 'readwrite' },
      { filter: 'marker', access: 'readwrite' },
    ]);
    publisher.send({ type: 'pub', id: 'd', topic: '$SYS/load', payload: 0.5, retain: true });
    const error = await publisher.nextOfType('error');
    expect(error).toMatchObject({ code: 'forbidden', ref: 'd' });
    expect(error.message).toMatch(/\$SYS\/load is reserved: only the hub publishes it/);
    publisher.send({ type: 'pub', topic: 'marker', payload: 'marker' });
    await system.noneBefore(
      (f) => f.type === 'msg' && f.topic === '$SYS/load',
      (f) => f.type === 'msg' && f.topic === 'marker',
    );
  });
});

describe('retained', () => {
  it('hands the last retained message of each matching topic to a new subscriber, flagged retained', async () => {
    const writer = await client([{ filter: 'config/#', access: 'readwrite' }]);
    writer.send({ type: 'pub', id: 1, topic: 'config/a', payload: 'old', retain: true });
    writer.send({ type: 'pub', id: 2, topic: 'config/a', payload: 'new', retain: true });
    writer.send({ type: 'pub', id: 3, topic: 'config/b', payload: 'not kept' });
    await writer.nextOfType('ack');
    await writer.nextOfType('ack');
    await writer.nextOfType('ack');
    const late = await client([{ filter: 'config/#', access: 'read' }]);
    late.send({ type: 'sub', id: 's', filters: ['config/#'] });
    expect(await late.nextOfType('ack')).toEqual({ type: 'ack', ref: 's' });
    const retained = await late.nextOfType('msg');
    expect(retained).toMatchObject({ topic: 'config/a', payload: 'new', retained: true });
    // Retained messages follow their sub's ack; a second sub's ack comes after all of them.
    late.send({ type: 'sub', id: 'm', filters: ['config/marker'] });
    await late.noneBefore(
      (f) => f.type === 'msg',
      (f) => f.type === 'ack' && f.ref === 'm',
    );
  });

  it('clears a retained message with a null payload', async () => {
    const writer = await client([{ filter: 'flags/#', access: 'readwrite' }]);
    writer.send({ type: 'pub', id: 1, topic: 'flags/x', payload: true, retain: true });
    writer.send({ type: 'pub', id: 2, topic: 'flags/x', payload: null, retain: true });
    await writer.nextOfType('ack');
    await writer.nextOfType('ack');
    const late = await client([{ filter: 'flags/#', access: 'read' }], 'flags/#');
    late.send({ type: 'sub', id: 'm', filters: ['flags/marker'] });
    await late.noneBefore(
      (f) => f.type === 'msg',
      (f) => f.type === 'ack' && f.ref === 'm',
    );
  });
});

describe('presence', () => {
  it('publishes devices/{id}/status online on connect and offline on disconnect, retained', async () => {
    const id = `dev-${++counter}`;
    // A wildcard over every device, which also proves a new device's status reaches such filters.
    const watcher = await client([{ filter: 'devices/+/status', access: 'read' }], 'devices/+/status');
    const dev = await device(id);
    const online = await watcher.next((f) => f.type === 'msg' && f.topic === `devices/${id}/status`);
    expect(online.type === 'msg' && online.payload).toMatchObject({ online: true });
    const late = await client(
      [{ filter: `devices/${dev.id}/status`, access: 'read' }],
      `devices/${dev.id}/status`,
    );
    expect(await late.nextOfType('msg')).toMatchObject({ payload: { online: true }, retained: true });
    dev.client.close();
    const offline = await watcher.next((f) => f.type === 'msg' && f.topic === `devices/${id}/status`);
    expect(offline.type === 'msg' && offline.payload).toMatchObject({ online: false });
    const at = offline.type === 'msg' ? (offline.payload as { at: string }).at : '';
    expect(Date.parse(at)).toBeGreaterThan(Date.now() - 5000);
  });
});

describe('commands', () => {
  it('reaches the device without a subscription, and the device answers on cmd-result', async () => {
    const dev = await device();
    const operator = await client(
      [{ filter: `devices/${dev.id}/#`, access: 'readwrite' }],
      `devices/${dev.id}/cmd-result/#`,
    );
    operator.send({ type: 'pub', topic: `devices/${dev.id}/cmd/reboot`, payload: { delay: 5 } });
    const command = await dev.client.nextOfType('msg');
    expect(command).toMatchObject({ topic: `devices/${dev.id}/cmd/reboot`, payload: { delay: 5 } });
    dev.client.send({ type: 'pub', topic: `devices/${dev.id}/cmd-result/reboot`, payload: { ok: true } });
    expect(await operator.nextOfType('msg')).toMatchObject({ payload: { ok: true } });
  });

  it('gives a device no rights over other devices', async () => {
    const dev = await device();
    const other = await device();
    dev.client.send({ type: 'pub', id: 1, topic: `devices/${other.id}/cmd-result/x`, payload: 1 });
    expect(await dev.client.nextOfType('error')).toMatchObject({ code: 'forbidden' });
    dev.client.send({ type: 'sub', id: 2, filters: [`devices/${other.id}/cmd/#`] });
    expect(await dev.client.nextOfType('error')).toMatchObject({ code: 'forbidden', ref: 2 });
    // Its own commands it gets anyway; subscribing to them is accepted rather than refused.
    dev.client.send({ type: 'sub', id: 3, filters: [`devices/${dev.id}/cmd/#`] });
    expect(await dev.client.nextOfType('ack')).toEqual({ type: 'ack', ref: 3 });
  });
});

describe('one device, one connection', () => {
  it('closes the older connection with 4009 and keeps the device online', async () => {
    const id = `dev-${++counter}`;
    const issued = await hub.admin.addDevice(id);
    const watcher = await client(
      [{ filter: `devices/${id}/status`, access: 'read' }],
      `devices/${id}/status`,
    );
    const older = await connect(hub, `/ws/device/${id}`, { token: issued.token });
    expect((await watcher.nextOfType('msg')).payload).toMatchObject({ online: true });
    const newer = await connect(hub, `/ws/device/${id}`, { token: issued.token });
    expect((await older.client.closed).code).toBe(4009);
    expect((await watcher.nextOfType('msg')).payload).toMatchObject({ online: true });
    newer.client.send({ type: 'telemetry', seq: 1, readings: [{ metric: 'm', value: 1, ts: 1 }] });
    expect(await newer.client.nextOfType('ack')).toEqual({ type: 'ack', seq: 1 });
    // The device goes offline for real once its live connection ends, and only then: a wrong offline from
    // the replaced connection's end would come first.
    const closing = Date.now();
    newer.client.close();
    const offline = await watcher.nextOfType('msg');
    expect(offline.payload).toMatchObject({ online: false });
    expect(Date.parse((offline.payload as { at: string }).at)).toBeGreaterThanOrEqual(closing);
  });
});
