/**
 * History benchmark: a month of 1 Hz readings of one device with two metrics (5.2 M rows), asked
 * through the HTTP API as 30 days at 1 h and 24 h at 1 m, on PostgreSQL and PGlite (and TimescaleDB
 * when the test server has it); then the cost of the roll-ups on ingest (statements with and without).
 *
 *   node --conditions=source --import tsx bench/history.ts [--days 30] [--runs 20] [--backends postgres,pglite]
 *                [--ingest 200000] [--rounds 3] [--history 2000000] [--parts queries,ingest] [--pin 1]
 *
 * The roll-ups' cost on ingest is given as CPU time per 1,000 readings (this process, the PGlite thread
 * included, plus its PostgreSQL backends), which other load on the machine barely moves; `--pin`
 * keeps this process and the backends on one core (taskset) so that they do not migrate meanwhile.
 *
 * Rows are generated inside the database (generate_series), not through the writer, and rolled up the
 * way a database migrated with existing readings is: by the roll-up advance (or a full refresh of the
 * continuous aggregates). The hub runs in this process; the machine may be shared, so figures are noisy.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { createTestDatabase } from '../test/databases.js';
import { testServerTimescale } from '../test/timescale.js';
import { percentiles } from './ingest-support.js';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '20' },
    backends: { type: 'string', default: 'postgres,pglite' },
    ingest: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
    parts: { type: 'string', default: 'queries,ingest' },
    pin: { type: 'string' },
    history: { type: 'string', default: '2000000' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: bench/history.ts [--days 30] [--runs 20] [--backends postgres,pglite] [--ingest 200000]
  --days      days of 1 Hz readings of 2 metrics to load (30 = 5.2 M rows)
  --runs      timed runs of each query (p50 and p90 are printed)
  --backends  which storages to measure: postgres, pglite (TimescaleDB runs as "postgres" when the
              TEST_DATABASE_URL server has the extension)
  --ingest    readings stored per ingest variant (roll-ups on, off, all late)
  --rounds    measured rounds of the three ingest variants (the median is printed)
  --parts     what to measure: queries (history through the API), ingest (the roll-ups' cost)
  --history   older readings in the table before ingest is measured
  --pin       a CPU to pin this process and its PostgreSQL backends to (taskset)`);
  process.exit(0);
}
const DAYS = Number(args.days);
const RUNS = Number(args.runs);
const INGEST = Number(args.ingest);
const ROUNDS = Number(args.rounds);
const PARTS = new Set(args.parts.split(','));
const PIN = args.pin;
const HISTORY = Number(args.history);
if (PIN !== undefined)
  execFileSync('taskset', ['-a', '-p', '-c', PIN, String(process.pid)], { stdio: 'ignore' });
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
    // The hub's advance must not roll up a day half loaded: it waits for a watermark that never comes.
    await database.exec(`update ${ROLLUP_STATE} set watermark = 'infinity'`);
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
): Promise<void> {
  const flushes: TelemetryBatch[][] = [];
  for (let i = 0; i < all.length; i += 100) flushes.push(all.slice(i, i + 100));
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < flushes.length) await insertReadings(database, flushes[next++]!, { rollups });
    }),
  );
}

/** CPU seconds of a process (all its threads) from /proc: robust to other load, unlike wall time. */
function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU spent storing: this process (with the PGlite thread) and, on PostgreSQL, the backends of this
 * database (pinned to `pin` too when given). Returns a function that gives the seconds since the call.
 */
async function cpuMeter(database: Database): Promise<() => Promise<number>> {
  const backends = async () => {
    if (database.driver !== 'postgres') return new Map<number, number>();
    const rows = await database.rows<{ pid: number }>(
      'select pid from pg_stat_activity where datname = current_database()',
    );
    for (const { pid } of rows) {
      if (PIN !== undefined) execFileSync('taskset', ['-p', '-c', PIN, String(pid)], { stdio: 'ignore' });
    }
    return new Map(rows.map(({ pid }) => [pid, processCpuSeconds(pid)]));
  };
  const before = await backends();
  const self = process.cpuUsage();
  return async () => {
    const own = process.cpuUsage(self);
    let total = (own.user + own.system) / 1e6;
    for (const [pid, seconds] of await backends()) total += seconds - (before.get(pid) ?? 0);
    return total;
  };
}

async function measureIngest(database: Database, storage: string, concurrency: number): Promise<void> {
  if (storage === 'timescaledb') {
    console.log('  ingest: roll-ups are continuous aggregates here (not on the write path); not measured');
    return;
  }
  const [{ now } = { now: 0 }] = await database.rows<{ now: number }>(
    "select (extract(epoch from date_bin(interval '1 minute', now(), timestamptz 'epoch')) * 1000)::float8 as now",
  );
  // Older readings first, as a hub in service has: the advance then reads its few minutes through the
  // time index, as it does in service, rather than scanning a table made of little else.
  await database.exec(`
    insert into readings (time, device_id, metric, value)
    select t, 'history', m, 1 from generate_series(
      timestamptz 'epoch' + interval '${now - 500 * DAY} milliseconds',
      timestamptz 'epoch' + interval '${now - 500 * DAY + (HISTORY / 2) * 1000} milliseconds', interval '1 second') as t,
      (values ('a'), ('b')) as metrics(m)`);
  await database.exec('vacuum analyze readings');
  type Run = { wallMs: number; cpuSeconds: number };
  const results: Record<'off' | 'on' | 'advance' | 'late', Run[]> = {
    off: [],
    on: [],
    advance: [],
    late: [],
  };
  const setWatermark = (ms: number) =>
    database.exec(
      `update ${ROLLUP_STATE} set watermark = timestamptz 'epoch' + interval '${ms} milliseconds'`,
    );
  const measure = async (work: () => Promise<void>): Promise<Run> => {
    const cpu = await cpuMeter(database);
    const started = performance.now();
    await work();
    const wallMs = performance.now() - started;
    return { wallMs, cpuSeconds: await cpu() };
  };
  // Five rounds on fresh time ranges a year back, well before the loaded month (so the advance below
  // rolls up only what this measures); alternating, because a shared machine drifts. The first round
  // warms up (plans, pool, JIT of this process) and is not counted.
  for (let round = 0; round < ROUNDS + 1; round++) {
    const base = now - 400 * DAY + round * 20 * DAY;
    const [offBatches, onBatches, lateBatches] = [base, base + DAY, base + 3 * DAY].map((t) =>
      batches(INGEST, t),
    );
    const off = await measure(() => ingest(database, offBatches!, false, concurrency));
    // On: readings above the watermark (the statement only checks it), then the advance rolls them up.
    await setWatermark(base + DAY);
    // The advance summarises the time index's new page ranges: those of the other variants' readings
    // are summarised here, unmeasured, so that it is charged for the pages of its own readings only.
    await database.rows("select brin_summarize_new_values('readings_time_brin')");
    const statements = await measure(() => ingest(database, onBatches!, true, concurrency));
    const advance = await measure(async () => {
      await database.rows("select readings_rollup_advance(interval '0 seconds', interval '10 minutes')");
    });
    const on = {
      wallMs: statements.wallMs + advance.wallMs,
      cpuSeconds: statements.cpuSeconds + advance.cpuSeconds,
    };
    // Worst case: every reading late (below the watermark), rolled up by its own statement.
    await setWatermark(base + 5 * DAY);
    const late = await measure(() => ingest(database, lateBatches!, true, concurrency));
    if (round === 0) continue;
    results.off.push(off);
    results.on.push(on);
    results.advance.push(advance);
    results.late.push(late);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const wall = (runs: Run[]) => median(runs.map((r) => r.wallMs));
  // The least CPU of the rounds too: other load only ever adds to it (caches, memory bandwidth).
  const least = (xs: number[]) => Math.min(...xs);
  const cpu = (runs: Run[], pick = median) => (pick(runs.map((r) => r.cpuSeconds)) * 1e6) / INGEST;
  const rate = (runs: Run[]) =>
    `${Math.round(INGEST / (wall(runs) / 1000)).toLocaleString('en-US')} readings/s`;
  const cost = (runs: Run[], pick = median) =>
    runs === results.off
      ? ''
      : ` (cost ${((cpu(runs, pick) / cpu(results.off, pick) - 1) * 100).toFixed(1)} %)`;
  const line = (label: string, runs: Run[]) => {
    console.log(
      `  ${label}: median ${cpu(runs).toFixed(3)}${cost(runs)}, least ${cpu(runs, least).toFixed(3)}${cost(runs, least)} CPU ms per 1,000 readings; wall ${rate(runs)}`,
    );
  };
  console.log(
    `  ingest, median of ${ROUNDS} rounds of ${INGEST} readings, CPU of this process + its backends:`,
  );
  line('roll-ups off', results.off);
  line('roll-ups on (statements + advance)', results.on);
  console.log(
    `    of which the advance: median ${cpu(results.advance).toFixed(3)}, least ${cpu(results.advance, least).toFixed(3)} CPU ms per 1,000 readings`,
  );
  line('every reading late (rolled up by its statement)', results.late);
}

async function benchQueries(backend: 'postgres' | 'pglite'): Promise<void> {
  const testDb = backend === 'postgres' ? await createTestDatabase('postgres') : undefined;
  const dataDir = testDb ? undefined : mkdtempSync(join(tmpdir(), 'edgewire-history-bench-'));
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
    await testDb?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Ingest on a database of its own, without a hub whose roll-up advance would run meanwhile. */
async function benchIngest(backend: 'postgres' | 'pglite'): Promise<void> {
  const ingestDb = backend === 'postgres' ? await createTestDatabase('postgres') : undefined;
  const database = await (ingestDb ? ingestDb.open() : openDatabase({}));
  try {
    await migrate(database, migrations);
    const mode = await detectStorageMode(database);
    console.log(`\n${backend} (storage: ${mode}), ingest`);
    await measureIngest(database, mode, backend === 'pglite' ? 1 : 3);
  } finally {
    await database.close();
    await ingestDb?.drop();
  }
}

const timescale = await testServerTimescale();
console.log(
  `history benchmark (shared machine: figures are noisy)${timescale.enabled ? '' : `; TimescaleDB not measured: ${timescale.reason}`}`,
);
for (const backend of args.backends.split(',') as Array<'postgres' | 'pglite'>) {
  if (PARTS.has('queries')) await benchQueries(backend);
  if (PARTS.has('ingest')) await benchIngest(backend);
}
