/** `edgewire-agent run` as systemd starts it: a child process from the sources, its stdout collected. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const cliSource = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

export interface AgentProcess {
  child: ChildProcess;
  /** Everything the agent printed so far (JSON log lines). */
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

export function spawnAgentProcess(configPath: string, token: string): AgentProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', cliSource, 'run', '--config', configPath],
    {
      env: { ...process.env, EDGEWIRE_TOKEN: token, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
