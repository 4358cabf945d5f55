/**
 * The README's commands work as written on a machine with only Node (no pnpm on PATH), `--json` output
 * parses, and the developer's one-command run (`scripts/dev.mjs`, behind `pnpm dev`) ends cleanly on Ctrl-C.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgewire-docs-'));
  dirs.push(dir);
  return dir;
}

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
  const [device, token, devices, tokens] = outputs as [
    { id: string; token: string },
    { id: string; token: string },
    Array<{ id: string }>,
    Array<{ id: string }>,
  ];
  expect(device.id).toBe('pi-kitchen');
  expect(token.token).toMatch(/^ewt_/);
  expect(devices.map((d) => d.id)).toEqual(['pi-kitchen']);
  expect(tokens.map((t) => t.id)).toContain(token.id);
}, 600_000);

it('the developer run (pnpm dev) starts hub and agent on the data directory and ends cleanly on Ctrl-C', async () => {
  const dataDir = tempDir();
  // Its own process group, like a terminal's foreground job: Ctrl-C reaches every process in it.
  const child = spawn(process.execPath, ['scripts/dev.mjs'], {
    cwd: ROOT,
    env: nodeOnlyEnv({ EDGEWIRE_DATA_DIR: dataDir, EDGEWIRE_PORT: '0', NODE_ENV: 'production' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 240_000;
    while (!output.includes('edgewire is running')) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`dev run did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(output).toContain(dataDir);
    expect(existsSync(join(dataDir, 'hub.lock'))).toBe(true);
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('hub stopped');
    // Everything let go of the data directory: no lock, no admin endpoint record left behind.
    expect(existsSync(join(dataDir, 'hub.lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'hub-admin.json'))).toBe(false);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
}, 300_000);
