/**
 * A hub in a process of its own (`edgewire-hub serve` from the sources, one process, so that a SIGKILL
 * really kills the hub), for tests of what a crash or a shutdown does to the rest of a cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const HUB_DIR = fileURLToPath(new URL('..', import.meta.url));

export interface HubProcess {
  /** e.g. http://127.0.0.1:43123 (https:// with TLS). */
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export async function spawnHub(env: Record<string, string>): Promise<HubProcess> {
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, 'serve'], {
    cwd: HUB_DIR,
    env: { ...inherited, EDGEWIRE_PORT: '0', EDGEWIRE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"([^"]+)"[^\n]*"msg":"hub listening"/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`hub exited with ${code} before listening:\n${output}`)));
  });
  return {
    url,
    child,
    exited,
    output: () => output,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
