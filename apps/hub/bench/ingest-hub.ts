/**
 * The hub side of the ingest benchmarks, run as its own process (pinned to its own core by the
 * benchmark): a hub on the PostgreSQL in `DATABASE_URL`, or else on the embedded database in
 * `BENCH_DATA_DIR`, with the storage writer as its sink. It
 * registers `BENCH_DEVICES` devices and a client token that may read everything, reports them to
 * the parent over IPC, and closes gracefully when the parent says so.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startHub } from '../src/hub.js';
import { TelemetryWriter } from '../src/telemetry/telemetry-writer.js';

export interface BenchHubReady {
  type: 'ready';
  url: string;
  devices: Array<{ id: string; token: string }>;
  readerToken: string;
}

const devices = Number(process.env.BENCH_DEVICES ?? 100);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let writer: TelemetryWriter | undefined;
const hub = await startHub({
  host: '127.0.0.1',
  port: 0,
  dataDir: process.env.BENCH_DATA_DIR,
  databaseUrl: process.env.DATABASE_URL,
  logLevel: 'warn',
  // The benchmark measures storage and fan-out, not the abuse limits.
  publishRate: 1_000_000,
  publishBurst: 1_000_000,
  handshakeRate: 1_000_000,
  handshakeRatePerAddress: 1_000_000,
  deviceConnectsPerMinute: 1_000_000,
  maxQueuedBytes: 64 * 1024 * 1024,
  telemetrySink: ({ database, logger }) => {
    writer = new TelemetryWriter({ database, logger });
    return writer;
  },
});
const registered = [];
for (let i = 0; i < devices; i++) registered.push(await hub.admin.addDevice(`bench-${i}`));
const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
const ready: BenchHubReady = { type: 'ready', url: hub.url, devices: registered, readerToken: reader.token };
process.send!(ready);
process.on('message', async (message: { type: string; gc?: boolean }) => {
  if (message.type === 'stats') {
    // Several passes: the first frees objects whose finalisers release more.
    if (message.gc) for (let i = 0; i < 3; i++) globalThis.gc?.();
    const failures = (await writer!.metrics.writeFailures.get()).values[0]?.value ?? 0;
    const refused = (await writer!.metrics.offersRefused.get()).values[0]?.value ?? 0;
    const cpu = process.cpuUsage();
    process.send!({
      type: 'stats',
      queued: writer!.queuedReadings,
      healthy: writer!.healthy,
      failures,
      refused,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      rssBytes: process.memoryUsage().rss,
    });
    loopDelay.reset();
  }
  if (message.type === 'close') {
    await hub.close();
    process.exit(0);
  }
});
