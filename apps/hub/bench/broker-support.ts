/**
 * Shared by the broker benchmarks: the hub (`broker-hub.ts`) in a child process pinned to CPU 0, this
 * load generator pinned to CPU 1, and a latency histogram cheap enough for millions of samples.
 */
import { execFileSync } from 'node:child_process';
import type { BrokerHubReady, BrokerHubUsage } from './broker-hub.js';
import { spawnHubProcess } from './hub-process.js';

export { openSocket, sleep } from './hub-process.js';

import { RawSubscriber } from './raw-subscriber.js';

export interface BrokerHub extends BrokerHubReady {
  /** CPU time and memory of the hub process; `gc` collects garbage first (it costs the hub CPU). */
  usage(gc?: boolean): Promise<BrokerHubUsage>;
  close(): Promise<void>;
}

export const HUB_CPU = 0;
export const GENERATOR_CPU = 1;

export function pinGenerator(): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(GENERATOR_CPU), String(process.pid)], {
    stdio: 'ignore',
  });
}

export async function spawnBrokerHub(options: {
  devices: number;
  tokenCacheMs?: number;
  cpu?: number;
  /** More BENCH_* settings (shared database and Redis, device id prefix) for the cluster benchmarks. */
  env?: Record<string, string>;
}): Promise<BrokerHub> {
  const hub = await spawnHubProcess<BrokerHubReady>({
    script: 'broker-hub.ts',
    cpu: options.cpu ?? HUB_CPU,
    nodeArgs: [
      // BENCH_HUB_PROFILE=<dir> writes a CPU profile of the hub there, to see where its time goes.
      ...(process.env.BENCH_HUB_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_HUB_PROFILE}`]
        : []),
      '--expose-gc',
    ],
    env: {
      BENCH_DEVICES: String(options.devices),
      BENCH_TOKEN_CACHE_MS: String(options.tokenCacheMs ?? 5000),
      ...options.env,
    },
  });
  return {
    ...hub.ready,
    usage: (gc = false) => hub.request<BrokerHubUsage>('usage', { gc }),
    close: () => hub.close(),
  };
}

/** Latencies in 10 µs buckets up to 1 s (beyond that, the last bucket). */
export class LatencyHistogram {
  static readonly BUCKET_MS = 0.01;
  readonly #buckets = new Uint32Array(100_001);
  count = 0;
  max = 0;

  record(ms: number): void {
    const index = Math.min(
      this.#buckets.length - 1,
      Math.max(0, Math.floor(ms / LatencyHistogram.BUCKET_MS)),
    );
    this.#buckets[index]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i]!;
      if (seen >= rank) return (i + 1) * LatencyHistogram.BUCKET_MS;
    }
    return this.max;
  }
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A subscriber of every device's telemetry, as the fan-out benchmarks use 100 of them. */
export function subscribe(hub: BrokerHub): Promise<RawSubscriber> {
  return RawSubscriber.open(`${hub.url}/ws`, {
    Authorization: `Bearer ${hub.readerToken}`,
    Topics: 'devices/+/telemetry/#',
  });
}

/**
 * Offers `rate` items a second however late the timer fires on a busy machine: every `intervalMs`,
 * `send` gets the number due since the start (at most `maxBatch`) and returns how many it sent. A
 * generator that cannot keep up shows as `sent()` below `rate` × time, with its own CPU near one core.
 */
export function paced(
  rate: number,
  send: (due: number) => number,
  { intervalMs = 10, maxBatch = Number.POSITIVE_INFINITY } = {},
): { sent(): number; stop(): void } {
  const started = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.min(maxBatch, Math.floor(((performance.now() - started) * rate) / 1000) - sent);
    if (due > 0) sent += send(due);
  }, intervalMs);
  return { sent: () => sent, stop: () => clearInterval(timer) };
}

/** This process's CPU seconds so far: compared with wall time, it says whether the generator was the limit. */
export const generatorCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
