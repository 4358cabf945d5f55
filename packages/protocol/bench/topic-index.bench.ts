/**
 * Topic lookups per second and heap bytes per filter for the subscription index, at 10k and 100k
 * subscribed filters shaped like a real deployment: exact telemetry topics, per-device `+` metrics,
 * per-device `#`, and fleet-wide wildcards, with several subscribers per filter.
 *
 *   pnpm --filter @edgewire/protocol bench            (or: node --expose-gc ... bench/topic-index.bench.ts)
 *   --filters 10000,100000  --seconds 2
 */
import { parseArgs } from 'node:util';
import { SubscriptionIndex } from '../src/subscription-index.js';

const { values: args } = parseArgs({
  options: {
    filters: { type: 'string', default: '10000,100000' },
    seconds: { type: 'string', default: '2' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: topic-index.bench.ts [--filters 10000,100000] [--seconds 2]\nPrints lookups/s and heap bytes per filter.',
  );
  process.exit(0);
}

const METRICS = ['temp', 'humidity', 'pressure', 'power', 'energy', 'co2', 'voltage', 'current'];
const SUBSCRIBERS_PER_FILTER = 3;

/** Deterministic PRNG so that runs are comparable. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Filter number `i`: every one distinct, in the proportions a fleet's dashboards and rules produce. */
function filterFor(i: number, devices: number): string {
  const device = `pi-${i % devices}`;
  const metric = `${METRICS[i % METRICS.length]}-${i}`;
  switch (i % 10) {
    case 6:
    case 7:
      return `devices/+/telemetry/${metric}`;
    case 8:
      return `devices/pi-${i}/#`;
    case 9:
      return `sites/site-${i}/+/telemetry/#`;
    default:
      return `devices/${device}/telemetry/${metric}`;
  }
}

function heapUsed(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

function run(filterCount: number, seconds: number): void {
  const devices = Math.max(10, Math.floor(filterCount / 10));
  const filters = Array.from({ length: filterCount }, (_, i) => filterFor(i, devices));
  const subscribers = Array.from({ length: 1000 }, (_, i) => ({ id: i }));
  const before = heapUsed();
  const index = new SubscriptionIndex<{ id: number }>();
  for (let i = 0; i < filters.length; i++) {
    for (let k = 0; k < SUBSCRIBERS_PER_FILTER; k++)
      index.add(filters[i]!, subscribers[(i * 7 + k) % subscribers.length]!);
  }
  const after = heapUsed();

  // Half the lookups hit an exact subscription, half a random device's metric (caught by `+`/`#` or by nobody).
  const random = prng(42);
  const exact = filters.filter((f) => !f.includes('+') && !f.includes('#'));
  const topics = Array.from({ length: 4096 }, () => {
    if (random() < 0.5) return exact[Math.floor(random() * exact.length)]!;
    const i = Math.floor(random() * filterCount);
    return `devices/pi-${i % devices}/telemetry/${METRICS[i % METRICS.length]}-${i}`;
  });

  let lookups = 0;
  let delivered = 0;
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 1024; i++) delivered += index.match(topics[(lookups + i) & 4095]!).size;
    lookups += 1024;
  }
  const rate = lookups / seconds;
  const bytesPerFilter = globalThis.gc ? Math.round((after - before) / filterCount) : Number.NaN;
  console.log(
    `filters=${filterCount.toLocaleString('en')} distinct=${new Set(filters).size.toLocaleString('en')} subscriptions=${index.size.toLocaleString('en')} ` +
      `lookups/s=${Math.round(rate).toLocaleString('en')} avg-matches=${(delivered / lookups).toFixed(2)} ` +
      `heap-bytes/filter=${Number.isNaN(bytesPerFilter) ? 'n/a (run with --expose-gc)' : bytesPerFilter}`,
  );
}

for (const n of args.filters.split(',').map(Number)) run(n, Number(args.seconds));
