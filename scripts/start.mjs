#!/usr/bin/env node
/**
 * The newcomer's one command: `node scripts/start.mjs`. Installs the workspace on first use (pinned pnpm via
 * npx, no root, no corepack), builds what it runs, then runs the demo: a hub on embedded PGlite (the built
 * `edgewire-hub serve`, its own process) and a simulated Pi streaming to it. Built, not through tsx: the
 * TypeScript loader's thread and transforms cost tens of MB that operators never see in production
 * (bench/embedded.ts prints what this run's processes hold).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBuilt, runNode } from './run-cli.mjs';

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

// The hub serves the operators' web app from its build; (re)build it when missing or older than the
// sources it bundles, so a checkout that pulled new dashboard code does not serve the old one.
const dashboardSources = ['apps/dashboard', 'packages/client', 'packages/protocol'].map((pkg) =>
  join(root, pkg),
);
if (!isBuilt(join(root, 'apps/dashboard'), 'index.html', dashboardSources)) {
  console.log('Building the dashboard…');
  const vite = fileURLToPath(new URL('../apps/dashboard/node_modules/vite/bin/vite.js', import.meta.url));
  const build = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: fileURLToPath(new URL('../apps/dashboard', import.meta.url)),
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

// The packages the demo runs, in dependency order, built (tsc) when missing or older than their sources.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
for (const pkg of ['packages/protocol', 'apps/edge-agent', 'apps/hub']) {
  const dir = join(root, pkg);
  if (isBuilt(dir, 'index.js')) continue;
  console.log(`Building ${pkg}…`);
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: dir,
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
// The demo itself (type-checked with the rest by `pnpm typecheck`; here only emitted), in a child so
// that the compiler does not stay in this process's memory.
const emit = spawnSync(
  process.execPath,
  [
    tsc,
    'demo.ts',
    '--outDir',
    'dist',
    '--module',
    'nodenext',
    '--target',
    'es2023',
    '--noCheck',
    '--skipLibCheck',
  ],
  { cwd: join(root, 'scripts'), stdio: 'inherit' },
);
if (emit.status !== 0) process.exit(emit.status ?? 1);

// The demo's relative paths (./.edgewire) mean the repository root, wherever this was started from.
process.chdir(root);
runNode([join(root, 'scripts/dist/demo.js')]);
