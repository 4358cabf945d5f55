/**
 * The bins' launcher (scripts/run-cli.mjs) runs the CLI as its child when the build is stale. Killed
 * outright, a launcher forwards no signal; its child must still stop, gracefully, instead of running on
 * unseen (a hub would keep its data directory locked).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { spawnNode, tempDirs } from './processes.js';

const RUN_CLI = new URL('../../../scripts/run-cli.mjs', import.meta.url).href;
const dirs = tempDirs('edgewire-launcher-');
let leftover: number | undefined;
afterEach(() => {
  if (leftover !== undefined && isAlive(leftover)) process.kill(leftover, 'SIGKILL');
  leftover = undefined;
  dirs.cleanup();
});

async function waitForFile(path: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} never appeared`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return readFileSync(path, 'utf8');
}

it('stops the child gracefully when the launcher is killed with SIGKILL', async () => {
  const dir = dirs.make();
  const started = join(dir, 'started');
  const stopped = join(dir, 'stopped');
  // The child announces itself, then runs until a signal, which it records before exiting.
  const childProgram = `
    const fs = require('node:fs');
    process.on('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(stopped)}, 'SIGTERM'); process.exit(0); });
    fs.writeFileSync(${JSON.stringify(started)}, String(process.pid));
    setInterval(() => {}, 1000);`;
  const launcher = spawnNode(
    [
      '--input-type=module',
      '-e',
      `import(${JSON.stringify(RUN_CLI)}).then((m) => m.runNode(['-e', ${JSON.stringify(childProgram)}]))`,
    ],
    { env: process.env },
  );
  const childPid = Number(await waitForFile(started));
  leftover = childPid;
  launcher.child.kill('SIGKILL');
  await launcher.exited;
  expect(await waitForFile(stopped)).toBe('SIGTERM');
  // And it is gone, not merely signalled.
  const deadline = Date.now() + 10_000;
  while (isAlive(childPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(isAlive(childPid)).toBe(false);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
