#!/usr/bin/env node
/**
 * The newcomer's one command: `node scripts/start.mjs`. Installs the workspace on first use (pinned pnpm via
 * npx, no root, no corepack), then runs the demo: a hub on embedded PGlite and a simulated Pi streaming to it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runTypeScript } from './run-cli.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`edgewire needs Node.js 20.19 or newer; this is ${process.versions.node}.`);
  process.exit(1);
}
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`usage: node scripts/start.mjs

Runs the whole system on embedded defaults: the hub (PGlite in ./.edgewire, in-process bus) on
http://127.0.0.1:8080, serving the dashboard there, and a simulated edge agent streaming readings into it. Installs dependencies first
when they are missing. Settings: EDGEWIRE_PORT, EDGEWIRE_DATA_DIR, EDGEWIRE_LOG_LEVEL (see README).`);
  process.exit(0);
}

if (!existsSync(new URL('../node_modules/.modules.yaml', import.meta.url))) {
  console.log('Installing dependencies (first run only)…');
  // The pinned version without its hash: `npx` takes a plain name@version.
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const pnpm = manifest.packageManager.split('+')[0];
  const install = spawnSync('npx', ['--yes', pnpm, 'install', '--frozen-lockfile'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (install.status !== 0) process.exit(install.status ?? 1);
}

// The hub serves the operators' web app from its build; make one the first time.
if (!existsSync(new URL('../apps/dashboard/dist/index.html', import.meta.url))) {
  console.log('Building the dashboard (first run only)…');
  const vite = fileURLToPath(new URL('../apps/dashboard/node_modules/vite/bin/vite.js', import.meta.url));
  const build = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: fileURLToPath(new URL('../apps/dashboard', import.meta.url)),
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

// The demo's relative paths (./.edgewire) mean the repository root, wherever this was started from.
process.chdir(root);
runTypeScript(new URL('demo.ts', import.meta.url));
