/**
 * Abuse resistance, as one attacker on the same network would probe it (each attack against a fresh
 * hub with every limit at its default; the hub runs on CPU 0, this load generator on CPU 1):
 *
 *   subs        one read-only connection subscribes to N long 30-level filters: hub RSS growth
 *   churn       one connection alternates sub/unsub frames: how many the hub accepts
 *   rest        concurrent REST history requests with random bearer tokens: req/s, share of 429s,
 *               and the live path's p99 (device telemetry -> subscriber) before and during the flood
 *   invalid     one client sends one-byte frames, reconnecting whenever closed: hub log bytes/s
 *   handshakes  concurrent handshakes from one address past its rate limit (5/s here): hub log bytes/s
 *
 *   node --conditions=source --import tsx bench/abuse.ts [--only subs,rest] [--seconds 5]
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { AbuseHubReady, AbuseHubUsage } from './abuse-hub.js';
import { fmt, HUB_CPU, LatencyHistogram, pinGenerator } from './broker-support.js';
import { type HubProcess, openSocket, sleep, spawnHubProcess } from './hub-process.js';

const ATTACKS = ['subs', 'churn', 'rest', 'invalid', 'handshakes'] as const;
type Attack = (typeof ATTACKS)[number];

const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: ATTACKS.join(',') },
    seconds: { type: 'string', default: '5' },
    filters: { type: 'string', default: '90000' },
    'churn-frames': { type: 'string', default: '200000' },
    concurrency: { type: 'string', default: '50' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: bench/abuse.ts [--only ${ATTACKS.join(',')}] [--seconds 5] [--filters 90000]
                     [--churn-frames 200000] [--concurrency 50]
Runs each attack against a fresh hub (defaults for every limit) and prints what it cost the hub:
  subs        RSS growth for --filters long 30-level filters attempted from one read-only connection
  churn       sub/unsub frames accepted out of --churn-frames sent back to back
  rest        --concurrency workers sending history requests with random tokens for --seconds:
              req/s, share of 429s, live-path p99 before and during the flood
  invalid     log bytes/s while one client sends one-byte frames for --seconds (reconnecting)
  handshakes  log bytes/s while 32 workers handshake as fast as they can for --seconds
              (EDGEWIRE_HANDSHAKE_RATE=5, so that nearly all are refused with 429)`);
  process.exit(0);
}
const only = new Set(args.only.split(',').map((a) => a.trim()));
for (const name of only) {
  if (!ATTACKS.includes(name as Attack)) throw new Error(`--only: unknown attack ${name}`);
}
const SECONDS = Number(args.seconds);
const MIB = 2 ** 20;

type AbuseHub = HubProcess<AbuseHubReady> & { usage(gc?: boolean): Promise<AbuseHubUsage> };

async function withHub(
  run: (hub: AbuseHub) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const hub = await spawnHubProcess<AbuseHubReady>({
    script: 'abuse-hub.ts',
    cpu: HUB_CPU,
    nodeArgs: ['--expose-gc'],
    env,
  });
  const abuseHub: AbuseHub = { ...hub, usage: (gc = false) => hub.request('usage', { gc }) };
  try {
    await run(abuseHub);
  } finally {
    await hub.close();
  }
}

const wsUrl = (hub: AbuseHub, path: string) => `${hub.ready.url.replace(/^http/, 'ws')}${path}`;

/** A sample's value from the hub's /metrics (0 when absent), e.g. `edgewire_frames_out_total{type="ack"}`. */
async function metric(hub: AbuseHub, sample: string): Promise<number> {
  const text = await (await fetch(`${hub.ready.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/** Frames a connection received, by type (errors by code), and how it ended. */
class FrameTally {
  readonly counts = new Map<string, number>();
  answered = 0;
  closeCode: number | undefined;
  readonly closed: Promise<void>;

  constructor(socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; code?: string };
      const key = frame.type === 'error' ? `error:${frame.code}` : frame.type;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      if (frame.type === 'ack' || frame.type === 'error') this.answered++;
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code) => {
        this.closeCode = code;
        resolve();
      }),
    );
  }

  /** Resolves once `count` frames were answered or the connection closed (or after `timeoutMs`). */
  async answeredOrClosed(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.answered < count && this.closeCode === undefined && Date.now() < deadline) await sleep(20);
  }

  describe(): string {
    const parts = [...this.counts].map(([key, n]) => `${key} ${fmt(n)}`);
    return `${parts.join(', ')}; ${this.closeCode === undefined ? 'still open' : `closed ${this.closeCode}`}`;
  }
}

/** Sends `frames` back to back, pausing while more than 1 MiB waits in the socket. */
async function pump(socket: WebSocket, frames: Iterable<string>): Promise<number> {
  let sent = 0;
  for (const frame of frames) {
    if (socket.readyState !== WebSocket.OPEN) break;
    socket.send(frame);
    sent++;
    while (socket.bufferedAmount > MIB && socket.readyState === WebSocket.OPEN) await sleep(1);
  }
  return sent;
}

/** Sends `frames` on one read-everything connection and waits for their answers (or the close). */
async function floodOneConnection(hub: AbuseHub, frames: Iterable<string>) {
  const socket = await openSocket(hub.ready.url.concat('/ws'), hub.ready.readerToken);
  const tally = new FrameTally(socket);
  const start = performance.now();
  const sent = await pump(socket, frames);
  await tally.answeredOrClosed(sent, 120_000);
  return { socket, tally, sent, seconds: (performance.now() - start) / 1000 };
}

async function subscriptionFlood(hub: AbuseHub): Promise<void> {
  const FILTERS_PER_FRAME = 60;
  const frameCount = Math.ceil(Number(args.filters) / FILTERS_PER_FRAME);
  // Every filter distinct from its first level on: nothing is shared in the index (the worst case).
  const filter = (frame: number, k: number) =>
    Array.from({ length: 30 }, (_, level) => `${frame}-${k}-${level}-`.padEnd(30, 'x')).join('/');
  function* frames() {
    for (let i = 0; i < frameCount; i++) {
      const filters = Array.from({ length: FILTERS_PER_FRAME }, (_, k) => filter(i, k));
      yield JSON.stringify({ type: 'sub', id: i, filters });
    }
  }
  const before = await hub.usage(true);
  const { socket, tally, sent, seconds } = await floodOneConnection(hub, frames());
  const after = await hub.usage(true);
  const accepted = (tally.counts.get('ack') ?? 0) * FILTERS_PER_FRAME;
  const growth = after.rssBytes - before.rssBytes;
  console.log(
    `subs: ${fmt(sent * FILTERS_PER_FRAME)} filters (${fmt(sent)} frames) attempted in ${fmt(seconds, 1)} s, ` +
      `${fmt(accepted)} accepted (${tally.describe()})`,
  );
  console.log(
    `subs: hub RSS ${fmt(before.rssBytes / MIB)} -> ${fmt(after.rssBytes / MIB)} MiB after GC ` +
      `(+${fmt(growth / MIB)} MiB, ${accepted > 0 ? fmt(growth / accepted / 1024, 1) : '-'} KiB per accepted filter); ` +
      `JS heap +${fmt((after.heapUsedBytes - before.heapUsedBytes) / MIB, 1)} MiB`,
  );
  socket.terminate();
}

async function subscriptionChurn(hub: AbuseHub): Promise<void> {
  const total = Number(args['churn-frames']);
  function* frames() {
    for (let i = 0; i < total; i++) {
      yield JSON.stringify({ type: i % 2 === 0 ? 'sub' : 'unsub', filters: ['churn/a/b'] });
    }
  }
  const { socket, tally, sent, seconds } = await floodOneConnection(hub, frames());
  // Counted by the hub: a client that floods may lose the answers when the hub cuts it off.
  const acks = await metric(hub, 'edgewire_frames_out_total{type="ack"}');
  const limited = await metric(hub, 'edgewire_errors_total{code="rate_limited"}');
  console.log(
    `churn: ${fmt(sent)} sub/unsub frames sent in ${fmt(seconds, 1)} s: hub acked ${fmt(acks)}, ` +
      `answered rate_limited ${fmt(limited)}; client saw ${tally.describe()}`,
  );
  socket.terminate();
}

/** A device publishing a reading every 10 ms and a subscriber timing its arrival. */
async function liveProbe(hub: AbuseHub) {
  const { device, readerToken } = hub.ready;
  const subscriber = await openSocket(
    hub.ready.url.concat('/ws'),
    readerToken,
    `devices/${device.id}/telemetry/#`,
  );
  let histogram = new LatencyHistogram();
  subscriber.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; payload?: { value: number } };
    if (frame.type === 'msg' && frame.payload) histogram.record(performance.now() - frame.payload.value);
  });
  const agent = await openSocket(hub.ready.url.concat(`/ws/device/${device.id}`), device.token);
  let seq = 0;
  const timer = setInterval(() => {
    const reading = { metric: 'probe', value: performance.now(), ts: Date.now() };
    agent.send(JSON.stringify({ type: 'telemetry', seq: seq++, readings: [reading] }));
  }, 10);
  return {
    /** The latencies since the last call. */
    take(): LatencyHistogram {
      const taken = histogram;
      histogram = new LatencyHistogram();
      return taken;
    },
    stop() {
      clearInterval(timer);
      agent.terminate();
      subscriber.terminate();
    },
  };
}

const describeLatency = (h: LatencyHistogram) =>
  `p50 ${fmt(h.percentile(50), 2)} ms, p99 ${fmt(h.percentile(99), 2)} ms, max ${fmt(h.max, 1)} ms (${fmt(h.count)} readings)`;

async function restFlood(hub: AbuseHub): Promise<void> {
  const probe = await liveProbe(hub);
  await sleep(2000);
  const baseline = probe.take();
  const concurrency = Number(args.concurrency);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const { hostname, port } = new URL(hub.ready.url);
  const path = `/api/devices/${hub.ready.device.id}/readings`;
  const statuses = new Map<number, number>();
  const cpuBefore = (await hub.usage()).cpuSeconds;
  const start = performance.now();
  const durationMs = SECONDS * 1000;
  const get = () =>
    new Promise<number>((resolve) => {
      const token = `ewt_${randomBytes(32).toString('base64url')}`;
      const req = request(
        { agent, host: hostname, port, path, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      req.end();
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() - start < durationMs) {
        const status = await get();
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const during = probe.take();
  const hubLoad = ((await hub.usage()).cpuSeconds - cpuBefore) / seconds;
  probe.stop();
  agent.destroy();
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  const shares = [...statuses]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status || 'error'} ${fmt((100 * n) / total, 1)}%`)
    .join(', ');
  console.log(
    `rest: ${fmt(total / seconds)} req/s with random tokens (${concurrency} concurrent, ${fmt(seconds, 1)} s): ${shares}; hub CPU load ${fmt(hubLoad, 2)}`,
  );
  console.log(`rest: live path before the flood: ${describeLatency(baseline)}`);
  console.log(`rest: live path during the flood: ${describeLatency(during)}`);
}

async function invalidFrameFlood(hub: AbuseHub): Promise<void> {
  const url = wsUrl(hub, '/ws');
  const headers = { authorization: `Bearer ${hub.ready.readerToken}` };
  const before = (await hub.usage()).logBytes;
  const start = performance.now();
  const until = start + SECONDS * 1000;
  let frames = 0;
  let connections = 0;
  let refused = 0;
  while (performance.now() < until) {
    const socket = new WebSocket(url, { headers });
    const opened = await new Promise<boolean>((resolve) => {
      socket.once('open', () => resolve(true));
      socket.once('unexpected-response', (req) => {
        req.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(false));
    });
    if (!opened) {
      refused++;
      await sleep(10);
      continue;
    }
    connections++;
    while (socket.readyState === WebSocket.OPEN && performance.now() < until) {
      for (let i = 0; i < 1000 && socket.readyState === WebSocket.OPEN; i++, frames++) socket.send('x');
      while (socket.bufferedAmount > 256 * 1024 && socket.readyState === WebSocket.OPEN) await sleep(1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.terminate();
  }
  const seconds = (performance.now() - start) / 1000;
  await sleep(500);
  const logged = (await hub.usage()).logBytes - before;
  console.log(
    `invalid: ${fmt(frames)} one-byte frames over ${fmt(connections)} connections (${fmt(refused)} handshakes refused) in ${fmt(seconds, 1)} s: ` +
      `hub log ${fmt(logged / 1024)} KiB, ${fmt(logged / seconds / 1024, 1)} KiB/s`,
  );
}

async function handshakeFlood(hub: AbuseHub): Promise<void> {
  const url = wsUrl(hub, '/ws');
  const headers = { authorization: `Bearer ${hub.ready.readerToken}` };
  const statuses = new Map<number, number>();
  const before = (await hub.usage()).logBytes;
  const start = performance.now();
  const handshake = () =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(url, { headers });
      socket.once('open', () => {
        socket.terminate();
        resolve(101);
      });
      socket.once('unexpected-response', (req, res) => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
      socket.once('error', () => resolve(0));
    });
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() - start < SECONDS * 1000) {
        const status = await handshake();
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await sleep(500);
  const logged = (await hub.usage()).logBytes - before;
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  const byStatus = [...statuses].map(([status, n]) => `${status || 'error'} ${fmt(n)}`).join(', ');
  console.log(
    `handshakes: ${fmt(total / seconds)}/s from one address for ${fmt(seconds, 1)} s (${byStatus}): ` +
      `hub log ${fmt(logged / 1024)} KiB, ${fmt(logged / seconds / 1024, 1)} KiB/s`,
  );
}

const RUNS: Record<Attack, (hub: AbuseHub) => Promise<void>> = {
  subs: subscriptionFlood,
  churn: subscriptionChurn,
  rest: restFlood,
  invalid: invalidFrameFlood,
  handshakes: handshakeFlood,
};

/** Settings per attack: the handshake flood must outrun the per-address rate to be refused at all. */
const HUB_ENV: Partial<Record<Attack, Record<string, string>>> = {
  handshakes: { EDGEWIRE_HANDSHAKE_RATE: '5' },
};

pinGenerator();
for (const attack of ATTACKS) {
  if (only.has(attack)) await withHub(RUNS[attack], HUB_ENV[attack]);
}
