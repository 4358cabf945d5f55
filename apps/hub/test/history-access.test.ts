/** The history routes are served by the hub behind the same tokens and grants as live subscriptions. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './hub-harness.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
  await hub.admin.addDevice('pi-1');
});
afterAll(async () => {
  await hub.close();
});

const latest = (token?: string) =>
  fetch(`${hub.url}/api/devices/pi-1/latest`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

it('answers 401 without a token and 403 without a grant covering the device', async () => {
  expect((await latest()).status).toBe(401);
  expect((await latest('ewt_nobody')).status).toBe(401);
  const other = await hub.admin.addToken({ permissions: [{ filter: 'devices/pi-2/#', access: 'read' }] });
  const refused = await latest(other.token);
  expect(refused.status).toBe(403);
  expect(((await refused.json()) as { message: string }).message).toContain('devices/pi-1/#');
});

it('serves a token that may read the device, until it is revoked', async () => {
  const reader = await hub.admin.addToken({ permissions: [{ filter: 'devices/+/#', access: 'read' }] });
  expect((await latest(reader.token)).status).toBe(200);
  await hub.admin.revokeToken(reader.id);
  expect((await latest(reader.token)).status).toBe(403);
});
