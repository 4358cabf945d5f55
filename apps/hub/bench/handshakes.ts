/**
 * Handshakes per second, token check included: concurrent clients connect to `/ws` with a bearer
 * token, wait for `welcome`, disconnect, repeat. Run with the token cache (the default) and without
 * it (a database lookup per handshake). The hub runs on CPU 0, this load generator on CPU 1.
 *
 *   node --conditions=source --import tsx bench/handshakes.ts [--seconds 5] [--concurrency 32]
 */
import { parseArgs } from 'node:util';
import { fmt, openSocket, pinGenerator, spawnBrokerHub } from './broker-support.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: bench/handshakes.ts [--seconds 5] [--concurrency 32]');
  process.exit(0);
}

pinGenerator();
console.log('handshakes/s (TCP connect, upgrade, token check, welcome), then disconnect');
console.log('token cache | handshakes/s | hub CPU load | generator CPU load');
for (const tokenCacheMs of [5000, 0]) {
  const hub = await spawnBrokerHub({ devices: 0, tokenCacheMs });
  const durationMs = Number(args.seconds) * 1000;
  const cpuBefore = (await hub.usage()).cpuSeconds;
  const generatorBefore = process.cpuUsage();
  const start = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: Number(args.concurrency) }, async () => {
      while (performance.now() - start < durationMs) {
        const socket = await openSocket(`${hub.url}/ws`, hub.readerToken);
        socket.terminate();
        done++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const hubLoad = ((await hub.usage()).cpuSeconds - cpuBefore) / seconds;
  const generator = process.cpuUsage(generatorBefore);
  console.log(
    [
      tokenCacheMs > 0 ? `${tokenCacheMs} ms` : 'off',
      fmt(done / seconds),
      fmt(hubLoad, 2),
      fmt((generator.user + generator.system) / 1e6 / seconds, 2),
    ].join(' | '),
  );
  await hub.close();
}
