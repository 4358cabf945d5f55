/**
 * 1 vs 3 hub instances on one Redis, with 0 %, 10 % and 100 % of the devices watched: deliveries/s,
 * end-to-end p99, each hub's CPU per delivery (the issue's goal: within 1.3x of the single instance's),
 * and what Redis pays (its CPU per delivery, PUBLISH/SPUBLISH and history-script calls per second).
 * Every watcher sits on another hub than its device whenever there are several, so each delivery
 * crosses Redis. Hubs run on CPU 0; this generator and a private Redis on CPU 1.
 *
 * Each hub's CPU per delivery is that hub's CPU over the deliveries to its own watchers. With 3 hubs a
 * hub ingests a third of the readings and delivers a third of the messages (those of the devices on
 * the next hub), so the figure holds the same work as the single hub's (ingest, history, delivery) plus
 * what crossing Redis costs both ends. The `goal` lines compare it with the single instance twice: at
 * the same total load (the `1` row), and at the same load per hub (the `1/3` row: one hub with a third
 * of the devices, watchers and rate, so the same wake-ups per second and frames per wake-up as each of
 * the three). A hub's CPU per message falls as its load rises, so the first ratio also counts three
 * processes each paying per-wake-up costs at a third of the load, on one core; the second is what
 * scaling out costs a hub. Compare at 100 % watched, where every reading is delivered once (at 10 % the
 * figure mostly counts the readings' ingest).
 *
 * Breakdown: each hub's CPU per reading it ingested, and its idle CPU (ms per second, measured with
 * every socket open before the readings start: timers, leases, announcements). `--same-hub` (each
 * watcher on its device's hub: three processes, nothing crossing Redis) tells what of the 3-hub figure
 * is splitting the load and what is crossing Redis. The generator offers a fixed rate (catching up when
 * its timer fires late); `gen CPU` near 100 % with readings/s below the offer means the generator, not
 * the hubs, was the limit, and a line flagged with a backlog had hubs starved by other processes.
 * Measuring starts after `--warmup` seconds of load: until V8 has optimised the hot path a hub pays for
 * its interpreter and compiler, and with three hubs each compiles it alone at a third of the rate
 * (warmed up for 1 s, three hubs showed twice the single hub's figure).
 *
 *   node --conditions=source --import tsx bench/cluster.ts [--hubs 1,3] [--watched 0,10,100]
 *     [--devices 30] [--rate 3000] [--seconds 5] [--warmup 5] [--same-hub]
 */
import { parseArgs } from 'node:util';
import type WebSocket from 'ws';
import {
  type BrokerHub,
  fmt,
  generatorCpuSeconds,
  LatencyHistogram,
  openSocket,
  paced,
  pinGenerator,
  sleep,
  spawnBrokerHub,
} from './broker-support.js';
import { createBenchDatabase, startBenchRedis } from './cluster-support.js';

const { values: args } = parseArgs({
  options: {
    hubs: { type: 'string', default: '1,3' },
    watched: { type: 'string', default: '0,10,100' },
    devices: { type: 'string', default: '30' },
    rate: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '5' },
    /** Load before measuring: each hub's hot path must be compiled, which takes longer at a third of the rate. */
    warmup: { type: 'string', default: '5' },
    /** Watchers on their device's own hub: the same hubs and load without crossing Redis, for contrast. */
    'same-hub': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    "usage: bench/cluster.ts [--hubs 1,3] [--watched 0,10,100 (% of devices)] [--devices 30] [--rate 3000 readings/s] [--seconds 5] [--warmup 5] [--same-hub (watchers on their device's hub)]",
  );
  process.exit(0);
}
pinGenerator();
const deviceCount = Number(args.devices);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const warmup = Number(args.warmup);

const redis = await startBenchRedis();
const database = await createBenchDatabase();
console.log(
  `${deviceCount} devices, ${fmt(rate)} readings/s offered, ${seconds} s per run after ${warmup} s of warm-up (hubs on CPU 0, generator and Redis on CPU 1)`,
);
console.log(
  'hubs watched readings/s deliveries/s  p99 ms  hub CPU µs/delivery (each)   mean  hub CPU µs/reading (each)  hub idle CPU ms/s (each)  Redis CPU µs/delivery  Redis publishes/s  history scripts/s  gen CPU',
);

try {
  let run = 0;
  const hubCounts = args.hubs.split(',').map(Number);
  const full = { devices: deviceCount, rate, label: '' };
  for (const percent of args.watched.split(',').map(Number)) {
    /** Mean hub CPU per delivery by hub count, for the goal's comparison. */
    const perDelivery = new Map<number, number | undefined>();
    for (const hubCount of hubCounts) {
      perDelivery.set(
        hubCount,
        await measure(hubCount, percent, run++, { ...full, label: String(hubCount) }),
      );
    }
    const single = perDelivery.get(1);
    if (single === undefined) continue;
    for (const [hubCount, figure] of perDelivery) {
      if (hubCount === 1 || figure === undefined) continue;
      // One hub carrying what each of the N carries (its devices, watchers and rate): the same wake-ups
      // per second and frames per wake-up, so what is left between the two is the cost of the cluster.
      const share = await measure(1, percent, run++, {
        devices: Math.round(deviceCount / hubCount),
        rate: rate / hubCount,
        label: `1/${hubCount}`,
      });
      console.log(
        `goal (${percent} % watched): ${hubCount} hubs' CPU per delivery (${fmt(figure, 1)} µs) is ${fmt(figure / single, 2)}x the single instance's at the same total load (${fmt(single, 1)} µs)` +
          (share === undefined
            ? ''
            : ` and ${fmt(figure / share, 2)}x at the same load per hub (${fmt(share, 1)} µs, row 1/${hubCount})`) +
          '; goal: within 1.3x',
      );
    }
  }
} finally {
  await redis.stop();
  await database.drop();
}

/** Prints one run's line; returns the hubs' mean CPU per delivery, when there were deliveries. */
async function measure(
  hubCount: number,
  percent: number,
  run: number,
  load: { devices: number; rate: number; label: string },
): Promise<number | undefined> {
  const perHub = Math.ceil(load.devices / hubCount);
  const hubs: BrokerHub[] = [];
  // One at a time: the first migrates the shared database.
  for (let h = 0; h < hubCount; h++) {
    hubs.push(
      await spawnBrokerHub({
        devices: perHub,
        env: {
          BENCH_DATABASE_URL: database.url,
          BENCH_REDIS_URL: redis.url,
          BENCH_REDIS_PREFIX: `bench-${run}`,
          BENCH_DEVICE_PREFIX: `r${run}-h${h}-`,
        },
      }),
    );
  }
  const sockets: WebSocket[] = [];
  try {
    const devices: Array<{ socket: WebSocket; id: string; hub: number }> = [];
    for (let i = 0; i < load.devices; i++) {
      const h = i % hubCount;
      const device = hubs[h]!.devices[Math.floor(i / hubCount)]!;
      const socket = await openSocket(`${hubs[h]!.url}/ws/device/${device.id}`, device.token);
      socket.on('message', () => {});
      sockets.push(socket);
      devices.push({ socket, id: device.id, hub: h });
    }
    const histogram = new LatencyHistogram();
    /** Deliveries to each hub's watchers. */
    const delivered = hubs.map(() => 0);
    const watchedCount = Math.round((load.devices * percent) / 100);
    for (const device of devices.slice(0, watchedCount)) {
      const at = args['same-hub'] ? device.hub : (device.hub + 1) % hubCount;
      const hub = hubs[at]!;
      const watcher = await openSocket(`${hub.url}/ws`, hub.readerToken, `devices/${device.id}/telemetry/#`);
      watcher.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { type: string; payload?: { ts: number } };
        if (frame.type !== 'msg' || !frame.payload) return;
        delivered[at]!++;
        histogram.record(Date.now() - frame.payload.ts);
      });
      sockets.push(watcher);
    }
    await sleep(500);
    const idleFrom = await Promise.all(hubs.map((h) => h.usage()));
    const idleStarted = Date.now();
    await sleep(1000);
    const idleTo = await Promise.all(hubs.map((h) => h.usage()));
    const idleMsPerSecond = idleTo.map(
      (usage, i) => ((usage.cpuSeconds - idleFrom[i]!.cpuSeconds) * 1e6) / (Date.now() - idleStarted),
    );
    // A frame per device every 10 ms, the readings due spread over them (metrics m0…m49 at most).
    let seq = 0;
    const generator = paced(
      load.rate,
      (due) => {
        const ts = Date.now();
        seq++;
        const perFrame = Math.ceil(due / load.devices);
        for (const { socket } of devices) {
          const readings = Array.from({ length: perFrame }, (_, k) => ({ metric: `m${k}`, value: seq, ts }));
          socket.send(JSON.stringify({ type: 'telemetry', seq, readings }));
        }
        return perFrame * load.devices;
      },
      { maxBatch: 50 * load.devices },
    );
    await sleep(warmup * 1000);
    const before = {
      hubs: await Promise.all(hubs.map((h) => h.usage())),
      redis: await redis.stats(),
      sent: generator.sent(),
      delivered: [...delivered],
      generator: generatorCpuSeconds(),
    };
    const started = Date.now();
    await sleep(seconds * 1000);
    const after = {
      hubs: await Promise.all(hubs.map((h) => h.usage())),
      redis: await redis.stats(),
      sent: generator.sent(),
      delivered: [...delivered],
      generator: generatorCpuSeconds(),
    };
    const elapsed = (Date.now() - started) / 1000;
    generator.stop();
    // Every reading of a watched device is delivered once: wait for the stragglers, then count what is missing.
    const expected = (generator.sent() * watchedCount) / load.devices;
    const total = () => delivered.reduce((a, b) => a + b, 0);
    for (const deadline = Date.now() + 10_000; total() < expected && Date.now() < deadline; ) await sleep(50);
    const missing = expected - total();
    const readings = after.sent - before.sent;
    const deliveredBy = after.delivered.map((count, i) => count - before.delivered[i]!);
    const deliveries = deliveredBy.reduce((a, b) => a + b, 0);
    const hubCpu = after.hubs.map((usage, i) => usage.cpuSeconds - before.hubs[i]!.cpuSeconds);
    const totalHubCpu = hubCpu.reduce((a, b) => a + b, 0);
    const redisCpu = after.redis.cpuSeconds - before.redis.cpuSeconds;
    const eachPerDelivery = hubCpu.map((cpu, i) =>
      deliveredBy[i] ? (cpu * 1e6) / deliveredBy[i]! : undefined,
    );
    const meanPerDelivery = deliveries ? (totalHubCpu * 1e6) / deliveries : undefined;
    const each = (values: ReadonlyArray<number | undefined>) =>
      values.map((value) => (value === undefined ? '—' : fmt(value, 1))).join('/');
    console.log(
      [
        load.label.padStart(4),
        `${percent} %`.padStart(7),
        fmt(readings / elapsed).padStart(10),
        fmt(deliveries / elapsed).padStart(12),
        fmt(histogram.percentile(99), 1).padStart(7),
        each(eachPerDelivery).padStart(27),
        each([meanPerDelivery]).padStart(6),
        each(hubCpu.map((cpu) => (cpu * 1e6) / (readings / hubCount))).padStart(26),
        each(idleMsPerSecond).padStart(25),
        each([deliveries ? (redisCpu * 1e6) / deliveries : undefined]).padStart(22),
        fmt((after.redis.publishes - before.redis.publishes) / elapsed).padStart(18),
        fmt((after.redis.scripts - before.redis.scripts) / elapsed).padStart(18),
        `${fmt(((after.generator - before.generator) / elapsed) * 100)} %`.padStart(8),
        missing === 0 ? '' : ` ${fmt(missing)} readings not delivered (negative: delivered twice)`,
        // Deliveries of a backlog (hubs starved by other processes) count in a window whose CPU they did not use.
        Math.abs(deliveries - (readings * watchedCount) / load.devices) > 0.05 * deliveries
          ? ' (deliveries ≠ watched readings: a backlog built up or drained, figures unreliable)'
          : '',
      ].join(' '),
    );
    return meanPerDelivery;
  } finally {
    for (const socket of sockets) socket.terminate();
    for (const hub of hubs) await hub.close();
  }
}
