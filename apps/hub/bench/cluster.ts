/**
 * 1 vs 3 hub instances on one Redis, with 0 %, 10 % and 100 % of the devices watched: deliveries/s,
 * end-to-end p99, each hub's CPU per reading and per delivery, and what Redis pays (its CPU per delivery,
 * PUBLISH/SPUBLISH and history-script calls per second). Every watcher sits on another hub than its
 * device whenever there are several, so each delivery crosses Redis. Hubs run on CPU 0; this generator
 * and a private Redis on CPU 1.
 *
 *   node --conditions=source --import tsx bench/cluster.ts [--hubs 1,3] [--watched 0,10,100]
 *     [--devices 30] [--rate 3000] [--seconds 5]
 */
import { parseArgs } from 'node:util';
import type WebSocket from 'ws';
import {
  type BrokerHub,
  fmt,
  LatencyHistogram,
  openSocket,
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
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: bench/cluster.ts [--hubs 1,3] [--watched 0,10,100 (% of devices)] [--devices 30] [--rate 3000 readings/s] [--seconds 5]',
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
  'hubs watched readings/s deliveries/s  p99 ms  hub CPU µs/reading (each)  hub CPU µs/delivery  Redis CPU µs/delivery  Redis publishes/s  history scripts/s',
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
      const hub = hubs[(device.hub + 1) % hubCount]!;
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
    // Frames every 10 ms per device, readings spread over them.
    const perFrame = Math.max(1, Math.round(rate / deviceCount / 100));
    let seq = 0;
    let sent = 0;
    const tick = setInterval(() => {
      const ts = Date.now();
      seq++;
      for (const { socket } of devices) {
        const readings = Array.from({ length: perFrame }, (_, k) => ({ metric: `m${k}`, value: seq, ts }));
        socket.send(JSON.stringify({ type: 'telemetry', seq, readings }));
        sent += perFrame;
      }
    }, 10);
    await sleep(1000);
    const before = {
      hubs: await Promise.all(hubs.map((h) => h.usage())),
      redis: await redis.stats(),
      sent,
      deliveries,
    };
    const started = Date.now();
    await sleep(seconds * 1000);
    const after = {
      hubs: await Promise.all(hubs.map((h) => h.usage())),
      redis: await redis.stats(),
      sent,
      deliveries,
    };
    const elapsed = (Date.now() - started) / 1000;
    clearInterval(tick);
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
      ].join(' '),
    );
  } finally {
    for (const socket of sockets) socket.terminate();
    for (const hub of hubs) await hub.close();
  }
}
