/**
 * How a hub treats many connections from one address (a fleet behind a NAT or a load balancer):
 * `--connections` WebSocket handshakes on `/ws` from 127.0.0.1 with one client token (looked up once,
 * then cached, so the handshake rate rather than the database sets the pace), `--concurrency` at a time,
 * each tried once (no retry) and kept open, counting how many the hub refused with 429. Run against
 * another checkout's CLI (`--cli`) to compare with the code before a change.
 *
 *   node --conditions=source --import tsx bench/one-address.ts [--connections 2000] [--concurrency 50] [--cli <cli.ts>]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { fmt, pinGenerator } from './broker-support.js';
import { addClientToken, DEFAULT_CLI, serve } from './serve-process.js';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '50' },
    cli: { type: 'string', default: DEFAULT_CLI },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: bench/one-address.ts [--connections 2000] [--concurrency 50] [--cli <cli.ts>]');
  process.exit(0);
}
const total = Number(args.connections);

const open: WebSocket[] = [];

/** One handshake: its HTTP outcome (101 when upgraded; the connection stays open). */
function handshake(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    });
    socket.once('open', () => {
      open.push(socket);
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      socket.terminate();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', () => resolve(0));
  });
}

pinGenerator();
const dataDir = mkdtempSync(join(tmpdir(), 'edgewire-one-address-'));
const hub = await serve({ dataDir, cli: args.cli });
try {
  const token = await addClientToken(hub);
  const wsBase = hub.url.replace(/^http/, 'ws');
  const outcomes = new Map<number, number>();
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Number(args.concurrency) }, async () => {
      while (next < total) {
        next++;
        const status = await handshake(`${wsBase}/ws`, token);
        outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  console.log('connections | concurrency | accepted | refused (429) | other | seconds');
  const accepted = outcomes.get(101) ?? 0;
  const refused = outcomes.get(429) ?? 0;
  console.log(
    [total, args.concurrency, accepted, refused, total - accepted - refused, fmt(seconds, 1)].join(' | '),
  );
} finally {
  for (const socket of open) socket.terminate();
  await hub.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
