/**
 * The README's commands work as written on a machine with only Node (no pnpm on PATH), `--json` output
 * parses, and the developer's one-command run (`scripts/dev.mjs`, behind `pnpm dev`) ends cleanly on Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { freePort } from './ports.js';
import { spawnNode, tempDirs } from './processes.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);

const dirs = tempDirs('edgewire-docs-');
afterEach(dirs.cleanup);
const tempDir = dirs.make;

/** A PATH with node but without pnpm (nor npx/corepack shims that could stand in for it). */
function nodeOnlyEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...rest } = process.env;
  return { ...rest, PATH: dirname(process.execPath), ...extra };
}

/** Splits a documented shell line into words (single quotes, no expansion); drops a trailing comment. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.replace(/\s+#\s.*$/, '').matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

/** The README's `--json` hub commands, exactly as written. */
const jsonCommands = readme
  .split('\n')
  .filter((line) => line.startsWith('node apps/hub/bin/edgewire-hub.js ') && / --json\b/.test(line))
  .map(words);

it('documents hub commands that need nothing but Node', () => {
  expect(readme).not.toMatch(/^pnpm /m);
  expect(jsonCommands.map((w) => w.slice(2, 4).join(' '))).toEqual([
    'apitoken add',
    'device add',
    'token add',
    'device ls',
    'token ls',
  ]);
});

it('runs every documented --json command as written, and its stdout parses as JSON', async () => {
  const env = nodeOnlyEnv({ EDGEWIRE_DATA_DIR: tempDir(), EDGEWIRE_LOG_LEVEL: 'info' });
  const outputs: unknown[] = [];
  for (const [command, ...args] of jsonCommands) {
    expect(command).toBe('node');
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, env, timeout: 180_000 });
    outputs.push(JSON.parse(stdout));
  }
  const [apiToken, device, token, devices, tokens] = outputs as [
    { id: string; token: string },
    { id: string; token: string },
    { id: string; token: string },
    Array<{ id: string }>,
    Array<{ id: string }>,
  ];
  expect(apiToken.token).toMatch(/^ewa_/);
  expect(device.id).toBe('pi-kitchen');
  expect(token.token).toMatch(/^ewt_/);
  expect(devices.map((d) => d.id)).toEqual(['pi-kitchen']);
  expect(tokens.map((t) => t.id)).toContain(token.id);
}, 600_000);

it('the developer run (pnpm dev) starts hub and agent on the data directory and ends cleanly on Ctrl-C', async () => {
  const dataDir = tempDir();
  // Its own process group, like a terminal's foreground job: Ctrl-C reaches every process in it.
  const dev = spawnNode(['scripts/dev.mjs'], {
    cwd: ROOT,
    env: nodeOnlyEnv({
      EDGEWIRE_DATA_DIR: dataDir,
      EDGEWIRE_PORT: '0',
      // Not Vite's usual 5173: a developer's own `pnpm dev` may hold it while the tests run.
      EDGEWIRE_DASHBOARD_PORT: String(await freePort()),
      NODE_ENV: 'production',
    }),
  });
  try {
    const deadline = Date.now() + 240_000;
    while (!dev.output().includes('edgewire is running')) {
      if (Date.now() > deadline || dev.child.exitCode !== null)
        throw new Error(`dev run did not start:\n${dev.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(dev.output()).toContain(dataDir);
    expect(existsSync(join(dataDir, 'hub.lock'))).toBe(true);
    dev.kill('SIGINT');
    expect(await dev.exited, dev.output()).toBe(0);
    expect(dev.output()).toContain('hub stopped');
    // Everything let go of the data directory: no lock, no admin endpoint record left behind.
    expect(existsSync(join(dataDir, 'hub.lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'hub-admin.json'))).toBe(false);
  } finally {
    dev.kill();
  }
}, 300_000);
