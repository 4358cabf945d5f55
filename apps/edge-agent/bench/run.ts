/**
 * Agent benchmarks; plain figures on stdout. The hub runs in this process on one CPU, the agent as a
 * child on the other (`taskset`). `run.ts [append] [footprint] [drain]` picks some; all by default.
 */
import { benchAgentFootprint } from './agent-footprint.js';
import { benchBufferAppend } from './buffer-append.js';
import { benchDrain } from './drain.js';
import { buildAgent, HUB_CPU, pinSelf, unitNodeOptions } from './support.js';

const benches: Record<string, () => Promise<void>> = {
  append: () => benchBufferAppend(),
  footprint: () => benchAgentFootprint(),
  drain: () => benchDrain(),
};

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`usage: run.ts [${Object.keys(benches).join('] [')}] [--help]
Agent benchmarks (all by default): buffer append throughput, agent RSS and CPU at 100 readings/s,
time to drain 1,000,000 buffered readings into a hub on PostgreSQL. Figures go to stdout.`);
  process.exit(0);
}

pinSelf(HUB_CPU);
buildAgent();
console.log(
  `agent: built JavaScript, NODE_OPTIONS="${unitNodeOptions()}" (from the systemd unit), pinned to CPU 0; hub on CPU 1`,
);
const chosen = process.argv.slice(2);
for (const name of chosen.length > 0 ? chosen : Object.keys(benches)) {
  const bench = benches[name];
  if (!bench) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(benches).join(', ')}`);
  await bench();
}
process.exit(0);
