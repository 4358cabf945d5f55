/**
 * One owner per data directory. PGlite admits a single process and `hub-admin.json` names a single hub,
 * so whoever opens the directory (a serving hub, or a management command working on the embedded
 * database while no hub runs) first takes `<dataDir>/hub.lock`. The file says who holds it (pid, what,
 * URL once listening); a lock whose process is gone (killed with SIGKILL, power cut) is taken over.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

export interface LockHolder {
  pid: number;
  /** What holds it, e.g. "hub" or "edgewire-hub device add". */
  what: string;
  /** Where the holder serves, once it listens. */
  url?: string;
  startedAt: string;
  /** Tells this holding apart from an earlier one by a process that happened to get the same pid. */
  nonce: string;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    const where = holder.url ? `, ${holder.url}` : '';
    super(
      `data directory ${dataDir} is in use by ${holder.what} (pid ${holder.pid}${where}, since ${holder.startedAt}); ` +
        'stop it first, or set EDGEWIRE_DATA_DIR to another directory',
    );
  }
}

const FILE = 'hub.lock';
/** Data directories this process holds: a second hub in the same process must be refused too. */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** How a running hub names itself as a holder (commands name themselves by their command line). */
export const HUB_HOLDER = 'a hub';

/** The live holder of `dataDir`'s lock, if any. */
export function lockHolder(dataDir: string): LockHolder | undefined {
  const dir = resolve(dataDir);
  const holder = readHolder(join(dir, FILE));
  if (!holder) return undefined;
  const ours = holder.pid === process.pid;
  return (ours ? heldHere.has(dir) : isAlive(holder.pid)) ? holder : undefined;
}

export class DataDirLock {
  #holder: LockHolder;
  #released = false;

  private constructor(
    readonly dataDir: string,
    holder: LockHolder,
  ) {
    this.#holder = holder;
  }

  /** Takes the lock of `dataDir` (creating the directory), or throws `DataDirLockedError`. */
  static acquire(dataDir: string, what: string): DataDirLock {
    const dir = resolve(dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, FILE);
    const holder: LockHolder = {
      pid: process.pid,
      what,
      startedAt: new Date().toISOString(),
      nonce: randomBytes(8).toString('hex'),
    };
    // Written aside first, then linked into place: link fails if the lock exists, and a reader never
    // sees a half-written lock.
    const mine = `${path}.${process.pid}.${holder.nonce}`;
    writeFileSync(mine, JSON.stringify(holder), { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          linkSync(mine, path);
          heldHere.add(dir);
          return new DataDirLock(dir, holder);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const current = readHolder(path);
        const live = current && lockHolder(dir);
        if (live) throw new DataDirLockedError(dir, live);
        takeOverStale(path, current);
      }
      throw new Error(`could not take the lock of data directory ${dir}: it keeps changing hands`);
    } finally {
      rmSync(mine, { force: true });
    }
  }

  /** Records where the holder serves, so that a refused second hub can name it. */
  announce(url: string): void {
    this.#holder = { ...this.#holder, url };
    const path = join(this.dataDir, FILE);
    const next = `${path}.${process.pid}.${this.#holder.nonce}`;
    writeFileSync(next, JSON.stringify(this.#holder), { mode: 0o600 });
    chmodSync(next, 0o600);
    renameSync(next, path);
  }

  /** Gives the directory up; a lock that another process has taken over since is left alone. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    heldHere.delete(this.dataDir);
    const path = join(this.dataDir, FILE);
    if (readHolder(path)?.nonce === this.#holder.nonce) rmSync(path, { force: true });
  }
}

/**
 * Removes a lock whose holder is dead. Renaming is atomic, so of two processes taking over the same
 * stale lock only one moves it; if what was moved turns out to be a fresh lock (another process took
 * over in between), it is put back.
 */
function takeOverStale(path: string, stale: LockHolder | undefined): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readHolder(aside);
  if (stale !== undefined && moved?.nonce !== stale.nonce) {
    try {
      linkSync(aside, path);
    } catch {
      // Someone else holds it now; the next attempt reads and names them.
    }
  }
  unlinkSync(aside);
}
