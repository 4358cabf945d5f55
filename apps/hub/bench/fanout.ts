/**
 * Fan-out latency: 10 devices publish telemetry at a fixed total rate to 100 subscribers of
 * `devices/+/telemetry/#`; prints deliveries/s, loss, end-to-end p50/p99 and hub CPU per delivery
 * at each offered rate. The hub runs on CPU 0, this load generator on CPU 1.
 *
 *   node --conditions=source --import tsx bench/fanout.ts [--rates 1000,5000,20000] [--seconds 5]
 */
import { parseArgs } from 'node:util';
import { fmt, openSocket, pinGenerator, spawnBrokerHub, subscribe } from './broker-support.js';
import { runFanout } from './fanout-run.js';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '1000,5000,20000' },
    seconds: { type: 'string', default: '5' },
    devices: { type: 'string', default: '10' },
    subscribers: { type: 'string', default: '100' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: bench/fanout.ts [--rates 1000,5000,20000 readings/s] [--seconds 5] [--devices 10] [--subscribers 100]',
  );
  process.exit(0);
}

pinGenerator();
const hub = await spawnBrokerHub({ devices: Number(args.devices) });
const devices = await Promise.all(
  hub.devices.map((d) => openSocket(`${hub.url}/ws/device/${d.id}`, d.token)),
);
const subscribers = await Promise.all(Array.from({ length: Number(args.subscribers) }, () => subscribe(hub)));
const seq = { next: 1 };
console.log(
  `fan-out: ${devices.length} devices -> ${subscribers.length} subscribers of devices/+/telemetry/#`,
);
console.log(
  'offered readings/s | deliveries/s | loss % | p50 ms | p99 ms | max ms | hub CPU µs/delivery | hub CPU load | generator CPU load',
);
for (const rate of args.rates.split(',').map(Number)) {
  const r = await runFanout(hub, devices, subscribers, { rate, seconds: Number(args.seconds), seq });
  console.log(
    [
      fmt(r.offeredPerSec),
      fmt(r.deliveriesPerSec),
      fmt(r.lossPercent, 2),
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      fmt(r.max, 1),
      fmt(r.hubCpuMicrosPerDelivery, 2),
      fmt(r.hubCpuLoad, 2),
      fmt(r.generatorCpuLoad, 2),
    ].join(' | '),
  );
}
for (const socket of devices) socket.terminate();
for (const subscriber of subscribers) subscriber.close();
await hub.close();
