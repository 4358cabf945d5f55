import type { Reading } from '@edgewire/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DRIVERS, type TestDatabase } from '../../test/databases.js';
import { startTcpProxy, type TcpProxy } from '../../test/tcp-proxy.js';
import { waitFor } from '../../test/wait.js';
import type { TelemetryBatch } from '../ingest/telemetry-sink.js';
import { type Database, openDatabase } from '../storage/database.js';
import { migrate } from '../storage/migrate.js';
import { migrations } from '../storage/migrations/index.js';
import { TelemetryWriter, type TelemetryWriterOptions } from './telemetry-writer.js';

const T0 = Date.UTC(2026, 0, 1);

function batch(deviceId: string, seq: number, count: number, unit?: string): TelemetryBatch {
  const readings: Reading[] = [];
  for (let i = 0; i < count; i++) {
    readings.push({
      metric: i % 2 ? 'temp' : 'humidity',
      value: seq * 1000 + i + 0.25,
      ts: T0 + seq * 1000 + i,
      unit,
    });
  }
  return { deviceId, seq, readings };
}

const countRows = async (database: Database, deviceId?: string) => {
  const where = deviceId ? `where device_id = '${deviceId}'` : '';
  const rows = await database.rows<{ n: number }>(`select count(*)::int as n from readings ${where}`);
  return rows[0]!.n;
};

describe.each(DRIVERS)('telemetry writer on %s', (driver) => {
  let testDb: TestDatabase;
  let database: Database;
  let writer: TelemetryWriter | undefined;
  afterEach(async () => {
    await writer?.close();
    writer = undefined;
    await database?.close();
    await testDb?.drop();
  });

  async function setUp(options: Partial<TelemetryWriterOptions> = {}) {
    testDb = await createTestDatabase(driver);
    database = await testDb.open();
    await migrate(database, migrations);
    writer = new TelemetryWriter({ database, ...options });
    const acks: Array<[string, number]> = [];
    writer.onCommitted((deviceId, seq) => acks.push([deviceId, seq]));
    return { writer, acks };
  }

  it('stores every reading and acks each device its highest committed seq, once stored', async () => {
    const { writer, acks } = await setUp();
    const seen: Array<Promise<number>> = [];
    writer.onCommitted((deviceId) => seen.push(countRows(database, deviceId)));
    expect(writer.offer(batch('pi-1', 1, 10, 'C'))).toBe(true);
    expect(writer.offer(batch('pi-2', 1, 4))).toBe(true);
    expect(writer.offer(batch('pi-1', 2, 6, 'C'))).toBe(true);
    await writer.drained();
    expect(new Map(acks)).toEqual(
      new Map([
        ['pi-1', 2],
        ['pi-2', 1],
      ]),
    );
    // Whatever the ack listener saw was already in the table.
    expect((await Promise.all(seen)).every((n) => n > 0)).toBe(true);
    expect(await countRows(database, 'pi-1')).toBe(16);
    expect(await countRows(database, 'pi-2')).toBe(4);
    const [row] = await database.rows<{ ms: number; value: number; unit: string | null }>(
      "select (extract(epoch from time) * 1000)::float8 as ms, value, unit from readings where device_id = 'pi-1' and metric = 'temp' order by time limit 1",
    );
    expect(row).toEqual({ ms: T0 + 1000 + 1, value: 1001.25, unit: 'C' });
  });

  it('stores a batch sent twice only once, and acks it both times', async () => {
    const { writer, acks } = await setUp();
    writer.offer(batch('pi-1', 7, 50));
    await writer.drained();
    writer.offer(batch('pi-1', 7, 50));
    await writer.drained();
    expect(acks).toEqual([
      ['pi-1', 7],
      ['pi-1', 7],
    ]);
    expect(await countRows(database)).toBe(50);
    expect((await writer.metrics.readingsDuplicate.get()).values[0]?.value).toBe(50);
  });

  it('keeps free-text units intact, quotes and commas included', async () => {
    const { writer } = await setUp();
    const unit = 'm"s,\\{x}';
    writer.offer({ deviceId: 'pi-1', seq: 1, readings: [{ metric: 'speed', value: -1e-300, ts: T0, unit }] });
    await writer.drained();
    const rows = await database.rows<{ unit: string; value: number }>('select unit, value from readings');
    expect(rows).toEqual([{ unit, value: -1e-300 }]);
  });

  it('refuses batches once its byte budget is used and takes them again after the queue drains', async () => {
    const { writer, acks } = await setUp({ maxQueueBytes: 20_000 });
    const results = Array.from({ length: 20 }, (_, i) => writer.offer(batch('pi-1', i + 1, 20)));
    const accepted = results.filter(Boolean).length;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(20);
    expect(results.slice(0, accepted).every(Boolean)).toBe(true);
    await writer.drained();
    expect(acks.at(-1)).toEqual(['pi-1', accepted]);
    expect(writer.offer(batch('pi-1', accepted + 1, 20))).toBe(true);
    await writer.drained();
    expect(await countRows(database)).toBe((accepted + 1) * 20);
    expect((await writer.metrics.offersRefused.get()).values[0]?.value).toBe(20 - accepted);
  });

  it('writes as soon as a full batch is queued, holds a partial one for its delay, and flushes it on close', async () => {
    const { writer, acks } = await setUp({ batchReadings: 100, batchDelayMs: 60_000 });
    writer.offer(batch('pi-1', 1, 60));
    writer.offer(batch('pi-1', 2, 40));
    await waitFor('an ack', () => acks.length > 0, 15_000);
    expect(acks).toEqual([['pi-1', 2]]);
    writer.offer(batch('pi-1', 3, 10));
    await new Promise((r) => setTimeout(r, 300));
    expect(acks).toHaveLength(1);
    await writer.close();
    expect(acks).toEqual([
      ['pi-1', 2],
      ['pi-1', 3],
    ]);
    expect(await countRows(database)).toBe(110);
    expect(writer.offer(batch('pi-1', 4, 1))).toBe(false);
  });
});

describe('telemetry writer with PostgreSQL unreachable', () => {
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let direct: Database;
  let viaProxy: Database;
  let writer: TelemetryWriter;
  let logged: Array<{ level: string; obj: unknown; msg?: string }> = [];
  afterEach(async () => {
    logged = [];
    proxy.restore();
    await writer?.close();
    await viaProxy?.close();
    await direct?.close();
    await proxy?.close();
    await testDb?.drop();
  });

  async function setUp(options: Partial<TelemetryWriterOptions> = {}) {
    testDb = await createTestDatabase('postgres');
    direct = await testDb.open();
    await migrate(direct, migrations);
    const url = new URL(testDb.url!);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    viaProxy = await openDatabase({ url: proxy.urlFor(testDb.url!), maxConnections: 3 });
    const record = (level: string) => (obj: unknown, msg?: string) => logged.push({ level, obj, msg });
    const logger = { info: record('info'), warn: record('warn'), error: record('error') };
    writer = new TelemetryWriter({
      database: viaProxy,
      logger,
      retryInitialMs: 50,
      retryMaxMs: 500,
      ...options,
    });
    const acks: Array<[string, number]> = [];
    writer.onCommitted((deviceId, seq) => acks.push([deviceId, seq]));
    return acks;
  }

  it('accepts batches through a 10 s outage, acks nothing meanwhile, then stores everything once', async () => {
    const acks = await setUp();
    let seq = 0;
    const send = () => {
      seq++;
      expect(writer.offer(batch(`pi-${seq % 3}`, seq, 25))).toBe(true);
    };
    for (let i = 0; i < 20; i++) send();
    await writer.drained();
    const acksBefore = acks.length;
    proxy.cut();
    const outageStart = Date.now();
    while (Date.now() - outageStart < 10_000) {
      send();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(writer.healthy).toBe(false);
    expect(acks.length).toBe(acksBefore);
    // Resend some batches from before and during the outage, as agents do after a lost ack.
    for (const s of [3, 4, 30, 31]) writer.offer(batch(`pi-${s % 3}`, s, 25));
    proxy.restore();
    await writer.drained();
    expect(writer.healthy).toBe(true);
    const highest = new Map<string, number>();
    for (const [d, s] of acks) highest.set(d, s);
    for (let d = 0; d < 3; d++) {
      const last = Math.max(...Array.from({ length: seq }, (_, i) => i + 1).filter((s) => s % 3 === d));
      expect(highest.get(`pi-${d}`)).toBe(last);
    }
    expect(await countRows(direct)).toBe(seq * 25);
    const [dupes] = await direct.rows<{ n: number }>(
      'select count(*)::int as n from (select 1 from readings group by device_id, metric, time having count(*) > 1) d',
    );
    expect(dupes?.n).toBe(0);
    expect((await writer.metrics.writeFailures.get()).values[0]?.value).toBeGreaterThan(0);
    // The outage was logged, once per 20 failures, in short lines without the statement's parameters.
    const warnings = logged.filter((l) => l.level === 'warn');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThan(20);
    for (const w of warnings) expect(JSON.stringify(w).length).toBeLessThan(600);
    expect(logged.some((l) => l.level === 'info' && l.msg === 'storage writes succeed again')).toBe(true);
    expect((await writer.metrics.readingsDropped.get()).values[0]?.value ?? 0).toBe(0);
  }, 40_000);

  it('reports itself unhealthy while a statement hangs, and recovers when the database answers', async () => {
    const acks = await setUp({ stallMs: 300 });
    proxy.stall();
    writer.offer(batch('pi-1', 1, 10));
    await waitFor('the writer to report itself unhealthy', () => !writer.healthy, 15_000);
    expect(acks).toEqual([]);
    proxy.restore();
    await writer.drained();
    expect(writer.healthy).toBe(true);
    expect(acks).toEqual([['pi-1', 1]]);
    expect(await countRows(direct)).toBe(10);
  }, 40_000);
});

describe('telemetry writer metrics', () => {
  it('exports queue, batch, latency, row, failure and drop figures without device ids in labels', async () => {
    const database = await openDatabase({});
    await migrate(database, migrations);
    const writer = new TelemetryWriter({ database });
    writer.offer(batch('pi-secret-name', 1, 30));
    await writer.drained();
    await writer.close();
    await database.close();
    const text = await writer.registry.metrics();
    expect(text).toContain('edgewire_storage_readings_stored_total 30');
    expect(text).toContain('edgewire_storage_batch_readings_count 1');
    expect(text).toContain('edgewire_storage_write_seconds_count 1');
    expect(text).toContain('edgewire_storage_queue_readings 0');
    expect(text).toContain('edgewire_storage_readings_dropped_total 0');
    expect(text).toContain('edgewire_storage_write_failures_total 0');
    expect(text).toContain('edgewire_storage_healthy 1');
    expect(text).not.toContain('pi-secret-name');
  });
});
