/**
 * Shared by the broker benchmarks: the hub (`broker-hub.ts`) in a child process pinned to CPU 0, this
 * load generator pinned to CPU 1, and a latency histogram cheap enough for millions of samples.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { BrokerHubReady, BrokerHubUsage } from './broker-hub.js';
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
}): Promise<BrokerHub> {
  const script = fileURLToPath(new URL('./broker-hub.ts', import.meta.url));
  const child: ChildProcess = spawn(
    'taskset',
    [
      '-c',
      String(HUB_CPU),
      process.execPath,
      // BENCH_HUB_PROFILE=<dir> writes a CPU profile of the hub there, to see where its time goes.
      ...(process.env.BENCH_HUB_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_HUB_PROFILE}`]
        : []),
      '--expose-gc',
      '--conditions=source',
      '--import',
      'tsx',
      script,
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        BENCH_DEVICES: String(options.devices),
        BENCH_TOKEN_CACHE_MS: String(options.tokenCacheMs ?? 5000),
      },
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<BrokerHubReady>((resolve, reject) => {
    child.once('message', (m) => resolve(m as BrokerHubReady));
    child.once('exit', (code) => reject(new Error(`bench hub exited with ${code}`)));
  });
  return {
    ...ready,
    usage: (gc = false) =>
      new Promise((resolve) => {
        const onMessage = (m: { type: string }) => {
          if (m.type !== 'usage') return;
          child.off('message', onMessage);
          resolve(m as BrokerHubUsage);
        };
        child.on('message', onMessage);
        child.send({ type: 'usage', gc });
      }),
    close: async () => {
      child.send({ type: 'close' });
      await exited;
    },
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a `ws` connection with a bearer token; resolves once the hub's `welcome` arrived. */
export function openSocket(url: string, token: string): Promise<WebSocket> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers: { authorization: `Bearer ${token}` } });
  return new Promise((resolve, reject) => {
    socket.once('message', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    socket.once('error', reject);
  });
}
