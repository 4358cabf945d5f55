/** Shared by the ingest benchmarks: the hub in a child process on its own core, and device connections. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { BenchHubReady } from './ingest-hub.js';

export interface BenchHub extends BenchHubReady {
  stats(): Promise<{
    queued: number;
    healthy: boolean;
    failures: number;
    refused: number;
    cpuSeconds: number;
    loopDelayMaxMs: number;
  }>;
  close(): Promise<void>;
}

/** Starts `ingest-hub.ts` pinned to `cpu` (taskset), on `databaseUrl`, with `devices` registered devices. */
export async function spawnBenchHub(databaseUrl: string, devices: number, cpu: number): Promise<BenchHub> {
  const script = fileURLToPath(new URL('./ingest-hub.ts', import.meta.url));
  const child: ChildProcess = spawn(
    'taskset',
    ['-c', String(cpu), process.execPath, '--conditions=source', '--import', 'tsx', script],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, DATABASE_URL: databaseUrl, BENCH_DEVICES: String(devices) },
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<BenchHubReady>((resolve, reject) => {
    child.once('message', (m) => resolve(m as BenchHubReady));
    child.once('exit', (code) => reject(new Error(`bench hub exited with ${code}`)));
  });
  return {
    ...ready,
    stats: () =>
      new Promise((resolve) => {
        const onMessage = (m: { type: string }) => {
          if (m.type !== 'stats') return;
          child.off('message', onMessage);
          resolve(m as never);
        };
        child.on('message', onMessage);
        child.send({ type: 'stats' });
      }),
    close: async () => {
      child.send({ type: 'close' });
      await exited;
    },
  };
}

/** Opens a WebSocket with a bearer token and resolves once the hub's `welcome` arrived. */
export function openSocket(url: string, token: string, topics?: string): Promise<WebSocket> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (topics) headers.topics = topics;
  // The hub's frames are trusted here; skipping UTF-8 validation keeps the load generator off the critical path.
  const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers, skipUTF8Validation: true });
  return new Promise((resolve, reject) => {
    socket.once('message', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentiles of a sample, which is sorted in place. */
export function percentiles(sample: Float64Array, ps: readonly number[]): number[] {
  if (sample.length === 0) return ps.map(() => Number.NaN);
  sample.sort();
  return ps.map(
    (p) => sample[Math.min(sample.length - 1, Math.max(0, Math.ceil((p / 100) * sample.length) - 1))]!,
  );
}
