/**
 * A fleet behind one address (a carrier NAT, a load balancer) after a hub restart: N devices, all
 * from 127.0.0.1, connect to a hub on an embedded database; the hub is stopped (SIGTERM: 1001 to every
 * device) and started again on the same port and data directory (cold token cache); the figure is how
 * long until every device is connected again, with how many handshakes the hub refused (429) meanwhile.
 * Goal: 5,000 devices back within 30 s of the restart. Hub on CPU 0, devices on CPU 1. With
 * `--database-url` the hub uses that (empty) PostgreSQL database instead of the embedded one.
 * Besides the wall-clock figure (noisy on a shared machine) it prints load-independent ones: the new
 * hub's CPU time per admitted handshake, and the generator's own CPU use (near 100 % of its core: the
 * generator, not the hub, set the pace).
 *
 *   node --conditions=source --import tsx bench/fleet-reconnect.ts [--devices 5000] [--database-url postgres://…] [--cli <cli.ts>]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, pinGenerator, sleep } from './broker-support.js';
import { FleetAgent, type FleetCounters } from './fleet-agent.js';
import { addDevices, BULK_API, DEFAULT_CLI, serve } from './serve-process.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '5000' },
    cli: { type: 'string', default: DEFAULT_CLI },
    'database-url': { type: 'string' },
    'timeout-sec': { type: 'string', default: '180' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: bench/fleet-reconnect.ts [--devices 5000] [--database-url <empty PostgreSQL database>] [--cli <cli.ts>] [--timeout-sec 180]',
  );
  process.exit(0);
}
const devices = Number(args.devices);
const timeoutMs = Number(args['timeout-sec']) * 1000;

pinGenerator();
const dataDir = mkdtempSync(join(tmpdir(), 'edgewire-fleet-'));
const env: Record<string, string> = {
  ...BULK_API,
  ...(args['database-url'] ? { DATABASE_URL: args['database-url'] } : {}),
};
const counters: FleetCounters = { connected: 0, attempts: 0, refused: 0, failed: 0, reasons: new Map() };

/** Waits until every device is connected; the elapsed ms, or undefined at the timeout. */
async function allConnected(since: number): Promise<number | undefined> {
  while (counters.connected < devices) {
    if (performance.now() - since > timeoutMs) return undefined;
    await sleep(20);
  }
  return performance.now() - since;
}

let hub = await serve({ dataDir, cli: args.cli, env });
try {
  console.log(`registering ${devices} devices…`);
  const tokens = await addDevices(hub, devices);
  const wsBase = hub.url.replace(/^http/, 'ws');
  const fleet = tokens.map((token, i) => new FleetAgent(`${wsBase}/ws/device/bench-${i}`, token, counters));
  const firstStart = performance.now();
  for (const agent of fleet) agent.start();
  const first = await allConnected(firstStart);
  console.log(`storage: ${args['database-url'] ? 'PostgreSQL' : 'embedded PGlite'}`);
  console.log(
    `first connect: ${first === undefined ? `only ${counters.connected}` : `all ${devices} in ${fmt(first / 1000, 1)} s`}, ${counters.refused} refused (429), ${counters.failed} other failures`,
  );
  if (counters.reasons.size > 0) console.log('other failures:', Object.fromEntries(counters.reasons));
  for (const agent of fleet) agent.settle();
  Object.assign(counters, { attempts: 0, refused: 0, failed: 0, reasons: new Map() });

  const restartStart = performance.now();
  const generatorBefore = process.cpuUsage();
  await hub.stop();
  const stoppedAt = performance.now();
  hub = await serve({ dataDir, cli: args.cli, env, port: hub.port });
  const listeningAt = performance.now();
  const hubCpuAtListen = hub.cpuMs();
  const back = await allConnected(restartStart);
  const hubCpu = hub.cpuMs() - hubCpuAtListen;
  const generator = process.cpuUsage(generatorBefore);
  const backAt = performance.now();
  console.log(
    'devices | stop (s) | start (s) | all reconnected after restart began (s) | handshakes | refused (429) | other failures',
  );
  console.log(
    [
      devices,
      fmt((stoppedAt - restartStart) / 1000, 1),
      fmt((listeningAt - stoppedAt) / 1000, 1),
      back === undefined
        ? `NOT ALL: ${counters.connected} after ${args['timeout-sec']} s`
        : fmt(back / 1000, 1),
      counters.attempts,
      counters.refused,
      counters.failed,
    ].join(' | '),
  );
  if (counters.reasons.size > 0) console.log('other failures:', Object.fromEntries(counters.reasons));
  const sinceListening = (backAt - listeningAt) / 1000;
  const generatorCpu = (generator.user + generator.system) / 1000;
  console.log(
    `hub CPU from listening to all back: ${fmt(hubCpu / 1000, 2)} s in ${fmt(sinceListening, 1)} s (${fmt((100 * hubCpu) / 1000 / sinceListening, 0)} % of a core), ${fmt((1000 * hubCpu) / counters.connected, 0)} µs per admitted handshake`,
  );
  console.log(
    `generator CPU during the restart: ${fmt(generatorCpu / 1000, 2)} s in ${fmt((backAt - restartStart) / 1000, 1)} s (${fmt((100 * generatorCpu) / (backAt - restartStart), 0)} % of a core); load average ${loadavg()
      .map((l) => fmt(l, 1))
      .join(' ')}`,
  );
  for (const agent of fleet) agent.stop();
  if (back === undefined || back > 30_000) process.exitCode = 1;
} finally {
  await hub.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
