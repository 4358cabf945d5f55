/**
 * The embedded database on its own thread: live delivery goes on while PostgreSQL is busy, closing
 * ends the thread with everything stored, and a database that cannot start or a statement that fails
 * says why instead of hanging.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MsgFrame } from '@edgewire/protocol';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, metric, startTestHub, type TestClient, type TestHub } from '../../test/hub-harness.js';
import { waitFor } from '../../test/wait.js';
import { type Database, openDatabase } from './database.js';

/** Threads of this process (Linux): a database thread that outlived `close` would still count. */
const threadCount = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

/** Resolves once `path` exists; the caller's test timeout bounds the wait. */
async function fileAppears(path: string): Promise<void> {
  while (!existsSync(path)) await new Promise((r) => setTimeout(r, 20));
}

const T0 = Date.UTC(2026, 0, 1);

/** The next live reading a watcher receives (not the device's online status). */
const liveReading = (watcher: TestClient) =>
  watcher.next<MsgFrame>((f) => f.type === 'msg' && f.topic.includes('/telemetry/'), 15_000);

// Each test starts PostgreSQL in WebAssembly once or twice: seconds alone, far longer on a loaded CI core.
describe('embedded database thread', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  let hub: TestHub | undefined;
  let database: Database | undefined;
  /** Files that let a test's endless statement end, so that closing never waits on it. */
  const releases: string[] = [];
  afterEach(async () => {
    for (const file of releases.splice(0)) writeFileSync(file, '');
    await hub?.close();
    hub = undefined;
    await database?.close();
    database = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgewire-pglite-'));
    dirs.push(dir);
    return dir;
  };

  it('delivers live readings while a statement holds the embedded database', async () => {
    const dataDir = tempDir();
    hub = await startTestHub({ dataDir });
    const device = await hub.admin.addDevice('pi-1');
    const reader = await hub.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
    const { client: watcher } = await connect(hub, '/ws', { token: reader.token, topics: 'devices/pi-1/#' });
    const { client: agent } = await connect(hub, '/ws/device/pi-1', { token: device.token });

    // A statement that runs until this test says so: it announces itself with a file, then spins until a
    // second file appears. On the hub's own thread it would stop the event loop, and with it this test.
    const pgdata = join(dataDir, 'pgdata');
    releases.push(join(pgdata, 'release'));
    let statementDone = false;
    const statement = hub.database
      .exec(`do $$ begin
        execute format('copy (select 1) to %L', current_setting('data_directory') || '/started');
        while (pg_stat_file(current_setting('data_directory') || '/release', true)).size is null loop
        end loop;
      end $$`)
      .finally(() => {
        statementDone = true;
      });
    await fileAppears(join(pgdata, 'started'));

    agent.send({ type: 'telemetry', id: 1, seq: 1, readings: [{ metric: 'temp', value: 21.5, ts: T0 }] });
    const live = await liveReading(watcher);
    expect(live.topic).toBe('devices/pi-1/telemetry/temp');
    expect(statementDone).toBe(false);

    // Storage catches up once the database is free: the reading is stored and acknowledged.
    writeFileSync(join(pgdata, 'release'), '');
    await statement;
    await agent.nextOfType('ack', 15_000);
    const rows = await hub.database.rows<{ n: number }>('select count(*)::int as n from readings');
    expect(rows[0]?.n).toBe(1);
  });

  it('stores what is queued when the hub closes, ends the thread, and finds it all after reopening', async () => {
    const dataDir = tempDir();
    // A partial batch waits a minute for company: only closing the hub writes it.
    hub = await startTestHub({ dataDir, storageBatchDelayMs: 60_000 });
    const device = await hub.admin.addDevice('pi-1');
    const reader = await hub.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
    const { client: watcher } = await connect(hub, '/ws', { token: reader.token, topics: 'devices/pi-1/#' });
    const { client: agent } = await connect(hub, '/ws/device/pi-1', { token: device.token });
    const readings = Array.from({ length: 200 }, (_, i) => ({ metric: 'temp', value: i, ts: T0 + i }));
    agent.send({ type: 'telemetry', id: 1, seq: 1, readings });
    await liveReading(watcher);
    // Queued for storage (after the device's metric count is known), and not yet acknowledged.
    const running = hub;
    await waitFor('the batch in the storage queue', async () =>
      (await metric(running, 'edgewire_storage_queue_readings')) === 200 ? true : undefined,
    );
    expect(agent.frames.some((f) => f.type === 'ack')).toBe(false);

    const before = threadCount();
    await running.close();
    hub = undefined;
    expect(threadCount()).toBeLessThan(before);
    await expect(running.database.ping()).rejects.toThrow(/embedded database thread ended/);

    database = await openDatabase({ dataDir: join(dataDir, 'pgdata') });
    const rows = await database.rows<{ n: number }>('select count(*)::int as n from readings');
    expect(rows[0]?.n).toBe(200);
  });

  it('refuses a data directory PostgreSQL cannot open with its reason, not a hang', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'PG_VERSION'), '17\n');
    await expect(openDatabase({ dataDir })).rejects.toThrow(
      /embedded database in .* could not start: .*postgresql\.conf/,
    );
  });

  it('keeps PostgreSQL error codes and runs transactions on the thread', async () => {
    database = await openDatabase({});
    await database.exec('create table t (id int primary key)');
    await database.exec('insert into t values (1)');
    await expect(database.rows('insert into t values (1)')).rejects.toMatchObject({ code: '23505' });

    const { db } = database;
    await expect(
      db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values (2)`);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await db.transaction(async (tx) => {
      await tx.execute(sql`insert into t values (3)`);
    });
    const ids = await database.rows<{ id: number }>('select id from t order by id');
    expect(ids.map((r) => r.id)).toEqual([1, 3]);
  });
});
