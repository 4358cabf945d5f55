#!/usr/bin/env node
/**
 * `pnpm dev` (or `node scripts/dev.mjs`): the developer's version of the one-command run. The same hub
 * and simulated agent as `node scripts/start.mjs`, on the same data directory (./.edgewire), with pretty
 * logs, restarted whenever a source file they load changes. Ctrl-C stops everything gracefully.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`usage: node scripts/dev.mjs   (or: npx --yes pnpm@10.34.8 dev)

Runs the hub and a simulated agent from source (scripts/demo.ts) on ./.edgewire, restarting them when
a file they load changes (node --watch), and the dashboard in Vite on http://localhost:5173 (proxying
/api and /ws to the hub). Settings as for scripts/start.mjs: EDGEWIRE_PORT,
EDGEWIRE_DATA_DIR, EDGEWIRE_LOG_LEVEL; EDGEWIRE_DASHBOARD_PORT moves Vite off 5173.
Ctrl-C stops everything.`);
  process.exit(0);
}

const dashboardPort = process.env.EDGEWIRE_DASHBOARD_PORT ?? '5173';
const tsx = createRequire(import.meta.url).resolve('tsx');
const dashboard = join(root, 'apps/dashboard');
const env = {
  ...process.env,
  NODE_ENV: process.env.NODE_ENV ?? 'development',
  EDGEWIRE_HUB_URL: process.env.EDGEWIRE_HUB_URL ?? `http://127.0.0.1:${process.env.EDGEWIRE_PORT ?? 8080}`,
};

/** Each part of the system, restarted on change by its own watcher. */
const parts = [
  {
    name: 'hub + simulated agent',
    command: process.execPath,
    args: ['--watch', '--conditions=source', '--import', tsx, 'scripts/demo.ts'],
  },
  {
    // Vite (on :5173 by default), proxying /api and /ws to the hub above; the page reloads as its
    // sources change. --strictPort: a port already taken ends the run with Vite's message, not a surprise port.
    name: 'dashboard',
    command: process.execPath,
    args: [
      join(dashboard, 'node_modules/vite/bin/vite.js'),
      dashboard,
      '--strictPort',
      '--port',
      dashboardPort,
    ],
  },
];

const children = parts.map((part) => {
  const child = spawn(part.command, part.args, { cwd: root, env, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${part.name} ended (${signal ?? code}); stopping the rest`);
      stop('SIGTERM');
    }
  });
  return child;
});

let stopping = false;
function stop(signal) {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}
// Ctrl-C in a terminal reaches every process of the foreground group already (a second SIGINT would make
// node --watch cut its child short); SIGTERM and SIGHUP from elsewhere reach this process alone.
// A SIGINT sent to this process alone (kill -INT) is passed on if the children are still up a while later.
process.on('SIGINT', () => {
  stopping = true;
  setTimeout(() => stop('SIGTERM'), 10_000).unref();
});
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal));

await Promise.all(
  children.map((child) => (child.exitCode !== null ? undefined : new Promise((r) => child.once('exit', r)))),
);
process.exit(children.every((child) => child.exitCode === 0 || child.signalCode === 'SIGINT') ? 0 : 1);
