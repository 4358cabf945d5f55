/**
 * Peak deliveries/s with the fan-out topology (10 devices -> 100 subscribers of
 * `devices/+/telemetry/#`): raises the offered rate step by step and reports the highest delivery
 * rate reached without loss. The hub runs on CPU 0, this load generator on CPU 1.
 *
 *   node --conditions=source --import tsx bench/peak.ts [--rates 3000,5000,8000,12000,16000] [--seconds 4]
 */
import { parseArgs } from 'node:util';
import { fmt, openSocket, pinGenerator, spawnBrokerHub, subscribe } from './broker-support.js';
import { runFanout } from './fanout-run.js';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '3000,5000,8000,12000,16000' },
    seconds: { type: 'string', default: '4' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: bench/peak.ts [--rates 3000,5000,8000,12000,16000 readings/s] [--seconds 4]');
  process.exit(0);
}

pinGenerator();
const hub = await spawnBrokerHub({ devices: 10 });
const devices = await Promise.all(
  hub.devices.map((d) => openSocket(`${hub.url}/ws/device/${d.id}`, d.token)),
);
const subscribers = await Promise.all(Array.from({ length: 100 }, () => subscribe(hub)));
const seq = { next: 1 };
console.log('peak deliveries: 10 devices -> 100 subscribers');
console.log('offered readings/s | deliveries/s | loss % | p99 ms | hub CPU load | generator CPU load');
let peak = 0;
for (const rate of args.rates.split(',').map(Number)) {
  const r = await runFanout(hub, devices, subscribers, { rate, seconds: Number(args.seconds), seq });
  console.log(
    [
      fmt(rate),
      fmt(r.deliveriesPerSec),
      fmt(r.lossPercent, 2),
      fmt(r.p99, 2),
      fmt(r.hubCpuLoad, 2),
      fmt(r.generatorCpuLoad, 2),
    ].join(' | '),
  );
  if (r.lossPercent > 0.1) break;
  peak = Math.max(peak, r.deliveriesPerSec);
}
console.log(`peak deliveries/s without loss: ${fmt(peak)}`);
for (const socket of devices) socket.terminate();
for (const subscriber of subscribers) subscriber.close();
await hub.close();
