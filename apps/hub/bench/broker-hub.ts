/**
 * The hub side of the broker benchmarks, in its own process (the benchmark pins it to its own core):
 * in-memory PGlite, abuse limits out of the way, and telemetry acked without being stored: these
 * benchmarks measure the broker alone (the storage writer's cost is what bench/ingest*.ts measure). It registers `BENCH_DEVICES`
 * devices and a client token that may read everything, reports them over IPC, and answers
 * `usage` (CPU time and memory, after a full GC if asked) until told to `close`.
 */
import { startHub } from '../src/hub.js';
import type { TelemetrySink } from '../src/ingest/telemetry-sink.js';
import { type ProcessUsage, processUsage } from './hub-process.js';

/** Acks every batch on the next tick and stores nothing: keeps the database out of broker figures. */
function discardingSink(): TelemetrySink {
  const listeners: Array<(deviceId: string, seq: number) => void> = [];
  return {
    healthy: true,
    offer: (batch) => {
      queueMicrotask(() => {
        for (const listener of listeners) listener(batch.deviceId, batch.seq);
      });
      return true;
    },
    onCommitted: (listener) => {
      listeners.push(listener);
    },
    close: async () => {},
  };
}

export interface BrokerHubReady {
  type: 'ready';
  url: string;
  devices: Array<{ id: string; token: string }>;
  readerToken: string;
}

export interface BrokerHubUsage extends ProcessUsage {
  type: 'usage';
}

const devices = Number(process.env.BENCH_DEVICES ?? 10);
// The cluster benchmarks run several of these on one PostgreSQL and one Redis.
const env = process.env;
const hub = await startHub({
  host: '127.0.0.1',
  port: 0,
  dataDir: undefined,
  env: {},
  ...(env.BENCH_DATABASE_URL ? { databaseUrl: env.BENCH_DATABASE_URL } : {}),
  ...(env.BENCH_REDIS_URL
    ? { redisUrl: env.BENCH_REDIS_URL, redisPrefix: env.BENCH_REDIS_PREFIX ?? 'bench' }
    : {}),
  ...(env.BENCH_HISTORY_SIZE ? { historySize: Number(env.BENCH_HISTORY_SIZE) } : {}),
  logLevel: 'warn',
  publishRate: 1_000_000,
  publishBurst: 1_000_000,
  handshakeRate: 1_000_000,
  handshakeRatePerAddress: 1_000_000,
  deviceConnectsPerMinute: 1_000_000,
  tokenCacheMs: Number(process.env.BENCH_TOKEN_CACHE_MS ?? 5000),
  telemetrySink: discardingSink,
});
const registered = [];
const idPrefix = env.BENCH_DEVICE_PREFIX ?? 'bench-';
for (let i = 0; i < devices; i++) registered.push(await hub.admin.addDevice(`${idPrefix}${i}`));
const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
const ready: BrokerHubReady = { type: 'ready', url: hub.url, devices: registered, readerToken: reader.token };
process.send!(ready);

process.on('message', async (message: { type: string; gc?: boolean }) => {
  if (message.type === 'usage') {
    const usage: BrokerHubUsage = { type: 'usage', ...processUsage(message.gc ?? false) };
    process.send!(usage);
  }
  if (message.type === 'close') {
    await hub.close();
    process.exit(0);
  }
});
