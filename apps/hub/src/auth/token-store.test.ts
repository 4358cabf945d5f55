import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DRIVERS, type TestDatabase } from '../../test/databases.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Database } from '../storage/database.js';
import { migrate } from '../storage/migrate.js';
import { migrations } from '../storage/migrations/index.js';
import { hashToken } from './secrets.js';
import { TokenStore } from './token-store.js';

describe.each(DRIVERS)('token store on %s', (driver) => {
  let testDb: TestDatabase;
  let database: Database;
  let store: TokenStore;
  afterEach(async () => {
    await database?.close();
    await testDb?.drop();
  });

  async function open(): Promise<void> {
    testDb = await createTestDatabase(driver);
    database = await testDb.open();
    await migrate(database, migrations);
    store = new TokenStore(database);
  }

  /** The record of `token` as the handshake finds it: by its hash. */
  async function find(token: string) {
    const hash = hashToken(token);
    return (await store.findByHashes([hash])).get(hash);
  }

  it('stores only the hash of a device token and finds the device by it', async () => {
    await open();
    const issued = await store.addDevice('pi-1');
    expect(issued.token).toMatch(/^ewt_[A-Za-z0-9_-]{43}$/);
    const rows = await database.rows('select * from tokens');
    expect(JSON.stringify(rows)).not.toContain(issued.token);
    const record = await find(issued.token);
    expect(record).toMatchObject({ kind: 'device', deviceId: 'pi-1', revokedAt: null, permissions: [] });
    expect(await find(`${issued.token}x`)).toBeUndefined();
    await expect(store.addDevice('pi-1')).rejects.toBeInstanceOf(ConflictError);
  });

  it('keeps client permissions, limits and expiry; revokes; replaces permissions', async () => {
    await open();
    const expiresAt = new Date(Date.now() + 3_600_000);
    const issued = await store.addClientToken({
      permissions: [
        { filter: 'devices/+/telemetry/#', access: 'read' },
        { filter: 'devices/+/cmd/#', access: 'readwrite' },
      ],
      maxConnections: 4,
      expiresAt,
    });
    const record = await find(issued.token);
    expect(record?.kind).toBe('client');
    expect(record?.maxConnections).toBe(4);
    expect(record?.expiresAt?.getTime()).toBe(expiresAt.getTime());
    expect(record?.permissions).toHaveLength(2);
    await store.setPermissions(issued.id, [{ filter: 'a/#', access: 'read' }]);
    expect((await find(issued.token))?.permissions).toEqual([{ filter: 'a/#', access: 'read' }]);
    await store.revoke(issued.id);
    expect((await find(issued.token))?.revokedAt).toBeInstanceOf(Date);
    await expect(store.revoke('tok_missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('deletes a device together with its tokens', async () => {
    await open();
    const issued = await store.addDevice('pi-2');
    const tokenIds = await store.removeDevice('pi-2');
    expect(tokenIds).toHaveLength(1);
    expect(await find(issued.token)).toBeUndefined();
    await expect(store.removeDevice('pi-2')).rejects.toBeInstanceOf(NotFoundError);
  });
});
