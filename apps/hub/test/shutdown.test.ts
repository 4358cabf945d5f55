/**
 * `edgewire-hub serve` stopped with SIGTERM while its storage writer holds a partial batch (waiting for
 * company, EDGEWIRE_STORAGE_BATCH_DELAY_MS): the readings are stored and acked before the device's
 * connection closes with 1001, and the process exits 0. A real hub process on a real PostgreSQL.
 * And a hub closed while a frame still waits for its device's metric-limit lookup, held by a real
 * table lock: the frame is stored once and acked before the 1001, while new handshakes and frames are
 * refused.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ServerFrame } from '@edgewire/protocol';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, refusal, startTestHub, TestClient, type TestHub } from './hub-harness.js';
import { storedValues } from './stored-readings.js';
import { waitFor } from './wait.js';

const BIN = fileURLToPath(new URL('../bin/edgewire-hub.js', import.meta.url));

let testDb: TestDatabase | undefined;
let child: ChildProcess | undefined;
let dir: string | undefined;
let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  if (child?.exitCode === null) child.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
  await testDb?.drop();
  testDb = undefined;
});

it('stores and acks a partial batch before closing with 1001, then exits 0', async () => {
  testDb = await createTestDatabase('postgres');
  dir = mkdtempSync(join(tmpdir(), 'edgewire-shutdown-'));
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...rest } = process.env;
  const env = {
    ...rest,
    DATABASE_URL: testDb.url!,
    EDGEWIRE_DATA_DIR: dir,
    EDGEWIRE_PORT: '0',
    EDGEWIRE_LOG_LEVEL: 'info',
    // Held for 10 s unless something makes the writer write sooner: only the shutdown does here.
    EDGEWIRE_STORAGE_BATCH_DELAY_MS: '10000',
  };
  const added = await promisify(execFile)(process.execPath, [BIN, 'device', 'add', 'pi-1', '--json'], {
    env,
  });
  const device = JSON.parse(added.stdout) as { token: string };

  child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const adminFile = join(dir, 'hub-admin.json');
  await waitFor('the hub to listen', () => existsSync(adminFile), 30_000);
  const { url } = JSON.parse(readFileSync(adminFile, 'utf8')) as { url: string };
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws/device/pi-1`, {
    headers: { authorization: `Bearer ${device.token}` },
  });
  const client = new TestClient(socket);
  await client.nextOfType('welcome', 10_000);

  // Every frame the device receives, in order, with the close at the end.
  const seen: Array<ServerFrame | { type: 'closed'; code: number }> = [];
  socket.on('message', (data) => seen.push(JSON.parse(data.toString()) as ServerFrame));
  socket.on('close', (code) => seen.push({ type: 'closed', code }));
  client.send({
    type: 'telemetry',
    id: 1,
    seq: 1,
    readings: [
      { metric: 'temp', value: 21.5, ts: Date.UTC(2026, 5, 1) },
      { metric: 'temp', value: 21.6, ts: Date.UTC(2026, 5, 1) + 1000 },
    ],
  });
  // A round trip on the same connection: the hub has taken the telemetry frame by the time it answers.
  client.send({ type: 'sub', id: 'taken', filters: ['devices/pi-1/cmd/x'] });
  await client.next((f) => f.type === 'ack' && f.ref === 'taken');
  const direct = await testDb.open();
  try {
    expect(await storedValues(direct, 'pi-1', 'temp')).toEqual([]);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const stoppedAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Well before the 10 s batch delay: the shutdown wrote the batch.
    expect(Date.now() - stoppedAt).toBeLessThan(9000);
    await waitFor('the close', () => seen.some((f) => f.type === 'closed'));
    expect(seen.filter((f) => (f.type === 'ack' && f.seq !== undefined) || f.type === 'closed')).toEqual([
      { type: 'ack', seq: 1 },
      { type: 'closed', code: 1001 },
    ]);
    expect(await storedValues(direct, 'pi-1', 'temp')).toEqual([21.5, 21.6]);
  } finally {
    await direct.close();
  }
}, 90_000);

it('stores and acks a frame that waited for its metric-limit lookup while the hub closed', async () => {
  testDb = await createTestDatabase('postgres');
  hub = await startTestHub({ databaseUrl: testDb.url });
  const issued = await hub.admin.addDevice('pi-1');
  // The lookup of the device's metrics reads `readings`: this lock holds it until the hub is closing.
  const locker = postgres(testDb.url!, { max: 1, onnotice: () => {} });
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let holding: Promise<unknown> | undefined;
  const locked = new Promise<void>((resolve, reject) => {
    holding = locker
      .begin(async (tx) => {
        await tx`lock table readings in access exclusive mode`;
        resolve();
        await released;
      })
      .catch(reject);
  });
  try {
    await locked;
    const { client } = await connect(hub, '/ws/device/pi-1', { token: issued.token });
    const seen: Array<ServerFrame | { type: 'closed'; code: number }> = [];
    client.socket.on('message', (data) => seen.push(JSON.parse(data.toString()) as ServerFrame));
    client.socket.on('close', (code) => seen.push({ type: 'closed', code }));
    client.send({
      type: 'telemetry',
      id: 1,
      seq: 1,
      readings: [{ metric: 'temp', value: 20.5, ts: Date.UTC(2026, 5, 1) }],
    });
    // Answered on the same connection: the hub has taken the telemetry frame (it waits for the lookup).
    client.send({ type: 'sub', id: 'taken', filters: ['devices/pi-1/cmd/x'] });
    await client.next((f) => f.type === 'ack' && f.ref === 'taken');

    const closed = hub.close();
    // Closing: no new handshake is taken, and a frame arriving now is refused so the agent resends it.
    await waitFor('the hub to stop taking requests', async () => {
      return (await fetch(`${hub!.url}/healthz`)).status === 503;
    });
    expect((await refusal(hub, '/ws/device/pi-1', { token: issued.token })).status).toBe(503);
    client.send({
      type: 'telemetry',
      id: 2,
      seq: 2,
      readings: [{ metric: 'temp', value: 20.6, ts: Date.UTC(2026, 5, 1) + 1000 }],
    });
    await client.next((f) => f.type === 'error' && f.ref === 2);
    release();
    await holding;
    await closed;
    await waitFor('the close', () => seen.some((f) => f.type === 'closed'));
    const answers = (f: (typeof seen)[number]) =>
      f.type === 'error' || f.type === 'closed' || (f.type === 'ack' && f.seq !== undefined);
    expect(seen.filter(answers)).toEqual([
      expect.objectContaining({ type: 'error', ref: 2, code: 'rate_limited' }),
      { type: 'ack', seq: 1 },
      { type: 'closed', code: 1001 },
    ]);
  } finally {
    release();
    await holding;
    await locker.end();
  }
  const direct = await testDb.open();
  try {
    expect(await storedValues(direct, 'pi-1', 'temp')).toEqual([20.5]);
  } finally {
    await direct.close();
  }
}, 60_000);

it("records every device's departure before its database closes, with a statement for all of them", async () => {
  testDb = await createTestDatabase('postgres');
  let statements = 0;
  const running = await startTestHub({ databaseUrl: testDb.url, onStatement: () => statements++ });
  hub = running;
  const fleet = [];
  for (let i = 0; i < 50; i++) fleet.push(await running.admin.addDevice(`leaving-${i}`));
  const clients = await Promise.all(
    fleet.map(async (d) => (await connect(running, `/ws/device/${d.id}`, { token: d.token })).client),
  );
  const direct = await testDb.open();
  try {
    const seen = async () =>
      (
        await direct.rows<{ n: number; at: Date | null }>(
          sql`select count(*)::int as n, min(last_seen_at) as at from devices
              where id like 'leaving-%' and last_address is not null`,
        )
      )[0]!;
    // Their connections recorded first; the departures must then overwrite every one.
    await waitFor('every connection recorded', async () => (await seen()).n === fleet.length);
    const [{ now }] = (await direct.rows<{ now: Date }>('select now()')) as [{ now: Date }];
    const before = statements;
    await running.close();
    hub = undefined;
    expect(clients.every((c) => c.socket.readyState === WebSocket.CLOSED)).toBe(true);
    const [left] = await direct.rows<{ n: number }>(
      sql`select count(*)::int as n from devices where id like 'leaving-%' and last_seen_at >= ${now}`,
    );
    expect(left?.n).toBe(fleet.length);
    // Not a statement per device on the way out.
    expect(statements - before).toBeLessThan(fleet.length / 2);
  } finally {
    await direct.close();
  }
}, 60_000);
