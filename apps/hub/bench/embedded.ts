/**
 * The embedded default against a PostgreSQL server, as an operator notices them: the hub's idle memory,
 * and live delivery latency while every reading is also stored. One device streams readings whose value
 * is their send time; subscribers measure send → receive of each. Readings/s steps through `--rates`.
 *
 *   node --conditions=source --import tsx bench/embedded.ts [--seconds 10] [--subscribers 100] [--rates 1000,5000] [--idle-seconds 60]
 *
 * First, the one-command run as a newcomer starts it (`node scripts/start.mjs` in a terminal, fresh data
 * directory): the RSS of each of its processes after `--idle-seconds` of running (the simulated agent
 * streaming), the hub's, and the highest it reached meanwhile, held to the goal.
 * Goals printed against the figures: embedded idle RSS ≤ 200 MiB; at 1,000 readings/s the embedded hub's
 * p99 within 2× the PostgreSQL-backed hub's. The hub (all its threads, the embedded database's included)
 * runs pinned to CPU 0, this load generator to CPU 1. The PostgreSQL server's own memory and CPU are not
 * the hub's and are not counted.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type WebSocket from 'ws';
import { createTestDatabase } from '../test/databases.js';
import { fmt, GENERATOR_CPU, HUB_CPU, pinGenerator } from './broker-support.js';
import * as latency from './ingest-support.js';

const args = latency.latencyBenchArgs(
  `usage: bench/embedded.ts [--seconds 10 per rate] [--subscribers 100] [--rates 1000,5000 readings/s]
                         [--idle-seconds 60 of the one-command run]
Idle RSS of the one-command run's hub (node scripts/start.mjs in a pseudo-terminal, fresh data
directory), and idle RSS and delivery latency of a hub on the embedded database (a fresh data directory)
and of one on PostgreSQL (a fresh database on TEST_DATABASE_URL's server), with the goals they are held to.`,
  { rates: '1000,5000', 'idle-seconds': '60' },
);
const PHASE_MS = args.phaseMs;
const SUBSCRIBERS = args.subscribers;
const RATES = args.option.rates.split(',').map(Number);
const IDLE_MS = 3000;
const IDLE_WINDOW_MS = Number(args.option['idle-seconds']) * 1000;
const IDLE_GOAL_MIB = 200;
const P99_GOAL_RATIO = 2;

type Storage = 'embedded' | 'postgres';

interface RateResult {
  rate: number;
  p50: number;
  p99: number;
  max: number;
  deliveredShare: number;
  hubCpu: number;
  loadCpu: number;
  hubStallMs: number;
  /** Readings the writer still held when the phase ended. */
  queued: number;
  /** Subscribers the hub had closed by the end of the phase (slow consumers past their backlog). */
  closedSubscribers: number;
}

interface StorageResult {
  storage: Storage;
  idleMiB: number;
  afterLoadMiB: number;
  rates: RateResult[];
}

const mib = (bytes: number) => bytes / 2 ** 20;

async function measure(storage: Storage): Promise<StorageResult> {
  const dataDir = storage === 'embedded' ? mkdtempSync(join(tmpdir(), 'edgewire-bench-')) : undefined;
  const testDb = storage === 'postgres' ? await createTestDatabase('postgres') : undefined;
  const hub = await latency.spawnBenchHub(dataDir ? { dataDir } : testDb!.url!, 1, HUB_CPU);
  try {
    await latency.sleep(IDLE_MS);
    const idle = await hub.stats(true);
    const device = hub.devices[0]!;
    const latencies = new latency.DeliveryLatencies();
    const subscribers: WebSocket[] = [];
    let closedSubscribers = 0;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const socket = await latency.openSocket(
        `${hub.url}/ws`,
        hub.readerToken,
        `devices/${device.id}/telemetry/#`,
      );
      latencies.attach(socket);
      socket.once('close', () => closedSubscribers++);
      subscribers.push(socket);
    }
    const probe = await latency.openSocket(`${hub.url}/ws/device/${device.id}`, device.token);
    const rates: RateResult[] = [];
    const cursor = { seq: 0, readings: 0 };
    for (const rate of RATES) {
      let streaming = true;
      const perTick = Math.max(1, Math.round((rate * latency.TICK_MS) / 1000));
      const streamed = latency.stream(probe, perTick, latency.TICK_MS, () => streaming, cursor);
      await latency.sleep(latency.SETTLE_MS);
      const figures = await latency.measurePhase(hub, latencies, {
        rate,
        subscribers: SUBSCRIBERS,
        phaseMs: PHASE_MS,
      });
      streaming = false;
      await streamed;
      const [p50, p99, max] = latency.percentiles(figures.latencies, [50, 99, 100]) as [
        number,
        number,
        number,
      ];
      rates.push({
        rate,
        p50,
        p99,
        max,
        deliveredShare: figures.deliveredShare,
        hubCpu: figures.hubCpu,
        loadCpu: figures.loadCpu,
        hubStallMs: figures.stats.loopDelayMaxMs,
        queued: figures.stats.queued,
        closedSubscribers,
      });
      // The next rate starts with the writer caught up.
      for (let waited = 0; (await hub.stats()).queued > 0 && waited < 60_000; waited += 200)
        await latency.sleep(200);
    }
    const afterLoad = await hub.stats(true);
    probe.close();
    for (const socket of subscribers) socket.removeAllListeners('close').terminate();
    return { storage, idleMiB: mib(idle.rssBytes), afterLoadMiB: mib(afterLoad.rssBytes), rates };
  } finally {
    await hub.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    await testDb?.drop();
  }
}

interface ProcessRss {
  pid: number;
  /** Its arguments (the executable left out), or the executable alone. */
  command: string;
  mib: number;
}

/** Resident memory of `pid` and of every process below it, in MiB, with each one's command. */
function treeRss(pid: number): ProcessRss[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended meanwhile.
    }
  }
  const found: ProcessRss[] = [];
  const visit = (p: number) => {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const command = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
    found.push({ pid: p, command: command.slice(1).join(' ') || command[0] || '?', mib: rssKiB / 1024 });
    for (const child of children.get(p) ?? []) visit(child);
  };
  visit(pid);
  return found;
}

interface OneCommandRss {
  /** The hub's RSS when the idle window ended, and the highest of its samples, in MiB. */
  hubMiB: number;
  hubPeakMiB: number;
  /** Every process of the run when the idle window ended. */
  processes: ProcessRss[];
}

/**
 * The one-command run as a newcomer starts it (`node scripts/start.mjs` in a terminal: builds what is
 * stale, then the demo with the built hub in its own process) on a fresh data directory, its hub sampled
 * every second of `IDLE_WINDOW_MS` once it runs (the first start's work included: creating the database
 * and the admin's password hash). In a pseudo-terminal (script(1)) as a terminal runs it: the hub then
 * logs through pino-pretty, as a person sees it, not JSON lines into a pipe.
 */
async function oneCommandRss(): Promise<OneCommandRss> {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const dataDir = mkdtempSync(join(tmpdir(), 'edgewire-start-'));
  const command = `'${process.execPath}' '${join(root, 'scripts/start.mjs')}'`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: root,
    env: { ...process.env, EDGEWIRE_DATA_DIR: dataDir, EDGEWIRE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    while (!output.includes('edgewire is running')) {
      if (child.exitCode !== null)
        throw new Error(`scripts/start.mjs exited with ${child.exitCode}:\n${output}`);
      await latency.sleep(200);
    }
    const isHub = (p: ProcessRss) => p.command.endsWith('cli.js serve');
    let hubPeakMiB = 0;
    for (let waited = 0; waited < IDLE_WINDOW_MS; waited += 1000) {
      await latency.sleep(1000);
      hubPeakMiB = Math.max(hubPeakMiB, treeRss(child.pid!).find(isHub)?.mib ?? 0);
    }
    const processes = treeRss(child.pid!).filter((p) => !p.command.startsWith('-qfec'));
    const hub = processes.find(isHub);
    if (!hub) throw new Error(`no hub process (cli.js serve) in the one-command run:\n${output}`);
    return { hubMiB: hub.mib, hubPeakMiB, processes };
  } finally {
    // Ctrl-C, as a person stops it: to the launcher, which passes it on.
    const launcher = treeRss(child.pid!).find((p) => p.command.endsWith('scripts/start.mjs'));
    if (launcher) process.kill(launcher.pid, 'SIGINT');
    else child.kill('SIGINT');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const oneCommand = await oneCommandRss();
pinGenerator();
const embedded = await measure('embedded');
const server = await measure('postgres');

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
console.log(
  `embedded database vs PostgreSQL: 1 device → ${SUBSCRIBERS} subscribers, ${PHASE_MS / 1000} s per rate; hub on CPU ${HUB_CPU}, load generator on CPU ${GENERATOR_CPU}`,
);
const oneCommandHubMiB = oneCommand.hubPeakMiB;
console.log(
  `  the one-command run's hub (node scripts/start.mjs in a terminal, fresh data directory), idle RSS: highest ${fmt(oneCommandHubMiB, 1)} MiB in ${IDLE_WINDOW_MS / 1000} s (goal ≤ ${IDLE_GOAL_MIB} MiB: ${met(oneCommandHubMiB <= IDLE_GOAL_MIB)}), ${fmt(oneCommand.hubMiB, 1)} MiB at the end; every process at the end: ${oneCommand.processes.map((p) => `${p.command.split('/').pop()} ${fmt(p.mib, 0)} MiB`).join(', ')}`,
);
console.log(
  `  idle hub RSS, bench/ingest-hub.ts through tsx after a forced GC (fresh data directory): embedded ${fmt(embedded.idleMiB, 1)} MiB, PostgreSQL ${fmt(server.idleMiB, 1)} MiB`,
);
console.log(
  `  hub RSS after the load: embedded ${fmt(embedded.afterLoadMiB, 1)} MiB, PostgreSQL ${fmt(server.afterLoadMiB, 1)} MiB`,
);
for (const [i, rate] of RATES.entries()) {
  const e = embedded.rates[i]!;
  const s = server.rates[i]!;
  const ratio = e.p99 / s.p99;
  const goal = rate === 1000 ? ` (goal ≤ ${P99_GOAL_RATIO}×: ${met(ratio <= P99_GOAL_RATIO)})` : '';
  console.log(`  ${fmt(rate)} readings/s: embedded p99 ${ratio.toFixed(2)}× PostgreSQL's${goal}`);
  for (const [name, r] of [
    ['embedded', e],
    ['PostgreSQL', s],
  ] as const) {
    console.log(
      `    ${name.padEnd(10)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(1)} ms  delivered ${pct(r.deliveredShare)}; CPU hub ${pct(r.hubCpu)}, load generator ${pct(r.loadCpu)}${r.loadCpu > 0.9 ? ' (the load generator was the limit)' : ''}; longest hub stall ${r.hubStallMs.toFixed(0)} ms; writer queue at end ${fmt(r.queued)}${r.closedSubscribers ? `; ${r.closedSubscribers} subscribers closed as slow consumers` : ''}`,
    );
  }
}
