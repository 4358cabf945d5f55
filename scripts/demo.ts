/**
 * The whole system on embedded defaults, for a first look: a hub on PGlite in `EDGEWIRE_DATA_DIR`
 * (./.edgewire), a simulated Pi streaming into it, and a live summary of what flows and what is stored.
 * Credentials it creates stay in 0600 files under the data directory.
 *
 * Built (the one-command run, scripts/start.mjs) the hub is its own process, the built `edgewire-hub
 * serve` as operators run it, so what it costs is the hub's alone; from source (`pnpm dev`, which
 * reloads this file and everything it imports) the hub runs in this process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, parseConfig, startAgent } from '@edgewire/edge-agent';
import { type AdminApi, HttpAdminClient, readLocalAdmin } from '@edgewire/hub/remote';
import { latestResponseSchema, parseServerFrame } from '@edgewire/protocol';
import WebSocket from 'ws';

const DEVICE = 'sim-pi';
const dataDir = resolve(process.env.EDGEWIRE_DATA_DIR || '.edgewire');
const demoDir = join(dataDir, 'demo');
mkdirSync(demoDir, { recursive: true, mode: 0o700 });

interface DemoHub {
  url: string;
  admin: AdminApi;
  close(): Promise<void>;
}

/** The built hub's CLI, found from this repository's root (where pnpm-workspace.yaml is). */
function builtHubCli(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) dir = dirname(dir);
  return join(dir, 'apps/hub/dist/cli.js');
}

/**
 * glibc's allocator settings for the hub (read by the C library at process start, so given at spawn):
 * by default every thread that ever allocated (the database's, V8's compilers and collectors, libuv's
 * pool) keeps an arena of its own, and memory freed inside one stays resident, ~20 MiB of an idle hub.
 * Two arenas and a 128 KiB trim threshold cost the demo's load nothing measurable. Settings of the
 * user's own come after, so they win; other C libraries ignore the variable.
 */
const MALLOC_TUNABLES = [
  'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072',
  process.env.GLIBC_TUNABLES,
]
  .filter(Boolean)
  .join(':');

/** `edgewire-hub serve` in a child process; ready once it has written its admin endpoint. */
async function spawnHub(): Promise<DemoHub> {
  // Sized for the demo's few readings a second, where collecting more often costs nothing measurable
  // (bench/embedded.ts prints what the hub holds): a small young generation (the default 16 MiB
  // semi-spaces keep ~20 MiB resident for nothing), and V8's memory-over-speed heuristics, without which
  // garbage between full collections took the idle hub from ~150 to ~172 MiB within 20 minutes.
  const node = ['--max-semi-space-size=1', '--optimize-for-size'];
  const child: ChildProcess = spawn(process.execPath, [...node, builtHubCli(), 'serve'], {
    env: { ...process.env, EDGEWIRE_DATA_DIR: dataDir, GLIBC_TUNABLES: MALLOC_TUNABLES },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) process.exit(child.exitCode ?? 1);
    const local = readLocalAdmin(dataDir);
    if (local && local.pid === child.pid) {
      return {
        url: local.url,
        admin: new HttpAdminClient(local),
        close: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const fromSource = process.execArgv.includes('--conditions=source');
const hub: DemoHub = fromSource
  ? await (await import('@edgewire/hub')).startHub({ dataDir })
  : await spawnHub();

/** A credential created once and kept in a 0600 file, so restarts reuse the same device and viewer. */
async function credential(name: string, create: () => Promise<{ token: string }>): Promise<string> {
  const file = join(demoDir, `${name}.token`);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const { token } = await create();
  writeFileSync(file, token, { mode: 0o600 });
  return token;
}

const deviceToken = await credential(DEVICE, async () => {
  // A device left from an earlier run whose token file was removed: start it afresh.
  await hub.admin.removeDevice(DEVICE).catch(() => {});
  return hub.admin.addDevice(DEVICE);
});
// The first start creates the operator `admin` with a random password, shown this once: never a default.
let adminPassword: string | undefined;
if ((await hub.admin.listUsers()).length === 0) {
  adminPassword = randomBytes(18).toString('base64url');
  await hub.admin.addUser('admin', 'admin', adminPassword);
}

const viewerToken = await credential('viewer', () =>
  hub.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] }),
);

const agentConfig = parseConfig({
  deviceId: DEVICE,
  hub: { url: hub.url },
  logLevel: 'warn',
  buffer: { path: join(demoDir, 'agent-buffer.db'), maxBytes: '16MB' },
  sensors: [
    {
      type: 'simulated',
      rateHz: 2,
      signals: [
        { metric: 'temperature', unit: '°C', wave: 'sine', periodSec: 120, min: 18, max: 26, noise: 0.1 },
        { metric: 'humidity', unit: '%', wave: 'random-walk', min: 30, max: 70 },
        { metric: 'power', unit: 'W', wave: 'square', periodSec: 30, min: 40, max: 900, noise: 5 },
      ],
    },
    { type: 'system', intervalSec: 10 },
  ],
});
const agent = await startAgent(agentConfig, {
  token: deviceToken,
  logger: createLogger('warn'),
});

// Watch the live stream the way a dashboard would.
const live = new Map<string, number>();
let delivered = 0;
const watcher = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/ws`, {
  headers: { authorization: `Bearer ${viewerToken}`, topics: `devices/${DEVICE}/telemetry/#` },
});
// Without a listener a failed or cut watcher (Ctrl-C before it connected, say) would end the demo with a stack trace.
watcher.on('error', (error) => {
  if (!stopping) console.error(`live watcher: ${error.message}`);
});
watcher.on('message', (data) => {
  const parsed = parseServerFrame(data.toString());
  if (!parsed.ok || parsed.frame.type !== 'msg') return;
  delivered++;
  const metric = parsed.frame.topic.split('/').pop()!;
  const payload = parsed.frame.payload as { value?: number };
  if (typeof payload?.value === 'number') live.set(metric, payload.value);
});

const viewerFile = join(demoDir, 'viewer.token');
console.log(`
  edgewire is running
    dashboard     ${hub.url}/   (sign in as an operator; on the first start: admin, password below)
    hub           ${hub.url}   (health: ${hub.url}/healthz, metrics: ${hub.url}/metrics)
    data          ${dataDir}   (embedded PGlite)
    device        ${DEVICE}, a simulated Pi streaming temperature, humidity, power and system metrics

${
  adminPassword === undefined
    ? ''
    : `  operator      admin / ${adminPassword}
                (shown this once; change it with: node apps/hub/bin/edgewire-hub.js user passwd admin, while the hub runs)

`
}  Sign in as an operator and use the API (docs: ${hub.url}/api/docs once signed in):
    curl -c ${demoDir}/cookies -H 'content-type: application/json' \\
         -d '{"name":"admin","password":"<the password>"}' ${hub.url}/api/session
    curl -b ${demoDir}/cookies ${hub.url}/api/devices

  Try, in another terminal:
    curl -H "Authorization: Bearer $(cat ${viewerFile})" ${hub.url}/api/devices/${DEVICE}/latest
    curl -H "Authorization: Bearer $(cat ${viewerFile})" -H "Accept: text/csv" \\
         "${hub.url}/api/devices/${DEVICE}/readings?metric=temperature&bucket=10s"
    node apps/hub/bin/edgewire-hub.js --help   (device add/ls, token add/ls, … work while the hub runs)

  Ctrl-C stops everything (the agent keeps unacknowledged readings on disk for next time).
`);

const summary = setInterval(async () => {
  const stats = agent.stats();
  let stored = '?';
  try {
    const response = await fetch(`${hub.url}/api/devices/${DEVICE}/latest`, {
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    if (response.ok) {
      const latest = latestResponseSchema.parse(await response.json());
      const newest = Math.max(...latest.metrics.map((m) => m.t));
      stored = `stored: ${latest.metrics.length} metrics, newest ${((Date.now() - newest) / 1000).toFixed(1)} s ago`;
    }
  } catch {
    stored = 'history unavailable';
  }
  const values = [...live].map(([m, v]) => `${m}=${v.toFixed(1)}`).join(' ');
  console.log(
    `[${new Date().toISOString().slice(11, 19)}] ${stats.state} · acked seq ${stats.ackedSeq} · buffered ${stats.buffer.readings} · live msgs ${delivered} · ${stored} · ${values}`,
  );
}, 5000);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(summary);
  watcher.close();
  await agent.close();
  await hub.close();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
