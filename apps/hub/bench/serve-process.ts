/**
 * `edgewire-hub serve` as operators run it, in a child process pinned to the hub's core, on a data
 * directory that outlives it (so a restart is a real restart: same port, same database, cold token
 * cache). The CLI can be another checkout's (`cli`), to measure the code before a change the same way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HUB_CPU, sleep } from './broker-support.js';

export const DEFAULT_CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

export interface ServeProcess {
  url: string;
  port: number;
  /** The local admin endpoint's secret (hub-admin.json), for registering devices in bulk. */
  secret: string;
  /** CPU time (user + system, all threads) the hub process has used so far, in ms. */
  cpuMs(): number;
  /** SIGTERM (graceful: sockets close with 1001), resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Linux's clock ticks per second for /proc/<pid>/stat times (`getconf CLK_TCK`), 100 on every common kernel. */
const CLOCK_TICKS = 100;

function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may hold spaces): utime and stime are 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

export async function serve(options: {
  dataDir: string;
  port?: number;
  cli?: string;
  env?: Record<string, string>;
}): Promise<ServeProcess> {
  const cli = options.cli ?? DEFAULT_CLI;
  const child: ChildProcess = spawn(
    'taskset',
    [
      '-c',
      String(HUB_CPU),
      process.execPath,
      // BENCH_HUB_PROFILE=<dir> writes a CPU profile of each hub process there, to see where its time goes.
      ...(process.env.BENCH_HUB_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_HUB_PROFILE}`]
        : []),
      '--conditions=source',
      '--import',
      'tsx',
      cli,
      'serve',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        EDGEWIRE_DATA_DIR: options.dataDir,
        EDGEWIRE_PORT: String(options.port ?? 0),
        EDGEWIRE_LOG_LEVEL: 'warn',
        ...options.env,
      },
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const adminFile = join(options.dataDir, 'hub-admin.json');
  for (;;) {
    if (child.exitCode !== null) throw new Error(`edgewire-hub serve exited with ${child.exitCode}`);
    if (existsSync(adminFile)) {
      const admin = JSON.parse(readFileSync(adminFile, 'utf8')) as {
        url: string;
        secret: string;
        pid: number;
      };
      // A clean stop removes the file, so one that exists is this hub's.
      return {
        url: admin.url,
        port: Number(new URL(admin.url).port),
        secret: admin.secret,
        // taskset execs the hub: the child's pid is the hub's.
        cpuMs: () => processCpuMs(child.pid!),
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await sleep(50);
  }
}

/** A client token that may read everything, issued through the running hub's admin endpoint. */
export async function addClientToken(hub: ServeProcess): Promise<string> {
  const response = await adminPost(hub, '/api/tokens', { permissions: [{ filter: '#', access: 'read' }] });
  return response.token;
}

async function adminPost(hub: ServeProcess, path: string, body: unknown): Promise<{ token: string }> {
  const response = await fetch(`${hub.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hub.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${path}: HTTP ${response.status}`);
  return (await response.json()) as { token: string };
}

/**
 * Registers `count` devices through the running hub's admin endpoint, a few requests at a time;
 * returns their tokens. Past 250 devices the hub needs `BULK_API` (the `/api` rate is per address).
 */
export async function addDevices(hub: ServeProcess, count: number, prefix = 'bench-'): Promise<string[]> {
  const tokens: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      tokens[i] = (await adminPost(hub, '/api/devices', { id: `${prefix}${i}` })).token;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return tokens;
}

/** Hub settings for registering thousands of devices through `/api` from the benchmark's one address. */
export const BULK_API: Record<string, string> = { EDGEWIRE_API_RATE: '100000' };
