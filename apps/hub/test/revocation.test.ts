/** SPEC "Close codes" 4003: revoked, deleted, expired or changed credentials end live connections within 1 s. */
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CREDENTIALS_CHANNEL } from '../src/storage/migrations/0003_operators.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, refusal, startTestHub, type TestHub } from './hub-harness.js';
import { closedWithin, waitFor } from './wait.js';

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

/** A database connection of the test's own, hearing the credential announcements the hub hears. */
interface Announcements {
  readonly outside: postgres.Sql;
  readonly heard: string[];
  /**
   * Announces `payloads` again, late, and returns once the hub has handled them: announcements are
   * handled in order, and a witness token revoked after them has had its connection closed.
   */
  replayLate(payloads: readonly string[]): Promise<void>;
}

async function withAnnouncements(test: (announcements: Announcements) => Promise<void>): Promise<void> {
  const outside = postgres(testDb.url!, { max: 1, onnotice: () => {} });
  try {
    const heard: string[] = [];
    await outside.listen(CREDENTIALS_CHANNEL, (payload) => heard.push(payload));
    const replayLate = async (payloads: readonly string[]) => {
      const witness = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }] });
      const watched = (await connect(hub, '/ws', { token: witness.token })).client;
      for (const payload of payloads) await outside`select pg_notify(${CREDENTIALS_CHANNEL}, ${payload})`;
      await outside`update tokens set revoked_at = now() where id = ${witness.id}`;
      expect(await closedWithin(watched.closed, 1000)).toBe(4003);
    };
    await test({ outside, heard, replayLate });
  } finally {
    await outside.end();
  }
}

it("keeps a connection open when its token's creation is announced only after it connected", async () => {
  // The database announces a new token (its permission rows) at commit, asynchronously: a client can
  // connect with the token before a busy hub hears that.
  await withAnnouncements(async ({ outside, heard, replayLate }) => {
    const issued = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }] });
    const ofIssued = () => heard.filter((payload) => payload.includes(issued.id));
    await waitFor('the announcement of the new token', () => ofIssued().length > 0);
    const { client } = await connect(hub, '/ws', { token: issued.token });
    await replayLate(ofIssued());
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    // A change after the connection read the token still closes it.
    await outside`update tokens set revoked_at = now() where id = ${issued.id}`;
    expect(await closedWithin(client.closed, 1000)).toBe(4003);
  });
});

it('keeps a re-created device connected when the deletion of the earlier one is announced late', async () => {
  // Deleting a device announces the device and each of its tokens at commit; a busy hub may hear that
  // after the device was created again with the same id and has connected.
  await withAnnouncements(async ({ outside, heard, replayLate }) => {
    await hub.admin.addDevice('reborn');
    const [earlier] = await outside<{ id: string }[]>`select id from tokens where device_id = 'reborn'`;
    await hub.admin.removeDevice('reborn');
    const ofDeletion = () => heard.filter((p) => p === 'device:reborn' || p.includes(earlier!.id));
    await waitFor('the announcements of the deletion', () => ofDeletion().includes('device:reborn'));
    const again = await hub.admin.addDevice('reborn');
    const { client } = await connect(hub, '/ws/device/reborn', { token: again.token });
    await replayLate(ofDeletion());
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    // Deleting the device again, now, closes it.
    await outside`delete from devices where id = 'reborn'`;
    expect(await closedWithin(client.closed, 1000)).toBe(4003);
  });
});

it('reports unknown ids to the administrator', async () => {
  await expect(hub.admin.revokeToken('tok_nope')).rejects.toThrow(/no token tok_nope/);
  await expect(hub.admin.removeDevice('nope')).rejects.toThrow(/no device nope/);
  await hub.admin.addDevice('twice');
  await expect(hub.admin.addDevice('twice')).rejects.toThrow(/already exists/);
});
