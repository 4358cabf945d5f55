/** Test support for the CLIs run as users run them: child processes in their own group, temp directories. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Spawned {
  child: ChildProcess;
  /** The exit code (null after a signal). */
  exited: Promise<number | null>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Ends the whole process group (a bin runs the CLI in a child of its own). */
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns `node args…` in a process group of its own, like a terminal's foreground job, collecting its output. */
export function spawnNode(args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): Spawned {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, signal);
    },
  };
}

/** Temporary directories made by a test file, removed by `cleanup` (call it in afterEach). */
export function tempDirs(prefix: string): { make(): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    cleanup: () => {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
