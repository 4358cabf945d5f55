/**
 * Hot-path latency while storage is idle, saturated and down: one device streams 5,000 readings/s,
 * 100 subscribers watch its telemetry topics, and each subscriber measures send → receive time of
 * every reading (the reading's value carries its send time).
 *
 *   node --conditions=source --import tsx bench/ingest-latency.ts [--seconds 10] [--subscribers 100] [--rate 5000]
 *
 * (a) idle: only the measured device. (b) saturated: 20 more devices stream 20,000 readings/s that nobody
 * watches while another session keeps the readings table locked most of the time, so the writer is
 * always behind and its queue grows. (c) down: the hub's PostgreSQL connection goes through a TCP proxy
 * that is cut. The hub runs pinned to CPU 0; devices and subscribers run here, pinned to CPU 1.
 */
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import postgres from 'postgres';
import { createTestDatabase } from '../test/databases.js';
import { startTcpProxy } from '../test/tcp-proxy.js';
import * as latency from './ingest-support.js';

const args = latency.latencyBenchArgs(
  'usage: bench/ingest-latency.ts [--seconds 10 per phase] [--subscribers 100] [--rate 5000 readings/s]',
  { rate: '5000' },
);
const PHASE_MS = args.phaseMs;
const SUBSCRIBERS = args.subscribers;
const RATE = Number(args.option.rate);
const PER_TICK = Math.max(1, Math.round((RATE * latency.TICK_MS) / 1000));
const SATURATORS = 20;

execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

const testDb = await createTestDatabase('postgres');
const target = new URL(testDb.url!);
const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
const hub = await latency.spawnBenchHub(proxy.urlFor(testDb.url!), 1 + SATURATORS, 0);
const [probeDevice, ...saturatorDevices] = hub.devices;

const loadLoopDelay = monitorEventLoopDelay({ resolution: 10 });
loadLoopDelay.enable();
const latencies = new latency.DeliveryLatencies();
for (let i = 0; i < SUBSCRIBERS; i++)
  latencies.attach(
    await latency.openSocket(`${hub.url}/ws`, hub.readerToken, `devices/${probeDevice!.id}/telemetry/#`),
  );

const probe = await latency.openSocket(`${hub.url}/ws/device/${probeDevice!.id}`, probeDevice!.token);
let probing = true;
const probeDone = latency.stream(probe, PER_TICK, latency.TICK_MS, () => probing);

interface PhaseResult {
  name: string;
  /** Sorted once every phase has run: sorting millions of samples mid-run would stall the devices. */
  latencies: Float64Array;
  deliveredShare: number;
  writerQueued: number;
  writerHealthy: boolean;
  hubCpu: number;
  loadCpu: number;
  /** Longest event-loop stall in the phase. */
  hubStallMs: number;
  loadStallMs: number;
}

async function phase(name: string): Promise<PhaseResult> {
  await latency.sleep(latency.SETTLE_MS);
  loadLoopDelay.reset();
  const figures = await latency.measurePhase(hub, latencies, {
    rate: RATE,
    subscribers: SUBSCRIBERS,
    phaseMs: PHASE_MS,
  });
  return {
    name,
    latencies: figures.latencies,
    deliveredShare: figures.deliveredShare,
    writerQueued: figures.stats.queued,
    writerHealthy: figures.stats.healthy,
    hubCpu: figures.hubCpu,
    loadCpu: figures.loadCpu,
    hubStallMs: figures.stats.loopDelayMaxMs,
    loadStallMs: loadLoopDelay.max / 1e6,
  };
}

const results: PhaseResult[] = [];
results.push(await phase('(a) storage idle'));

// (b) The table is locked most of the time while other devices keep the writer busy.
let saturating = true;
const locker = postgres(testDb.url!, { max: 1, onnotice: () => {} });
const lockLoop = (async () => {
  while (saturating) {
    await locker.begin(async (tx) => {
      await tx`lock table readings in share mode`;
      await tx`select pg_sleep(1)`;
    });
    await latency.sleep(25);
  }
})();
const saturatorLoops = [];
for (const d of saturatorDevices) {
  const socket = await latency.openSocket(`${hub.url}/ws/device/${d.id}`, d.token);
  saturatorLoops.push(latency.stream(socket, 1000, 1000, () => saturating).finally(() => socket.close()));
}
results.push(await phase('(b) storage saturated'));
saturating = false;
await Promise.all([lockLoop, ...saturatorLoops]);
await locker.end();

proxy.cut();
results.push(await phase('(c) storage down'));
proxy.restore();

probing = false;
await probeDone;
probe.close();
await hub.close();
await proxy.close();
await testDb.drop();

console.log(
  `hot-path latency: 1 device at ${PER_TICK * (1000 / latency.TICK_MS)} readings/s to ${SUBSCRIBERS} subscribers, ${PHASE_MS / 1000} s per phase`,
);
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
let base = 0;
for (const r of results) {
  const [p50, p99, max] = latency.percentiles(r.latencies, [50, 99, 100]) as [number, number, number];
  base ||= p99;
  console.log(
    `  ${r.name.padEnd(22)} p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms (${p99 >= base ? '+' : ''}${pct(p99 / base - 1)} vs idle)  max ${max.toFixed(1)} ms  delivered ${pct(r.deliveredShare)}`,
  );
  console.log(
    `  ${''.padEnd(22)} writer queue ${r.writerQueued} readings (${r.writerHealthy ? 'healthy' : 'unhealthy'}); CPU hub ${pct(r.hubCpu)}, load generator ${pct(r.loadCpu)}${r.loadCpu > 0.9 ? ' (the load generator was the limit)' : ''}; longest event-loop stall hub ${r.hubStallMs.toFixed(0)} ms, load generator ${r.loadStallMs.toFixed(0)} ms`,
  );
}
