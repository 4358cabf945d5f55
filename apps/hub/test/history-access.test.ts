/**
 * The history routes of a real hub are served behind the same tokens and grants as live subscriptions:
 * `/latest`, `/readings` and its CSV form alike (the route tests in src/telemetry use a stand-in).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, startTestHub, type TestHub } from './hub-harness.js';

const T0 = Date.UTC(2026, 5, 1);

let testDb: TestDatabase;
let hub: TestHub;
beforeAll(async () => {
  testDb = await createTestDatabase('postgres');
  hub = await startTestHub({ databaseUrl: testDb.url });
  const device = await hub.admin.addDevice('pi-1');
  // One stored reading, sent the way a device sends it, so a 200 below is the real route answering.
  const { client } = await connect(hub, '/ws/device/pi-1', { token: device.token });
  client.send({ type: 'telemetry', id: 1, seq: 1, readings: [{ metric: 'temp', value: 21.5, ts: T0 }] });
  await client.next((f) => f.type === 'ack' && f.seq === 1, 10_000);
  client.close();
});
afterAll(async () => {
  await hub?.close();
  await testDb?.drop();
});

const routes = [
  { name: 'latest', path: '/api/devices/pi-1/latest', accept: 'application/json' },
  {
    name: 'readings',
    path: `/api/devices/pi-1/readings?from=${T0}&to=${T0 + 60_000}`,
    accept: 'application/json',
  },
  {
    name: 'readings as CSV',
    path: `/api/devices/pi-1/readings?from=${T0}&to=${T0 + 60_000}`,
    accept: 'text/csv',
  },
];

describe.each(routes)('$name', ({ path, accept }) => {
  const get = (token?: string) =>
    fetch(`${hub.url}${path}`, {
      headers: { accept, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    });

  it('answers 401 without a token or with an unknown one, and 403 without a grant covering the device', async () => {
    const anonymous = await get();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await get('ewt_nobody')).status).toBe(401);
    const other = await hub.admin.addToken({ permissions: [{ filter: 'devices/pi-2/#', access: 'read' }] });
    const refused = await get(other.token);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain('devices/pi-1/#');
    // Another device's own token may not read this one's history either.
    const pi2 = await hub.admin.addDevice(`pi-2-${Math.random().toString(36).slice(2, 8)}`);
    expect((await get(pi2.token)).status).toBe(403);
  });

  it('serves a token that may read the device, until it is revoked', async () => {
    const reader = await hub.admin.addToken({ permissions: [{ filter: 'devices/+/#', access: 'read' }] });
    const served = await get(reader.token);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toContain(accept);
    expect(await served.text()).toContain('21.5');
    await hub.admin.revokeToken(reader.id);
    expect((await get(reader.token)).status).toBe(403);
  });
});
