/** SPEC "Close codes" 4003: revoked, deleted, expired or changed credentials end live connections within 1 s. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, refusal, startTestHub, type TestHub } from './hub-harness.js';
import { closedWithin } from './wait.js';

let testDb: TestDatabase;
let hub: TestHub;
// On PostgreSQL: an in-memory PGlite start can exceed the hook timeout on a loaded machine (PGlite's
// revocation paths are covered by sql-revocation.test.ts).
beforeAll(async () => {
  testDb = await createTestDatabase('postgres');
  hub = await startTestHub({ databaseUrl: testDb.url });
});
afterAll(async () => {
  await hub?.close();
  await testDb?.drop();
});

it('closes every connection of a revoked token with 4003 and refuses it from then on', async () => {
  const issued = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }] });
  const first = (await connect(hub, '/ws', { token: issued.token })).client;
  const second = (await connect(hub, '/ws', { token: issued.token })).client;
  const bystander = (
    await connect(hub, '/ws', {
      token: (await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }] })).token,
    })
  ).client;
  await hub.admin.revokeToken(issued.id);
  expect(await closedWithin(first.closed, 1000)).toBe(4003);
  expect(await closedWithin(second.closed, 1000)).toBe(4003);
  // The token cache (5 s by default) was cleared by the same event.
  expect((await refusal(hub, '/ws', { token: issued.token })).status).toBe(403);
  expect(bystander.socket.readyState).toBe(bystander.socket.OPEN);
});

it('closes the connection of a deleted device with 4003 and forgets its token', async () => {
  const issued = await hub.admin.addDevice('doomed');
  const { client } = await connect(hub, '/ws/device/doomed', { token: issued.token });
  await hub.admin.removeDevice('doomed');
  expect(await closedWithin(client.closed, 1000)).toBe(4003);
  expect((await refusal(hub, '/ws/device/doomed', { token: issued.token })).status).toBe(401);
});

it('closes a connection with 4003 when its token expires', async () => {
  const issued = await hub.admin.addToken({
    permissions: [{ filter: 'a/#', access: 'read' }],
    expiresAt: new Date(Date.now() + 600),
  });
  const { client } = await connect(hub, '/ws', { token: issued.token });
  expect(await closedWithin(client.closed, 1600)).toBe(4003);
});

it('closes a connection with 4003 when its permissions change, and applies the new ones on reconnect', async () => {
  const issued = await hub.admin.addToken({ permissions: [{ filter: 'plant/#', access: 'read' }] });
  const { client } = await connect(hub, '/ws', { token: issued.token, topics: 'plant/#' });
  await hub.admin.setTokenPermissions(issued.id, [{ filter: 'plant/boiler/#', access: 'read' }]);
  expect(await closedWithin(client.closed, 1000)).toBe(4003);
  expect((await refusal(hub, '/ws', { token: issued.token, topics: 'plant/#' })).status).toBe(403);
  const { welcome } = await connect(hub, '/ws', { token: issued.token, topics: 'plant/boiler/#' });
  expect(welcome.permissions).toEqual([{ filter: 'plant/boiler/#', access: 'read' }]);
});

it('reports unknown ids to the administrator', async () => {
  await expect(hub.admin.revokeToken('tok_nope')).rejects.toThrow(/no token tok_nope/);
  await expect(hub.admin.removeDevice('nope')).rejects.toThrow(/no device nope/);
  await hub.admin.addDevice('twice');
  await expect(hub.admin.addDevice('twice')).rejects.toThrow(/already exists/);
});
