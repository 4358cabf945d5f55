/**
 * Memory per idle device connection: the hub's RSS (after a full GC) before and after N devices
 * connect, divided by N. The hub runs on CPU 0, this load generator on CPU 1.
 *
 *   node --conditions=source --import tsx bench/memory.ts [--connections 5000]
 */
import { parseArgs } from 'node:util';
import type WebSocket from 'ws';
import { fmt, openSocket, pinGenerator, sleep, spawnBrokerHub } from './broker-support.js';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '5000' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: bench/memory.ts [--connections 5000]');
  process.exit(0);
}
const N = Number(args.connections);
const CONCURRENCY = 100;

pinGenerator();
const hub = await spawnBrokerHub({ devices: N });
await sleep(1000);
const before = await hub.usage(true);
const sockets: WebSocket[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) {
      const device = hub.devices[next++]!;
      sockets.push(await openSocket(`${hub.url}/ws/device/${device.id}`, device.token));
    }
  }),
);
await sleep(2000);
const after = await hub.usage(true);
console.log(`idle device connections: ${fmt(sockets.length)}`);
console.log(`hub RSS: ${fmt(before.rssBytes / 2 ** 20, 1)} MiB -> ${fmt(after.rssBytes / 2 ** 20, 1)} MiB`);
console.log(`RSS per connection: ${fmt((after.rssBytes - before.rssBytes) / sockets.length / 1024, 2)} KiB`);
console.log(
  `JS heap per connection: ${fmt((after.heapUsedBytes - before.heapUsedBytes) / sockets.length / 1024, 2)} KiB`,
);
for (const socket of sockets) socket.terminate();
await hub.close();
