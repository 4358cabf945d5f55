/**
 * `pnpm bench`: every hub benchmark, one after the other, each in its own processes (so one run's
 * garbage and sockets cannot disturb the next). Any one of them also runs alone; each has --help.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Broker benchmarks, then the storage ones (listed here by their owners). */
const BENCHMARKS = [
  'fanout.ts',
  'peak.ts',
  'memory.ts',
  'handshakes.ts',
  'ingest.ts',
  'ingest-latency.ts',
  'operators.ts',
];

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`usage: run.ts [--help]
Runs every hub benchmark in turn, each in its own processes, printing figures:
  ${BENCHMARKS.join(', ')}
Run one alone (each takes --help): node --conditions=source --import tsx bench/<name> --help`);
  process.exit(0);
}

let failed = false;
for (const name of BENCHMARKS) {
  const script = fileURLToPath(new URL(`./${name}`, import.meta.url));
  if (!existsSync(script)) continue;
  console.log(`\n== ${name} ==`);
  const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    console.log(`${name} failed (exit ${result.status ?? result.signal})`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
