/**
 * How management commands find a running hub: `serve` writes its URL and a fresh admin secret to
 * `<dataDir>/hub-admin.json` (mode 0600) and removes it on shutdown.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LocalAdmin {
  url: string;
  secret: string;
  pid: number;
}

const FILE = 'hub-admin.json';

export function writeLocalAdmin(dataDir: string, admin: LocalAdmin): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, FILE);
  writeFileSync(path, JSON.stringify(admin), { mode: 0o600 });
  // `mode` only applies when the file is created; a leftover file keeps its old mode otherwise.
  chmodSync(path, 0o600);
}

export function readLocalAdmin(dataDir: string): LocalAdmin | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, FILE), 'utf8')) as LocalAdmin;
  } catch {
    return undefined;
  }
}

export function removeLocalAdmin(dataDir: string, pid: number): void {
  // Leave the file alone if another hub has taken over the data directory since.
  if (readLocalAdmin(dataDir)?.pid === pid) rmSync(join(dataDir, FILE), { force: true });
}
