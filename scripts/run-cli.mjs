/**
 * Shared launcher behind the `edgewire-hub` and `edgewire-agent` bins: runs the compiled CLI when the
 * package was built, and otherwise the TypeScript sources through tsx, so a bin works straight after
 * `pnpm install` with no build step to remember.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export async function runCli(packageUrl) {
  const dist = new URL('dist/cli.js', packageUrl);
  if (existsSync(dist)) {
    await import(dist.href);
    return;
  }
  runTypeScript(new URL('src/cli.ts', packageUrl), process.argv.slice(2));
}

/**
 * Runs a TypeScript file through tsx in a child Node with the `source` condition (workspace packages
 * resolve to their sources), and ends this process the way the child ended.
 */
export function runTypeScript(sourceUrl, args = []) {
  const tsx = createRequire(sourceUrl).resolve('tsx');
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', tsx, fileURLToPath(sourceUrl), ...args],
    { stdio: 'inherit' },
  );
  // The child owns the work; forward the signals systemd and terminals send so it shuts down gracefully.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
