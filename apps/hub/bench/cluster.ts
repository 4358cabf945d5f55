/**
 * 1 vs 3 hub instances on one Redis, with 0 %, 10 % and 100 % of the devices watched: deliveries/s,
 * end-to-end p99, each hub's CPU per reading, the hubs' CPU per delivery, and what Redis pays (its CPU
 * per delivery, PUBLISH/SPUBLISH and history-script calls per second). Every watcher sits on another hub
 * than its device whenever there are several, so each delivery crosses Redis. Hubs run on CPU 0; this
 * generator and a private Redis on CPU 1.
 *
 * Hub CPU per delivery is all the hubs' CPU over the deliveries: it compares 1 and 3 hubs at 100 %
 * watched, where every reading is delivered once (at 10 % it mostly counts the readings' ingest). The
 * generator offers a fixed rate (catching up when its timer fires late); `gen CPU` near 100 % with
 * readings/s below the offer means the generator, not the hubs, was the limit. A hub's CPU per message
 * falls as its load rises (per-wake-up costs spread over more frames), and three hubs share CPU 0, so
 * `--same-hub` (each watcher on its device's hub: three processes, nothing crossing Redis) tells what
 * of the 3-hub figure is splitting the load and what is crossing Redis.
 *
 *   node --conditions=source --import tsx bench/cluster.ts [--hubs 1,3] [--watched 0,10,100]
 *     [--devices 30] [--rate 3000] [--seconds 5] [--same-hub]
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
    /** Watchers on their device's own hub: the same hubs and load without crossing Redis, for contrast. */
    'same-hub': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    "usage: bench/cluster.ts [--hubs 1,3] [--watched 0,10,100 (% of devices)] [--devices 30] [--rate 3000 readings/s] [--seconds 5] [--same-hub (watchers on their device's hub)]",
  );
  process.exit(0);
}
pinGenerator();
const deviceCount = Number(args.devices);
const rate = Number(args.rate);
const seconds = Number(args.seconds);

const redis = await startBenchRedis();
const database = await createBenchDatabase();
console.log(
  `${deviceCount} devices, ${fmt(rate)} readings/s offered, ${seconds} s per run (hubs on CPU 0, generator and Redis on CPU 1)`,
);
console.log(
  'hubs watched readings/s deliveries/s  p99 ms  hub CPU µs/reading (each)  hub CPU µs/delivery  Redis CPU µs/delivery  Redis publishes/s  history scripts/s  gen CPU',
);

try {
  let run = 0;
  for (const hubCount of args.hubs.split(',').map(Number)) {
    for (const percent of args.watched.split(',').map(Number)) {
      await measure(hubCount, percent, run++);
    }
  }
} finally {
  await redis.stop();
  await database.drop();
}

async function measure(hubCount: number, percent: number, run: number): Promise<void> {
  const perHub = Math.ceil(deviceCount / hubCount);
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
    for (let i = 0; i < deviceCount; i++) {
      const h = i % hubCount;
      const device = hubs[h]!.devices[Math.floor(i / hubCount)]!;
      const socket = await openSocket(`${hubs[h]!.url}/ws/device/${device.id}`, device.token);
      socket.on('message', () => {});
      sockets.push(socket);
      devices.push({ socket, id: device.id, hub: h });
    }
    const histogram = new LatencyHistogram();
    let deliveries = 0;
    const watchedCount = Math.round((deviceCount * percent) / 100);
    for (const device of devices.slice(0, watchedCount)) {
      const hub = hubs[args['same-hub'] ? device.hub : (device.hub + 1) % hubCount]!;
      const watcher = await openSocket(`${hub.url}/ws`, hub.readerToken, `devices/${device.id}/telemetry/#`);
      watcher.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { type: string; payload?: { ts: number } };
        if (frame.type !== 'msg' || !frame.payload) return;
        deliveries++;
        histogram.record(Date.now() - frame.payload.ts);
      });
      sockets.push(watcher);
    }
    await sleep(500);
    // A frame per device every 10 ms, the readings due spread over them (metrics m0…m49 at most).
    let seq = 0;
    const generator = paced(
      rate,
      (due) => {
        const ts = Date.now();
        seq++;
        const perFrame = Math.ceil(due / deviceCount);
        for (const { socket } of devices) {
          const readings = Array.from({ length: perFrame }, (_, k) => ({ metric: `m${k}`, value: seq, ts }));
          socket.send(JSON.stringify({ type: 'telemetry', seq, readings }));
        }
        return perFrame * deviceCount;
      },
      { maxBatch: 50 * deviceCount },
    );
    await sleep(1000);
    const before = {
      hubs: await Promise.all(hubs.map((h) => h.usage())),
      redis: await redis.stats(),
      sent: generator.sent(),
      deliveries,
      generator: generatorCpuSeconds(),
    };
    const started = Date.now();
    await sleep(seconds * 1000);
    const after = {
      hubs: await Promise.all(hubs.map((h) => h.usage())),
      redis: await redis.stats(),
      sent: generator.sent(),
      deliveries,
      generator: generatorCpuSeconds(),
    };
    const elapsed = (Date.now() - started) / 1000;
    generator.stop();
    const readings = after.sent - before.sent;
    const delivered = after.deliveries - before.deliveries;
    const hubCpu = after.hubs.map((usage, i) => usage.cpuSeconds - before.hubs[i]!.cpuSeconds);
    const totalHubCpu = hubCpu.reduce((a, b) => a + b, 0);
    const redisCpu = after.redis.cpuSeconds - before.redis.cpuSeconds;
    const perReading = hubCpu.map((cpu) => fmt((cpu * 1e6) / (readings / hubCount) || 0, 1)).join('/');
    console.log(
      [
        String(hubCount).padStart(4),
        `${percent} %`.padStart(7),
        fmt(readings / elapsed).padStart(10),
        fmt(delivered / elapsed).padStart(12),
        fmt(histogram.percentile(99), 1).padStart(7),
        perReading.padStart(26),
        (delivered ? fmt((totalHubCpu * 1e6) / delivered, 1) : '—').padStart(20),
        (delivered ? fmt((redisCpu * 1e6) / delivered, 1) : '—').padStart(21),
        fmt((after.redis.publishes - before.redis.publishes) / elapsed).padStart(18),
        fmt((after.redis.scripts - before.redis.scripts) / elapsed).padStart(18),
        `${fmt(((after.generator - before.generator) / elapsed) * 100)} %`.padStart(8),
      ].join(' '),
    );
  } finally {
    for (const socket of sockets) socket.terminate();
    for (const hub of hubs) await hub.close();
  }
}
