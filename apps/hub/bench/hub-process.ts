/**
 * A benchmark's hub in a child process pinned to one core (taskset), talking over IPC: it reports
 * `ready` once listening, answers requests by message type, and exits on `close`. Broker and ingest
 * benchmarks share it; only the hub script and what it reports differ.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export interface HubProcess<Ready> {
  readonly ready: Ready;
  /** Sends `{type, ...extra}` and resolves with the first answer of the same type. */
  request<Answer>(type: string, extra?: Record<string, unknown>): Promise<Answer>;
  close(): Promise<void>;
}

export async function spawnHubProcess<Ready>(options: {
  /** The hub script, beside this file. */
  script: string;
  cpu: number;
  nodeArgs?: readonly string[];
  env?: Record<string, string>;
}): Promise<HubProcess<Ready>> {
  const script = fileURLToPath(new URL(`./${options.script}`, import.meta.url));
  const child: ChildProcess = spawn(
    'taskset',
    [
      '-c',
      String(options.cpu),
      process.execPath,
      ...(options.nodeArgs ?? []),
      '--conditions=source',
      '--import',
      'tsx',
      script,
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...options.env } },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', (code) => reject(new Error(`bench hub exited with ${code}`)));
  });
  return {
    ready,
    request: <Answer>(type: string, extra: Record<string, unknown> = {}) =>
      new Promise<Answer>((resolve) => {
        const onMessage = (m: { type: string }) => {
          if (m.type !== type) return;
          child.off('message', onMessage);
          resolve(m as Answer);
        };
        child.on('message', onMessage);
        child.send({ type, ...extra });
      }),
    close: async () => {
      child.send({ type: 'close' });
      await exited;
    },
  };
}

export interface ProcessUsage {
  cpuSeconds: number;
  rssBytes: number;
  heapUsedBytes: number;
}

/** This process's CPU time and memory; `gc` (needs --expose-gc) collects garbage first. */
export function processUsage(gc: boolean): ProcessUsage {
  // Several passes: the first frees objects whose finalisers release more.
  if (gc) for (let i = 0; i < 3; i++) globalThis.gc?.();
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a `ws` connection with a bearer token (and optional Topics); resolves once `welcome` arrived. */
export function openSocket(url: string, token: string, topics?: string): Promise<WebSocket> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (topics) headers.topics = topics;
  // The hub's frames are trusted here; skipping UTF-8 validation keeps the load generator off the critical path.
  const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers, skipUTF8Validation: true });
  return new Promise((resolve, reject) => {
    socket.once('message', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    socket.once('error', reject);
  });
}
