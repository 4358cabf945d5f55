/**
 * History benchmark: a month of 1 Hz readings of one device with two metrics (5.2 M rows), asked
 * through the HTTP API as 30 days at 1 h and 24 h at 1 m, on PostgreSQL and PGlite (and TimescaleDB
 * when the test server has it); then the cost of the roll-ups on ingest (statements with and without).
 *
 *   node --conditions=source --import tsx bench/history.ts [--days 30] [--runs 20] [--backends postgres,pglite]
 *                                                          [--ingest 200000]
 *
 * Rows are generated inside the database (generate_series), not through the writer, and rolled up the
 * way a database migrated with existing readings is: by the roll-up advance (or a full refresh of the
 * continuous aggregates). The hub runs in this process; the machine may be shared, so figures are noisy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { type RunningHub, startHub } from '../src/hub.js';
import type { TelemetryBatch } from '../src/ingest/telemetry-sink.js';
import type { Database } from '../src/storage/database.js';
import { openDatabase } from '../src/storage/database.js';
import { migrate } from '../src/storage/migrate.js';
import { migrations } from '../src/storage/migrations/index.js';
import { ROLLUP_STATE } from '../src/storage/rollups.js';
import { insertReadings } from '../src/telemetry/readings-insert.js';
import { RollupAdvance } from '../src/telemetry/rollup-advance.js';
import { detectStorageMode } from '../src/telemetry/storage-mode.js';
import { createTestDatabase, type TestDatabase } from '../test/databases.js';
import { testServerTimescale } from '../test/timescale.js';
import { percentiles } from './ingest-support.js';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '20' },
    backends: { type: 'string', default: 'postgres,pglite' },
    ingest: { type: 'string', default: '200000' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: bench/history.ts [--days 30] [--runs 20] [--backends postgres,pglite] [--ingest 200000]
  --days      days of 1 Hz readings of 2 metrics to load (30 = 5.2 M rows)
  --runs      timed runs of each query (p50 and p90 are printed)
  --backends  which storages to measure: postgres, pglite (TimescaleDB runs as "postgres" when the
              TEST_DATABASE_URL server has the extension)
  --ingest    readings stored per ingest variant (roll-ups on, off, all late)`);
  process.exit(0);
}
const DAYS = Number(args.days);
const RUNS = Number(args.runs);
const INGEST = Number(args.ingest);
const DAY = 86_400_000;
const DEVICE = 'bench-1';

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** Loads DAYS of 1 Hz readings of two metrics ending now, then rolls them up. */
async function load(database: Database, storage: string): Promise<void> {
  const started = performance.now();
  const [{ start } = { start: 0 }] = await database.rows<{ start: number }>(
    `select (extract(epoch from date_bin(interval '1 minute', now() - interval '${DAYS} days', timestamptz 'epoch')) * 1000)::float8 as start`,
  );
  if (storage !== 'timescaledb') {
    // As if the roll-ups had existed before the data: the advance rolls it up, oldest first.
    await database.exec(
      `update ${ROLLUP_STATE} set watermark = timestamptz 'epoch' + interval '${start} milliseconds'`,
    );
  }
  // One day per statement keeps PGlite's memory in check.
  for (let day = 0; day < DAYS; day++) {
    await database.exec(`
      insert into readings (time, device_id, metric, value, unit)
      select t, '${DEVICE}', m.metric, sin(extract(epoch from t) / 600) * 10 + m.offset_value, m.unit
      from generate_series(timestamptz 'epoch' + interval '${start + day * DAY} milliseconds',
                           timestamptz 'epoch' + interval '${start + (day + 1) * DAY - 1000} milliseconds',
                           interval '1 second') as t,
           (values ('temp', 20.0, 'C'), ('load', 1.0, null)) as m(metric, offset_value, unit)`);
  }
  const loaded = performance.now();
  if (storage === 'timescaledb') {
    await database.exec("call refresh_continuous_aggregate('readings_1m', null, null)");
    await database.exec("call refresh_continuous_aggregate('readings_1h', null, null)");
  } else {
    // Rows written behind the writer's back: rolled up like readings present before the roll-ups existed,
    // by moving the watermark back to before them (only once they are all in) and letting the advance run.
    await database.exec(
      `update ${ROLLUP_STATE} set watermark = timestamptz 'epoch' + interval '${start} milliseconds'`,
    );
    await new RollupAdvance({ database, maxStepMs: DAY }).catchUp();
  }
  const rows = await database.rows<{ n: number }>('select count(*)::int as n from readings');
  console.log(
    `  loaded ${rows[0]?.n} rows in ${seconds(loaded - started)} s, rolled up in ${seconds(performance.now() - loaded)} s`,
  );
}

async function timeQuery(hub: RunningHub, token: string, label: string, query: () => string): Promise<void> {
  const get = async () => {
    const response = await fetch(`${hub.url}/api/devices/${DEVICE}/readings?${query()}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.status !== 200)
      throw new Error(`${label}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as { series: Array<{ points: unknown[] }> };
  };
  for (let i = 0; i < 2; i++) await get();
  const times = new Float64Array(RUNS);
  let points = 0;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const answer = await get();
    times[i] = performance.now() - started;
    points = answer.series.reduce((n, s) => n + s.points.length, 0);
  }
  const [p50, p90] = percentiles(times, [50, 90]);
  console.log(
    `  ${label}: p50 ${p50!.toFixed(1)} ms, p90 ${p90!.toFixed(1)} ms (${RUNS} runs, ${points} points)`,
  );
}

/** Batches of 5,000 readings: 100 devices × 5 metrics × 10 timestamps each, from `start` on. */
function batches(count: number, start: number): TelemetryBatch[] {
  const out: TelemetryBatch[] = [];
  let n = 0;
  for (let b = 0; n < count; b++) {
    const readings = [];
    for (let i = 0; i < 50; i++)
      readings.push({ metric: `m${i % 5}`, ts: start + b * 100 + Math.floor(i / 5), value: i });
    for (let d = 0; d < 100 && n < count; d++, n += readings.length) {
      out.push({ deviceId: `dev-${d}`, seq: b, readings });
    }
  }
  return out;
}

/** Stores `count` readings in flushes of 5,000 (`concurrency` statements in flight, as the writer does). */
async function ingest(
  database: Database,
  all: TelemetryBatch[],
  rollups: boolean,
  concurrency: number,
): Promise<number> {
  const flushes: TelemetryBatch[][] = [];
  for (let i = 0; i < all.length; i += 100) flushes.push(all.slice(i, i + 100));
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < flushes.length) await insertReadings(database, flushes[next++]!, { rollups });
    }),
  );
  return performance.now() - started;
}

async function measureIngest(database: Database, storage: string, concurrency: number): Promise<void> {
  if (storage === 'timescaledb') {
    console.log('  ingest: roll-ups are continuous aggregates here (not on the write path); not measured');
    return;
  }
  const [{ now } = { now: 0 }] = await database.rows<{ now: number }>(
    "select (extract(epoch from date_bin(interval '1 minute', now(), timestamptz 'epoch')) * 1000)::float8 as now",
  );
  const rate = (ms: number) => `${Math.round(INGEST / (ms / 1000)).toLocaleString('en-US')} readings/s`;
  const results: Record<string, number[]> = { off: [], on: [], advance: [], late: [] };
  const setWatermark = (ms: number) =>
    database.exec(
      `update ${ROLLUP_STATE} set watermark = timestamptz 'epoch' + interval '${ms} milliseconds'`,
    );
  // Three rounds on fresh time ranges a year back, well before the loaded month (so the advance below
  // rolls up only what this measures); alternating, because a shared machine drifts.
  for (let round = 0; round < 3; round++) {
    const base = now - 400 * DAY + round * 20 * DAY;
    results.off!.push(await ingest(database, batches(INGEST, base), false, concurrency));
    // On: readings above the watermark (the statement only checks it), then the advance rolls them up.
    await setWatermark(base + DAY);
    const on = await ingest(database, batches(INGEST, base + DAY), true, concurrency);
    const advancing = performance.now();
    await database.rows("select readings_rollup_advance(interval '0 seconds', interval '10 minutes')");
    results.advance!.push(performance.now() - advancing);
    results.on!.push(on + results.advance!.at(-1)!);
    // Worst case: every reading late (below the watermark), rolled up by its own statement.
    await setWatermark(base + 5 * DAY);
    results.late!.push(await ingest(database, batches(INGEST, base + 3 * DAY), true, concurrency));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
  const off = median(results.off!);
  const on = median(results.on!);
  const late = median(results.late!);
  console.log(`  ingest, roll-ups off: ${rate(off)}`);
  console.log(
    `  ingest, roll-ups on (statements + advance): ${rate(on)} (cost ${((1 - off / on) * 100).toFixed(1)} %)`,
  );
  console.log(
    `  ingest, every reading late (rolled up by its statement): ${rate(late)} (cost ${((1 - off / late) * 100).toFixed(1)} %)`,
  );
}

async function bench(backend: 'postgres' | 'pglite'): Promise<void> {
  let testDb: TestDatabase | undefined;
  let dataDir: string | undefined;
  if (backend === 'postgres') testDb = await createTestDatabase('postgres');
  else dataDir = mkdtempSync(join(tmpdir(), 'edgewire-history-bench-'));
  const hub = await startHub({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    databaseUrl: testDb?.url,
    env: {},
    logDestination: pino.destination({ dest: '/dev/null' }),
  });
  try {
    const mode = await detectStorageMode(hub.database);
    console.log(`\n${backend} (storage: ${mode}), ${DAYS} days × 1 device × 2 metrics at 1 Hz`);
    await load(hub.database, mode);
    const token = (await hub.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] }))
      .token;
    const now = Date.now();
    await timeQuery(hub, token, `${DAYS} d at 1 h (no "to")`, () => `from=${now - DAYS * DAY}&bucket=1h`);
    await timeQuery(
      hub,
      token,
      '24 h at 1 m (no "to")',
      () => `from=${Date.now() - DAY}&bucket=1m&maxPoints=2000`,
    );
  } finally {
    await hub.close();
  }
  // Ingest on a database of its own, without a hub whose roll-up advance would run meanwhile.
  const ingestDb = backend === 'postgres' ? await createTestDatabase('postgres') : undefined;
  const database = await (ingestDb ? ingestDb.open() : openDatabase({}));
  try {
    await migrate(database, migrations);
    await measureIngest(database, await detectStorageMode(database), backend === 'pglite' ? 1 : 3);
  } finally {
    await database.close();
    await ingestDb?.drop();
    await testDb?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

const timescale = await testServerTimescale();
console.log(
  `history benchmark (shared machine: figures are noisy)${timescale.enabled ? '' : `; TimescaleDB not measured: ${timescale.reason}`}`,
);
for (const backend of args.backends.split(',')) await bench(backend as 'postgres' | 'pglite');
