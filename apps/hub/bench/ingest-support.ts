/** Shared by the ingest benchmarks: the hub in a child process on its own core, devices and subscribers. */
import { parseArgs } from 'node:util';
import type WebSocket from 'ws';
import { sleep, spawnHubProcess } from './hub-process.js';
import type { BenchHubReady } from './ingest-hub.js';

export { openSocket, sleep } from './hub-process.js';

/** The device streams a batch of readings this often. */
export const TICK_MS = 20;
/** Streaming runs this long before a phase is measured, so that it starts from a steady state. */
export const SETTLE_MS = 1000;

/**
 * The command line of a delivery-latency benchmark: `--seconds` per phase, `--subscribers`, `--help`
 * (prints `usage` and exits), and the benchmark's own string options given with their defaults.
 */
export function latencyBenchArgs<K extends string>(
  usage: string,
  own: Record<K, string>,
): { phaseMs: number; subscribers: number; option: Record<K, string> } {
  const options: Record<string, { type: 'string' | 'boolean'; default: string | boolean }> = {
    seconds: { type: 'string', default: '10' },
    subscribers: { type: 'string', default: '100' },
    help: { type: 'boolean', default: false },
  };
  for (const [name, fallback] of Object.entries<string>(own))
    options[name] = { type: 'string', default: fallback };
  const { values } = parseArgs({ options });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return {
    phaseMs: Number(values.seconds) * 1000,
    subscribers: Number(values.subscribers),
    option: values as Record<K, string>,
  };
}

export interface BenchHubStats {
  queued: number;
  healthy: boolean;
  failures: number;
  refused: number;
  cpuSeconds: number;
  loopDelayMaxMs: number;
  rssBytes: number;
}

export interface BenchHub extends BenchHubReady {
  /** The writer's and the process's figures; `gc` first runs a full collection (for idle memory). */
  stats(gc?: boolean): Promise<BenchHubStats>;
  close(): Promise<void>;
}

/** What one measured phase of a delivery-latency benchmark found. */
export interface PhaseFigures {
  /** Send → receive times in ms, unsorted. */
  latencies: Float64Array;
  /** Deliveries received per delivery expected. */
  deliveredShare: number;
  /** The hub's CPU use, in cores. */
  hubCpu: number;
  /** This load generator's CPU use, in cores. */
  loadCpu: number;
  /** The hub's figures at the end of the phase. */
  stats: BenchHubStats;
}

/** Measures `phaseMs` of deliveries while a device streams `rate` readings/s to each of `subscribers`. */
export async function measurePhase(
  hub: BenchHub,
  latencies: DeliveryLatencies,
  load: { rate: number; subscribers: number; phaseMs: number },
): Promise<PhaseFigures> {
  const expectedPerSec = load.rate * load.subscribers;
  const before = await hub.stats();
  const loadBefore = process.cpuUsage();
  latencies.start(expectedPerSec * (load.phaseMs / 1000) * 1.5);
  const started = performance.now();
  await sleep(load.phaseMs);
  const { latencies: sample, received } = latencies.stop();
  const seconds = (performance.now() - started) / 1000;
  const loadCpu = process.cpuUsage(loadBefore);
  const stats = await hub.stats();
  return {
    latencies: sample,
    deliveredShare: received / (expectedPerSec * seconds),
    hubCpu: (stats.cpuSeconds - before.cpuSeconds) / seconds,
    loadCpu: (loadCpu.user + loadCpu.system) / 1e6 / seconds,
    stats,
  };
}

/**
 * Starts `ingest-hub.ts` pinned to `cpu` (taskset) with `devices` registered devices, on the PostgreSQL
 * at a URL, or on the embedded database in a data directory.
 */
export async function spawnBenchHub(
  storage: string | { dataDir: string },
  devices: number,
  cpu: number,
): Promise<BenchHub> {
  const env: Record<string, string> =
    typeof storage === 'string' ? { DATABASE_URL: storage } : { BENCH_DATA_DIR: storage.dataDir };
  const hub = await spawnHubProcess<BenchHubReady>({
    script: 'ingest-hub.ts',
    cpu,
    nodeArgs: ['--expose-gc'],
    env: { ...env, BENCH_DEVICES: String(devices) },
  });
  return {
    ...hub.ready,
    stats: (gc = false) => hub.request<BenchHubStats>('stats', { gc }),
    close: () => hub.close(),
  };
}

/** Nearest-rank percentiles of a sample, which is sorted in place. */
export function percentiles(sample: Float64Array, ps: readonly number[]): number[] {
  if (sample.length === 0) return ps.map(() => Number.NaN);
  sample.sort();
  return ps.map(
    (p) => sample[Math.min(sample.length - 1, Math.max(0, Math.ceil((p / 100) * sample.length) - 1))]!,
  );
}

export const now = () => performance.timeOrigin + performance.now();

const VALUE_KEY = Buffer.from('"value":');

/**
 * Send → receive time of every reading the attached subscribers get while recording; `stream` makes a
 * reading's value its send time. Samples are preallocated so that recording never stalls on a resize,
 * and sorted only after the run: sorting millions of samples mid-run would stall the devices.
 */
export class DeliveryLatencies {
  #recording = false;
  #samples = new Float64Array(0);
  #received = 0;

  attach(socket: WebSocket): void {
    // Hundreds of thousands of messages a second arrive here: read the send time straight from the bytes
    // instead of parsing each frame, so that the subscribers are not what the benchmark measures.
    socket.on('message', (data: Buffer) => {
      if (!this.#recording) return;
      const at = data.indexOf(VALUE_KEY);
      if (at < 0) return;
      if (this.#received < this.#samples.length)
        this.#samples[this.#received] =
          now() -
          Number.parseFloat(data.toString('latin1', at + VALUE_KEY.length, at + VALUE_KEY.length + 24));
      this.#received++;
    });
  }

  /** Starts recording, with room for `expected` samples. */
  start(expected: number): void {
    this.#samples = new Float64Array(Math.ceil(expected));
    this.#received = 0;
    this.#recording = true;
  }

  /** Stops recording; returns the samples and how many messages arrived (more than fit, perhaps). */
  stop(): { latencies: Float64Array; received: number } {
    this.#recording = false;
    return {
      latencies: this.#samples.subarray(0, Math.min(this.#received, this.#samples.length)),
      received: this.#received,
    };
  }
}

/** Where a device's stream stands: the next frame continues it, so the hub sees no resend. */
export interface StreamCursor {
  seq: number;
  readings: number;
}

/**
 * Streams `perTick` readings every `tickMs` while `running()`; each reading's value is its send time.
 * Pass the same `cursor` to stream again on one device: seq and timestamps carry on where they stopped.
 */
export async function stream(
  socket: WebSocket,
  perTick: number,
  tickMs: number,
  running: () => boolean,
  cursor: StreamCursor = { seq: 0, readings: 0 },
) {
  let next = performance.now();
  while (running()) {
    const sentAt = now();
    const readings: string[] = [];
    for (let i = 0; i < perTick; i++, cursor.readings++)
      readings.push(`{"metric":"m${cursor.readings % 10}","value":${sentAt},"ts":${1e12 + cursor.readings}}`);
    cursor.seq++;
    socket.send(
      `{"type":"telemetry","id":${cursor.seq},"seq":${cursor.seq},"readings":[${readings.join(',')}]}`,
    );
    next += tickMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
}
