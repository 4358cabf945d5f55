/** What the agent benchmarks share: pinning, a real hub, the agent as a child process, /proc figures. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningHub, startHub } from '@edgewire/hub';
import { createTestDatabase, type TestDatabase } from '@edgewire/hub/test-support';
import type { AgentConfigInput } from '../src/config.js';

/** CPU for the hub (this process); the agent gets the other one, so they do not compete. */
export const HUB_CPU = 1;
export const AGENT_CPU = 0;

export function pinSelf(cpu: number): void {
  try {
    execFileSync('taskset', ['-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
  } catch {
    console.warn('taskset failed: figures are unpinned');
  }
}

/** A hub storing into a fresh PostgreSQL database (dropped by `close`), or into in-memory PGlite. */
export async function benchHub(
  storage: 'postgres' | 'none',
): Promise<{ hub: RunningHub; close(): Promise<void> }> {
  let db: TestDatabase | undefined;
  if (storage === 'postgres') db = await createTestDatabase('postgres');
  const hub = await startHub({
    host: '127.0.0.1',
    port: 0,
    dataDir: undefined,
    databaseUrl: db?.url,
    logLevel: 'warn',
    logDestination: { write: () => undefined },
    env: {},
  });
  return {
    hub,
    close: async () => {
      await hub.close();
      await db?.drop();
    },
  };
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `agent-bench-${name}-`));
}

const agentDir = join(import.meta.dirname, '..');

/** Compiles the protocol and the agent to JavaScript, as a Pi runs them (no TypeScript loader in memory). */
export function buildAgent(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  for (const project of [join(agentDir, '..', '..', 'packages', 'protocol'), agentDir]) {
    execFileSync(process.execPath, [tsc, '-p', join(project, 'tsconfig.build.json')], { stdio: 'inherit' });
  }
}

/** The Node options the systemd unit runs the agent with, so the figures are the deployed ones. */
export function unitNodeOptions(): string {
  const unit = readFileSync(join(agentDir, '..', '..', 'infra', 'systemd', 'edgewire-agent.service'), 'utf8');
  return /^Environment="NODE_OPTIONS=([^"]*)"$/m.exec(unit)?.[1] ?? '';
}

/** Runs the built agent as the unit does (one process, pinned, the unit's Node options). */
export function spawnAgent(config: AgentConfigInput, token: string): ChildProcess {
  const path = join(tempDir('config'), 'agent.yaml');
  writeFileSync(path, JSON.stringify(config));
  return spawn(
    'taskset',
    ['-c', String(AGENT_CPU), process.execPath, join(agentDir, 'dist', 'cli.js'), 'run', '--config', path],
    {
      env: {
        ...process.env,
        EDGEWIRE_TOKEN: token,
        NODE_ENV: 'production',
        NODE_OPTIONS: unitNodeOptions(),
        EDGEWIRE_LOG_LEVEL: 'warn',
      },
      stdio: 'inherit',
    },
  );
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU seconds (user + system) a process used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Resident set size in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
