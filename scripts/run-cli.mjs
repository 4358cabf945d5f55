/**
 * Shared launcher behind the `edgewire-hub` and `edgewire-agent` bins: runs the compiled CLI when the
 * package was built since its sources last changed, and otherwise the TypeScript sources through tsx, so a bin works straight after
 * `pnpm install` with no build step to remember.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function runCli(packageUrl) {
  if (isBuilt(fileURLToPath(packageUrl), 'cli.js')) {
    await import(new URL('dist/cli.js', packageUrl).href);
    return;
  }
  runTypeScript(new URL('src/cli.ts', packageUrl), process.argv.slice(2));
}

/**
 * True when the package in `dir` has `dist/<file>` and no source (under `src/` of `dir`, or of each of
 * `sourceDirs` for a bundle) newer than it: a build that sources edited since would run code that is no
 * longer there (the one-command run builds on every start).
 */
export function isBuilt(dir, file, sourceDirs = [dir]) {
  const built = join(dir, 'dist', file);
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  return sourceDirs.every((source) => builtAt >= newestFile(join(source, 'src')));
}

/** Newest modification time of the files under `dir`, in ms. */
function newestFile(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  return latest;
}

/**
 * Runs a TypeScript file through tsx in a child Node with the `source` condition (workspace packages
 * resolve to their sources), and ends this process the way the child ended.
 */
export function runTypeScript(sourceUrl, args = []) {
  const tsx = createRequire(sourceUrl).resolve('tsx');
  runNode(['--conditions=source', '--import', tsx, fileURLToPath(sourceUrl), ...args]);
}

/**
 * Runs a child Node with `args`, forwarding signals to it, and ends this process the way the child ended.
 * The child also stops if this launcher dies without a word (exit-with-launcher.mjs).
 */
export function runNode(args) {
  const watch = new URL('exit-with-launcher.mjs', import.meta.url).href;
  const child = spawn(process.execPath, ['--import', watch, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  // The child owns the work; forward the signals systemd and terminals send so it shuts down gracefully.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
