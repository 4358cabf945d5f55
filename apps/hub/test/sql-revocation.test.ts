/**
 * Revocation that nothing bypasses (SPEC "Close codes" 4003): a change typed straight into the
 * database — a revoked token, a deleted device, a changed permission row, a removed operator — closes
 * the affected live connections within 1 s. On PGlite the SQL runs through the hub's own database
 * (nothing else may open it); on PostgreSQL through a separate connection, as psql would.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, closedWithin } from './api-client.js';
import { createTestDatabase, DRIVERS, type TestDatabase } from './databases.js';
import { connect, startTestHub, type TestHub } from './hub-harness.js';

describe.each(DRIVERS)('raw SQL on %s', (driver) => {
  let testDb: TestDatabase;
  let hub: TestHub;
  let psql: (text: string) => Promise<void>;
  let endPsql: () => Promise<void> = async () => {};

  beforeAll(async () => {
    testDb = await createTestDatabase(driver);
    hub = await startTestHub({ databaseUrl: testDb.url, passwordScryptLog2N: 15 });
    if (testDb.url) {
      const outside = postgres(testDb.url, { max: 1, onnotice: () => {} });
      psql = async (text) => {
        await outside.unsafe(text);
      };
      endPsql = () => outside.end();
    } else {
      psql = (text) => hub.database.exec(text);
    }
    // PGlite's first start (initdb in WebAssembly) takes long on a busy machine.
  }, 120_000);
  afterAll(async () => {
    await endPsql();
    await hub?.close();
    await testDb?.drop();
  });

  const readToken = () => hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }] });

  it('closes the connections of a token revoked by UPDATE within 1 s', async () => {
    const issued = await readToken();
    const { client } = await connect(hub, '/ws', { token: issued.token });
    await psql(`update tokens set revoked_at = now() where id = '${issued.id}'`);
    expect(await closedWithin(client.closed, 1000)).toBe(4003);
  });

  it('closes the connection of a device whose row is deleted within 1 s', async () => {
    const issued = await hub.admin.addDevice('sql-doomed');
    const { client } = await connect(hub, '/ws/device/sql-doomed', { token: issued.token });
    await psql(`delete from devices where id = 'sql-doomed'`);
    expect(await closedWithin(client.closed, 1000)).toBe(4003);
  });

  it('closes the connections of a token whose permission row changes within 1 s', async () => {
    const issued = await readToken();
    const { client } = await connect(hub, '/ws', { token: issued.token, topics: 'a/#' });
    await psql(`update permissions set filter = 'a/b/#' where token_id = '${issued.id}'`);
    expect(await closedWithin(client.closed, 1000)).toBe(4003);
  });

  it('leaves connections alone when nothing that grants rights changes', async () => {
    const issued = await readToken();
    const { client } = await connect(hub, '/ws', { token: issued.token });
    await psql(`update tokens set last_used_at = now(), name = 'renamed' where id = '${issued.id}'`);
    await client.nothing(() => true, 300);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    client.close();
  });

  it("closes an operator's WebSockets when their row is deleted or their role changes within 1 s", async () => {
    await hub.admin.addUser('sql-ada', 'admin', 'correct horse battery');
    await hub.admin.addUser('sql-vic', 'viewer', 'correct horse battery');
    const ada = new ApiClient(hub.url);
    const vic = new ApiClient(hub.url);
    await ada.signIn('sql-ada', 'correct horse battery');
    await vic.signIn('sql-vic', 'correct horse battery');
    const [adaSocket, vicSocket] = [await ada.socket(), await vic.socket()];
    await psql(`update users set role = 'viewer' where name = 'sql-ada'`);
    await psql(`delete from users where name = 'sql-vic'`);
    expect(await closedWithin(adaSocket.closed, 1000)).toBe(4003);
    expect(await closedWithin(vicSocket.closed, 1000)).toBe(4003);
    expect((await ada.call('GET', '/api/session')).status).toBe(401);
  });
});
