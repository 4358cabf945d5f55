/**
 * What the embedded database costs a hub process in memory, as an operator sees it in `top`: creating
 * a new database (the first start) must leave nothing behind in the hub that a restart on the same
 * directory would not have. A real `edgewire-hub serve` process on a fresh data directory.
 */
import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { type HubProcess, spawnHub } from './hub-process.js';
import { tempDirs } from './processes.js';

const dirs = tempDirs('edgewire-memory-');
let hub: HubProcess | undefined;
afterEach(async () => {
  await hub?.kill('SIGKILL');
  hub = undefined;
  dirs.cleanup();
});

const rssMiB = (pid: number) =>
  Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/**
 * Resident memory of a hub in MiB once it has settled: started, then idle until three seconds of samples
 * stay within 2 MiB (V8 collects its start-up garbage when allocation stops, within seconds).
 */
async function settledRss(dataDir: string): Promise<number> {
  hub = await spawnHub({ EDGEWIRE_DATA_DIR: dataDir });
  const pid = hub.child.pid!;
  const samples: number[] = [];
  while (samples.length < 6 || Math.max(...samples) - Math.min(...samples) > 2) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    samples.push(rssMiB(pid));
    if (samples.length > 6) samples.shift();
  }
  expect(await hub.kill('SIGTERM')).toBe(0);
  hub = undefined;
  return samples.at(-1)!;
}

// Two hub starts, the first of which creates PostgreSQL's files: tens of seconds on a loaded CI core.
it('keeps no memory from creating the embedded database', { timeout: 180_000 }, async () => {
  const dataDir = dirs.make();
  const firstStart = await settledRss(dataDir);
  const restart = await settledRss(dataDir);
  // Creating it in the hub's own process (even on a thread that ends) kept ~60 MiB for good; the rest of
  // the two starts differ by a few MiB of garbage not yet collected.
  expect(firstStart).toBeLessThan(restart + 25);
});
