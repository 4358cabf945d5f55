/**
 * Recovery of missed messages: a device publishes at a fixed rate through a hub on Redis (history in
 * Redis Streams); a subscriber of its telemetry goes away for a while, comes back with `since`, and must
 * get every message it missed, in order, with no gap or duplicate. Prints how many it got and how long
 * the replay took. The hub runs on CPU 0; this generator and a private Redis on CPU 1. The device sends
 * the readings due every 10 ms (catching up when the timer fires late); the rate it reached and the
 * generator's CPU are printed, so a generator that could not keep up is seen as such.
 *
 *   node --conditions=source --import tsx bench/recovery.ts [--rate 5000] [--away 5]
 */
import { parseArgs } from 'node:util';
import type WebSocket from 'ws';
import {
  fmt,
  generatorCpuSeconds,
  openSocket,
  paced,
  pinGenerator,
  sleep,
  spawnBrokerHub,
} from './broker-support.js';
import { createBenchDatabase, startBenchRedis } from './cluster-support.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    away: { type: 'string', default: '5' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: bench/recovery.ts [--rate 5000 messages/s] [--away 5 seconds]');
  process.exit(0);
}
pinGenerator();
const rate = Number(args.rate);
const awayMs = Number(args.away) * 1000;

interface Msg {
  type: string;
  payload?: { value: number };
  pos?: { epoch: string; offset: number };
  recovered?: boolean;
}

const redis = await startBenchRedis();
const database = await createBenchDatabase();
const hub = await spawnBrokerHub({
  devices: 1,
  env: {
    BENCH_DATABASE_URL: database.url,
    BENCH_REDIS_URL: redis.url,
    BENCH_HISTORY_SIZE: String(Math.ceil((rate * awayMs) / 1000) * 2),
  },
});
const sockets: WebSocket[] = [];
try {
  const device = hub.devices[0]!;
  const filter = `devices/${device.id}/telemetry/#`;
  const pi = await openSocket(`${hub.url}/ws/device/${device.id}`, device.token);
  pi.on('message', () => {});
  sockets.push(pi);
  let seq = 0;
  let value = 0;
  const sendingSince = performance.now();
  const cpuBefore = generatorCpuSeconds();
  const generator = paced(
    rate,
    (due) => {
      const ts = Date.now();
      const readings = Array.from({ length: due }, () => ({ metric: 'n', value: ++value, ts }));
      pi.send(JSON.stringify({ type: 'telemetry', seq: ++seq, readings }));
      return due;
    },
    { maxBatch: 5000 },
  );

  let last: Msg | undefined;
  const first = await openSocket(`${hub.url}/ws`, hub.readerToken, filter);
  first.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString()) as Msg;
    if (frame.type === 'msg') last = frame;
  });
  await sleep(1000);
  first.terminate();
  const leftAt = last!;
  await sleep(awayMs);
  generator.stop();
  const sendingFor = (performance.now() - sendingSince) / 1000;
  const generatorCpu = (generatorCpuSeconds() - cpuBefore) / sendingFor;
  await sleep(200);
  const expected = value - leftAt.payload!.value;

  const back = await openSocket(`${hub.url}/ws`, hub.readerToken);
  sockets.push(back);
  const got: number[] = [];
  let recovered: boolean | undefined;
  const started = process.hrtime.bigint();
  const done = new Promise<number>((resolve) => {
    back.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as Msg;
      if (frame.type === 'ack') recovered = frame.recovered;
      if (frame.type !== 'msg') return;
      got.push(frame.payload!.value);
      if (got.length === expected) resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
  back.send(JSON.stringify({ type: 'sub', filters: [filter], since: { [filter]: leftAt.pos } }));
  const replayMs = await Promise.race([done, sleep(30_000).then(() => Number.NaN)]);
  const contiguous = got.every((v, i) => v === leftAt.payload!.value + 1 + i);
  console.log(
    `offered ${fmt(rate)} msgs/s, sent ${fmt(value / sendingFor)} msgs/s (generator CPU ${fmt(generatorCpu * 100)} %)`,
  );
  console.log(
    `away ${args.away} s at ${fmt(rate)} msgs/s: missed ${fmt(expected)}, recovered=${recovered}, replayed ${fmt(got.length)} ` +
      `${contiguous ? 'in order, no gap, no duplicate' : 'WITH GAPS OR DUPLICATES'}, replay took ${fmt(replayMs, 0)} ms ` +
      `(${fmt(got.length / (replayMs / 1000))} msgs/s)`,
  );
} finally {
  for (const socket of sockets) socket.terminate();
  await hub.close();
  await redis.stop();
  await database.drop();
}
