import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { DataDirLock, DataDirLockedError, lockHolder } from './data-dir-lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgewire-lock-'));
  dirs.push(dir);
  return dir;
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

it('refuses a second holder, naming the first with its URL, until the first lets go', () => {
  const dir = tempDir();
  const first = DataDirLock.acquire(dir, 'a hub');
  first.announce('http://127.0.0.1:1234');
  let refusal: unknown;
  try {
    DataDirLock.acquire(dir, 'edgewire-hub device add');
  } catch (error) {
    refusal = error;
  }
  expect(refusal).toBeInstanceOf(DataDirLockedError);
  expect((refusal as Error).message).toContain(`pid ${process.pid}, http://127.0.0.1:1234`);
  expect((refusal as Error).message).toContain('EDGEWIRE_DATA_DIR');
  expect(lockHolder(dir)?.what).toBe('a hub');
  first.release();
  expect(lockHolder(dir)).toBeUndefined();
  const second = DataDirLock.acquire(dir, 'edgewire-hub device add');
  expect(lockHolder(dir)?.what).toBe('edgewire-hub device add');
  second.release();
  // Nothing left behind: no lock, no temporary files.
  expect(readdirSync(dir)).toEqual([]);
});

it('takes over the lock of a process that is gone (SIGKILL leaves it behind)', () => {
  const dir = tempDir();
  const pid = deadPid();
  writeFileSync(
    join(dir, 'hub.lock'),
    JSON.stringify({ pid, what: 'a hub', startedAt: '2026-01-01T00:00:00.000Z', nonce: 'old' }),
  );
  expect(lockHolder(dir)).toBeUndefined();
  const lock = DataDirLock.acquire(dir, 'a hub');
  const held = JSON.parse(readFileSync(join(dir, 'hub.lock'), 'utf8'));
  expect(held.pid).toBe(process.pid);
  expect(held.nonce).not.toBe('old');
  lock.release();
  expect(readdirSync(dir)).toEqual([]);
});

it('takes over a lock left by an earlier process that had this same pid (containers restart as pid 1)', () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'hub.lock'),
    JSON.stringify({ pid: process.pid, what: 'a hub', startedAt: '2026-01-01T00:00:00.000Z', nonce: 'old' }),
  );
  const lock = DataDirLock.acquire(dir, 'a hub');
  expect(lockHolder(dir)?.nonce).not.toBe('old');
  lock.release();
});

it('release leaves alone a lock that another process has taken over since', () => {
  const dir = tempDir();
  const lock = DataDirLock.acquire(dir, 'a hub');
  const other = { pid: process.ppid, what: 'a hub', startedAt: new Date().toISOString(), nonce: 'theirs' };
  writeFileSync(join(dir, 'hub.lock'), JSON.stringify(other));
  lock.release();
  expect(existsSync(join(dir, 'hub.lock'))).toBe(true);
  expect(lockHolder(dir)?.nonce).toBe('theirs');
});
