/**
 * End-to-end ingest benchmark: simulated devices stream telemetry to a hub on PostgreSQL and count
 * the readings the hub acknowledged as durably stored. In the same run, the same rows are then
 * written by a raw COPY into the same (emptied) table, as the ceiling to compare with.
 *
 *   node --conditions=source --import tsx bench/ingest.ts [--devices 100] [--seconds 10] [--frame 1000] [--window 4]
 *
 * The hub runs pinned to CPU 0 and this load generator to CPU 1; PostgreSQL shares both.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import type WebSocket from 'ws';
import { createTestDatabase } from '../test/databases.js';
import { openSocket, sleep, spawnBenchHub } from './ingest-support.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    frame: { type: 'string', default: '1000' },
    window: { type: 'string', default: '4' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: bench/ingest.ts [--devices 100] [--seconds 10] [--frame 1000 readings] [--window 4 frames]',
  );
  process.exit(0);
}
const DEVICES = Number(args.devices);
const MEASURE_MS = Number(args.seconds) * 1000;
const READINGS_PER_FRAME = Number(args.frame);
const WINDOW = Number(args.window);
const WARMUP_MS = 2000;
const METRICS = 10;
const T0 = Date.UTC(2026, 0, 1);

execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

const testDb = await createTestDatabase('postgres');
const hub = await spawnBenchHub(testDb.url!, DEVICES, 0);

let counting = false;
let sending = true;
let ackedReadings = 0;
let refusedFrames = 0;

/** Reading `n` of a device: ten metrics in turn, each with a new millisecond every ten readings. */
const readingOf = (n: number) => ({
  metric: `m${n % METRICS}`,
  value: (n % 1000) / 10,
  ts: T0 + Math.floor(n / METRICS),
});

/** One simulated device: keeps `WINDOW` frames unacknowledged, sends the next as soon as an ack frees a slot. */
class Device {
  readonly #inFlight: Array<{ seq: number; readings: number }> = [];
  #seq = 0;
  #next = 0;

  constructor(
    readonly index: number,
    readonly socket: WebSocket,
  ) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; seq?: number; code?: string };
      if (frame.type === 'ack' && frame.seq !== undefined) {
        while (this.#inFlight.length > 0 && this.#inFlight[0]!.seq <= frame.seq) {
          const done = this.#inFlight.shift()!;
          if (counting) ackedReadings += done.readings;
        }
        this.fill();
      } else if (frame.type === 'error') {
        refusedFrames++;
      }
    });
  }

  /** Readings sent so far, all acked once the device is idle. */
  get sent(): number {
    return this.#next;
  }

  get idle(): boolean {
    return this.#inFlight.length === 0;
  }

  fill(): void {
    while (sending && this.#inFlight.length < WINDOW) {
      const parts: string[] = [];
      for (let i = 0; i < READINGS_PER_FRAME; i++) {
        const r = readingOf(this.#next++);
        parts.push(`{"metric":"${r.metric}","value":${r.value},"ts":${r.ts}}`);
      }
      const seq = ++this.#seq;
      this.socket.send(`{"type":"telemetry","id":${seq},"seq":${seq},"readings":[${parts.join(',')}]}`);
      this.#inFlight.push({ seq, readings: READINGS_PER_FRAME });
    }
  }
}

const devices: Device[] = [];
for (const [index, d] of hub.devices.entries()) {
  devices.push(new Device(index, await openSocket(`${hub.url}/ws/device/${d.id}`, d.token)));
}
for (const d of devices) d.fill();
await sleep(WARMUP_MS);
counting = true;
const hubCpuBefore = (await hub.stats()).cpuSeconds;
const cpuBefore = process.cpuUsage();
const started = performance.now();
await sleep(MEASURE_MS);
const elapsed = (performance.now() - started) / 1000;
counting = false;
const cpu = process.cpuUsage(cpuBefore);
const hubCpu = ((await hub.stats()).cpuSeconds - hubCpuBefore) / elapsed;
const ackedRate = ackedReadings / elapsed;
sending = false;
const drainDeadline = Date.now() + 30_000;
while (devices.some((d) => !d.idle) && Date.now() < drainDeadline) await sleep(50);
const hubStats = await hub.stats();
for (const d of devices) d.socket.close();
await hub.close();

// The same rows again, by raw COPY into the same table, emptied first. The COPY text is built before
// the clock starts: the figure is the database's alone. (Exporting the stored rows with COPY TO instead
// sometimes left postgres.js unable to run the next statement.)
const sql = postgres(testDb.url!, { max: 1, onnotice: () => {} });
const [{ rows }] = await sql<[{ rows: number }]>`select count(*)::int as rows from readings`;
await sql`truncate readings`;
const chunks: string[] = [];
for (const [index, d] of devices.entries()) {
  const lines: string[] = [];
  for (let n = 0; n < d.sent; n++) {
    const r = readingOf(n);
    lines.push(`${new Date(r.ts).toISOString()}\tbench-${index}\t${r.metric}\t${r.value}\t\\N\n`);
  }
  chunks.push(lines.join(''));
}
const copyStarted = performance.now();
const writable = await sql`copy readings (time, device_id, metric, value, unit) from stdin`.writable();
await new Promise<void>((resolve, reject) => {
  writable.on('finish', resolve);
  writable.on('error', reject);
  for (const chunk of chunks) writable.write(chunk);
  writable.end();
});
const copySeconds = (performance.now() - copyStarted) / 1000;
const [{ copied }] = await sql<[{ copied: number }]>`select count(*)::int as copied from readings`;
await sql.end();
await testDb.drop();

const copyRate = copied / copySeconds;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const loadCpu = (cpu.user + cpu.system) / 1e6 / elapsed;
console.log(
  `ingest end to end: ${DEVICES} devices, ${READINGS_PER_FRAME} readings/frame, window ${WINDOW}, ${elapsed.toFixed(1)} s measured`,
);
console.log(`  durably acked:         ${fmt(ackedRate)} readings/s`);
console.log(
  `  raw COPY, same rows:   ${fmt(copyRate)} rows/s (${fmt(copied)} rows in ${copySeconds.toFixed(2)} s)`,
);
console.log(`  ratio acked / COPY:    ${(ackedRate / copyRate).toFixed(2)}`);
console.log(
  `  stored rows:           ${fmt(rows)}; refused frames: ${refusedFrames}; write failures: ${hubStats.failures}`,
);
console.log(
  `  hub process CPU:       ${(hubCpu * 100).toFixed(0)}% of one core${hubCpu > 0.9 ? ' (the hub was the limit)' : ''}`,
);
console.log(
  `  load generator CPU:    ${(loadCpu * 100).toFixed(0)}% of one core${loadCpu > 0.9 ? ' (the load generator was the limit)' : ''}`,
);
