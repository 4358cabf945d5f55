/** Shared by the ingest benchmarks: the hub in a child process on its own core, and device connections. */
import { spawnHubProcess } from './hub-process.js';
import type { BenchHubReady } from './ingest-hub.js';

export { openSocket, sleep } from './hub-process.js';

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
  const hub = await spawnHubProcess<BenchHubReady>({
    script: 'ingest-hub.ts',
    cpu,
    env: { DATABASE_URL: databaseUrl, BENCH_DEVICES: String(devices) },
  });
  return { ...hub.ready, stats: () => hub.request('stats'), close: () => hub.close() };
}

/** Nearest-rank percentiles of a sample, which is sorted in place. */
export function percentiles(sample: Float64Array, ps: readonly number[]): number[] {
  if (sample.length === 0) return ps.map(() => Number.NaN);
  sample.sort();
  return ps.map(
    (p) => sample[Math.min(sample.length - 1, Math.max(0, Math.ceil((p / 100) * sample.length) - 1))]!,
  );
}
