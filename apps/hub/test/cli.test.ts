/**
 * `edgewire-hub` as users run it: the real bin in a child process, against a temp data directory
 * (embedded PGlite) or a fresh PostgreSQL database.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, startTestHub, TestClient } from './hub-harness.js';
import { type Spawned, spawnNode, tempDirs } from './processes.js';

const BIN = fileURLToPath(new URL('../bin/edgewire-hub.js', import.meta.url));
const run = promisify(execFile);

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...rest } = process.env;
  return { ...rest, EDGEWIRE_LOG_LEVEL: 'info', ...extra };
}

async function cli(args: string[], extra: Record<string, string>) {
  return run(process.execPath, [BIN, ...args], { env: env(extra), timeout: 180_000 });
}

const dirs = tempDirs('edgewire-cli-');
const children: Spawned[] = [];
let testDb: TestDatabase | undefined;
afterEach(async () => {
  for (const spawned of children.splice(0)) spawned.kill();
  dirs.cleanup();
  await testDb?.drop();
  testDb = undefined;
});

const tempDir = dirs.make;

async function waitFor<T>(probe: () => T | undefined, ms = 150_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface ServingHub {
  child: ChildProcess;
  /** The hub's admin record, once it listens. */
  listening(): Promise<{ url: string; pid: number }>;
  exited: Promise<number | null>;
  output(): string;
}

/** `edgewire-hub serve` on `dir`, on a random port. */
function serve(dir: string, extra: Record<string, string> = {}): ServingHub {
  const spawned = spawnNode([BIN, 'serve'], {
    env: env({ EDGEWIRE_DATA_DIR: dir, EDGEWIRE_PORT: '0', ...extra }),
  });
  children.push(spawned);
  const adminFile = join(dir, 'hub-admin.json');
  const lastPid = existsSync(adminFile) ? JSON.parse(readFileSync(adminFile, 'utf8')).pid : undefined;
  const listening = () =>
    waitFor(() => {
      if (!existsSync(adminFile)) return undefined;
      const record = JSON.parse(readFileSync(adminFile, 'utf8')) as { url: string; pid: number };
      // Written by the hub process itself, which the bin starts as its child.
      return record.pid !== lastPid ? record : undefined;
    });
  return { child: spawned.child, listening, exited: spawned.exited, output: spawned.output };
}

async function open(url: string, token: string): Promise<TestClient> {
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const client = new TestClient(socket);
  await client.nextOfType('welcome', 10_000);
  return client;
}

it('prints help for every command', async () => {
  const commands = [
    ['serve'],
    ['migrate'],
    ['device', 'add'],
    ['device', 'rm'],
    ['device', 'ls'],
    ['token', 'ls'],
    ['token', 'add'],
    ['token', 'revoke'],
    ['user', 'add'],
    ['user', 'passwd'],
    ['user', 'role'],
    ['user', 'rm'],
    ['user', 'ls'],
    ['apitoken', 'add'],
    ['apitoken', 'ls'],
    ['apitoken', 'revoke'],
  ];
  const outputs = await Promise.all([[], ...commands].map((args) => cli([...args, '--help'], {})));
  outputs.forEach(({ stdout }, i) => {
    expect(stdout).toMatch(new RegExp(`^Usage: edgewire-hub ${[[], ...commands][i]!.join(' ')}`));
  });
}, 300_000);

it('refuses a bad setting with a message naming it', async () => {
  const failed = await cli(['migrate'], {
    EDGEWIRE_DATA_DIR: tempDir(),
    EDGEWIRE_HEARTBEAT_SEC: 'often',
  }).catch((e) => e);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain('EDGEWIRE_HEARTBEAT_SEC');
});

describe('embedded (PGlite)', () => {
  it('manages devices and tokens with no hub running', async () => {
    const dir = tempDir();
    const { stdout } = await cli(['device', 'add', 'pi-1', '--json'], { EDGEWIRE_DATA_DIR: dir });
    const issued = JSON.parse(stdout);
    expect(issued.id).toBe('pi-1');
    expect(issued.token).toMatch(/^ewt_[A-Za-z0-9_-]{43}$/);
    const again = await cli(['device', 'add', 'pi-1'], { EDGEWIRE_DATA_DIR: dir }).catch((e) => e);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    const human = await cli(
      ['token', 'add', '--allow', 'devices/+/telemetry/#:read', '--max-connections', '3'],
      { EDGEWIRE_DATA_DIR: dir },
    );
    expect(human.stdout).toMatch(/^Token tok_\S+ created\..*\newt_\S+\n$/s);
    const id = /Token (tok_\S+) created/.exec(human.stdout)![1]!;
    expect((await cli(['token', 'revoke', id], { EDGEWIRE_DATA_DIR: dir })).stdout).toContain(
      `Token ${id} revoked`,
    );
    expect((await cli(['device', 'rm', 'pi-1'], { EDGEWIRE_DATA_DIR: dir })).stdout).toContain('deleted');
  }, 300_000);

  it('serves; management commands go through the running hub; SIGTERM closes sockets with 1001 and exits 0', async () => {
    const dir = tempDir();
    const hub = serve(dir);
    const adminFile = join(dir, 'hub-admin.json');
    const { url } = await hub.listening();
    expect(statSync(adminFile).mode & 0o777).toBe(0o600);
    const wsBase = url.replace(/^http/, 'ws');

    const device = JSON.parse(
      (await cli(['device', 'add', 'pi-1', '--json'], { EDGEWIRE_DATA_DIR: dir })).stdout,
    );
    const client = JSON.parse(
      (await cli(['token', 'add', '--allow', 'devices/#:read', '--json'], { EDGEWIRE_DATA_DIR: dir })).stdout,
    );
    const deviceSocket = await open(`${wsBase}/ws/device/pi-1`, device.token);
    const clientSocket = await open(`${wsBase}/ws`, client.token);
    // Only the running hub can close a live connection: proof that the command went through it.
    await cli(['token', 'revoke', client.id], { EDGEWIRE_DATA_DIR: dir });
    expect((await clientSocket.closed).code).toBe(4003);

    // Operators and admin API tokens through the running hub; a script then drives the API with the token.
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'correct horse battery\n', { mode: 0o600 });
    await cli(['user', 'add', 'ada', '--role', 'admin', '--password-file', passwordFile], {
      EDGEWIRE_DATA_DIR: dir,
    });
    const apiToken = JSON.parse(
      (await cli(['apitoken', 'add', 'ci', '--json'], { EDGEWIRE_DATA_DIR: dir })).stdout,
    );
    expect(apiToken.token).toMatch(/^ewa_/);
    const users = await fetch(`${url}/api/users`, { headers: { authorization: `Bearer ${apiToken.token}` } });
    expect(((await users.json()) as { users: Array<{ name: string }> }).users.map((u) => u.name)).toEqual([
      'ada',
    ]);
    await cli(['apitoken', 'revoke', apiToken.id], { EDGEWIRE_DATA_DIR: dir });
    expect(
      (await fetch(`${url}/api/users`, { headers: { authorization: `Bearer ${apiToken.token}` } })).status,
    ).toBe(401);

    hub.child.kill('SIGTERM');
    expect((await deviceSocket.closed).code).toBe(1001);
    expect(await hub.exited).toBe(0);
    expect(existsSync(adminFile)).toBe(false);
    expect(hub.output()).toContain('hub stopped');
    expect(hub.output()).not.toContain(device.token);
    expect(hub.output()).not.toContain(client.token);
    expect(hub.output()).not.toContain(apiToken.token);
    expect(hub.output()).not.toContain('correct horse');
  }, 300_000);
});

describe('one owner per data directory', () => {
  it('refuses a second hub on the same data directory, naming the first; the first keeps working', async () => {
    const dir = tempDir();
    const first = serve(dir);
    const { url, pid } = await first.listening();
    const adminFile = join(dir, 'hub-admin.json');
    const before = readFileSync(adminFile, 'utf8');

    const second = serve(dir);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`in use by a hub (pid ${pid}, ${url}`);
    // The refused hub touched nothing: the first one's admin record is intact and still answers.
    expect(readFileSync(adminFile, 'utf8')).toBe(before);
    const device = JSON.parse(
      (await cli(['device', 'add', 'pi-2', '--json'], { EDGEWIRE_DATA_DIR: dir })).stdout,
    );
    const socket = await open(`${url.replace(/^http/, 'ws')}/ws/device/pi-2`, device.token);
    socket.socket.close();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  }, 300_000);

  it('takes over the directory of a hub killed with SIGKILL, keeping what it stored', async () => {
    const dir = tempDir();
    const first = serve(dir);
    const { pid } = await first.listening();
    const device = JSON.parse(
      (await cli(['device', 'add', 'pi-3', '--json'], { EDGEWIRE_DATA_DIR: dir })).stdout,
    );
    // The hub process itself (the bin may run it as its child), so nothing gets to release the lock.
    process.kill(pid, 'SIGKILL');
    await first.exited;
    expect(existsSync(join(dir, 'hub.lock'))).toBe(true);

    const second = serve(dir);
    const { url } = await second.listening();
    const socket = await open(`${url.replace(/^http/, 'ws')}/ws/device/pi-3`, device.token);
    socket.socket.close();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(existsSync(join(dir, 'hub.lock'))).toBe(false);
  }, 300_000);

  it('a management command never opens the database behind a running hub it cannot reach', async () => {
    const dir = tempDir();
    const hub = serve(dir);
    const { url, pid } = await hub.listening();
    // As if the admin record were lost: the command must refuse, not open the embedded database itself.
    rmSync(join(dir, 'hub-admin.json'));
    const refused = await cli(['device', 'add', 'pi-4'], { EDGEWIRE_DATA_DIR: dir }).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`in use by a hub (pid ${pid}, ${url}`);
    expect(refused.stderr).toContain('hub-admin.json');
    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
    // Nothing was written behind the hub's back.
    const { stdout } = await cli(['device', 'ls', '--json'], { EDGEWIRE_DATA_DIR: dir });
    expect(JSON.parse(stdout)).toEqual([]);
  }, 300_000);
});

describe('listing devices and tokens', () => {
  it('device ls and token ls, with and without a running hub, never print a secret', async () => {
    const dir = tempDir();
    const at = { EDGEWIRE_DATA_DIR: dir };
    const device = JSON.parse((await cli(['device', 'add', 'pi-5', '--json'], at)).stdout);
    const client = JSON.parse(
      (
        await cli(
          ['token', 'add', '--allow', 'devices/+/telemetry/#:read', '--max-connections', '2', '--json'],
          at,
        )
      ).stdout,
    );
    const listBoth = async () => ({
      devices: await cli(['device', 'ls', '--json'], at),
      tokens: await cli(['token', 'ls', '--json'], at),
      table: await cli(['token', 'ls'], at),
    });
    const offline = await listBoth();
    const hub = serve(dir);
    await hub.listening();
    const online = await listBoth();
    hub.child.kill('SIGTERM');
    await hub.exited;

    for (const { devices, tokens, table } of [offline, online]) {
      expect(JSON.parse(devices.stdout)).toEqual([
        expect.objectContaining({ id: 'pi-5', online: false, lastSeen: null, createdAt: expect.any(String) }),
      ]);
      const listed = JSON.parse(tokens.stdout) as Array<Record<string, unknown>>;
      expect(listed).toEqual([
        expect.objectContaining({
          id: client.id,
          permissions: [{ filter: 'devices/+/telemetry/#', access: 'read' }],
          maxConnections: 2,
          revokedAt: null,
        }),
      ]);
      expect(table.stdout).toMatch(
        new RegExp(
          `^ID +NAME +PERMISSIONS.*\\n${client.id} +- +devices/\\+/telemetry/#:read +2 +active +never\\n$`,
          's',
        ),
      );
      for (const output of [devices.stdout, tokens.stdout, table.stdout]) {
        expect(output).not.toContain(device.token);
        expect(output).not.toContain(client.token);
        expect(output).not.toMatch(/ewt_|[0-9a-f]{64}/);
      }
    }
    // A revoked token stays listed, as revoked: its id is what an operator looks up.
    await cli(['token', 'revoke', client.id], at);
    const after = JSON.parse((await cli(['token', 'ls', '--json'], at)).stdout) as Array<{
      revokedAt: string | null;
    }>;
    expect(after[0]!.revokedAt).toMatch(/^\d{4}-/);
  }, 300_000);
});

it('says which Redis it could not reach, and how to fix it, without the password', async () => {
  const closed = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
  const failed = await cli(['serve'], {
    EDGEWIRE_DATA_DIR: tempDir(),
    EDGEWIRE_PORT: '0',
    REDIS_URL: `redis://edge:hunter2secret@127.0.0.1:${closed}/0`,
  }).catch((e) => e);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain(`cannot reach Redis at 127.0.0.1:${closed} (REDIS_URL)`);
  expect(failed.stderr).toContain('ECONNREFUSED');
  expect(failed.stderr).toContain('unset REDIS_URL');
  expect(failed.stderr).not.toContain('Connection is closed');
  expect(`${failed.stdout}${failed.stderr}`).not.toContain('hunter2secret');
}, 300_000);

describe('PostgreSQL', () => {
  it('revokes through Redis: a hub running elsewhere closes the connection (4003)', async () => {
    testDb = await createTestDatabase('postgres');
    const prefix = `edgewire-cli-${process.pid}-${Date.now()}`;
    const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const hub = await startTestHub({ databaseUrl: testDb.url, redisUrl, redisPrefix: prefix });
    try {
      const issued = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }] });
      const { client } = await connect(hub, '/ws', { token: issued.token });
      // Another machine: no hub-admin.json in its data directory, so the command goes to the database.
      await cli(['token', 'revoke', issued.id], {
        DATABASE_URL: testDb.url!,
        REDIS_URL: redisUrl,
        EDGEWIRE_REDIS_PREFIX: prefix,
        EDGEWIRE_DATA_DIR: tempDir(),
      });
      expect((await client.closed).code).toBe(4003);
    } finally {
      await hub.close();
    }
  }, 300_000);

  it('revokes without Redis too: the database itself tells the running hub (4003)', async () => {
    testDb = await createTestDatabase('postgres');
    const hub = await startTestHub({ databaseUrl: testDb.url });
    try {
      const issued = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }] });
      const { client } = await connect(hub, '/ws', { token: issued.token });
      await cli(['token', 'revoke', issued.id], { DATABASE_URL: testDb.url!, EDGEWIRE_DATA_DIR: tempDir() });
      expect((await client.closed).code).toBe(4003);
    } finally {
      await hub.close();
    }
  }, 60_000);

  it('manages operators with no hub running (PostgreSQL): password from a file, minimum length, never echoed', async () => {
    testDb = await createTestDatabase('postgres');
    const dir = tempDir();
    const db = { DATABASE_URL: testDb.url!, EDGEWIRE_DATA_DIR: dir };
    const file = join(dir, 'password');
    writeFileSync(file, 'short\n', { mode: 0o600 });
    const refused = await cli(['user', 'add', 'ada', '--role', 'admin', '--password-file', file], db).catch(
      (e) => e,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('password: must be at least 12 characters');
    writeFileSync(file, 'correct horse battery\n');
    const added = await cli(['user', 'add', 'ada', '--role', 'admin', '--password-file', file], db);
    expect(added.stdout).toBe('Operator ada (admin) created.\n');
    const listed = JSON.parse((await cli(['user', 'ls', '--json'], db)).stdout);
    expect(listed).toEqual([expect.objectContaining({ name: 'ada', role: 'admin' })]);
    expect(JSON.stringify(listed)).not.toContain('correct horse');
    const prompt = await cli(['user', 'add', 'bob', '--role', 'viewer'], db).catch((e) => e);
    expect(prompt.stderr).toContain('--password-file');
    const last = await cli(['user', 'rm', 'ada'], db).catch((e) => e);
    expect(last.stderr).toContain('last admin');
  }, 180_000);

  it('migrates and manages devices through DATABASE_URL', async () => {
    testDb = await createTestDatabase('postgres');
    const extra = { DATABASE_URL: testDb.url!, EDGEWIRE_DATA_DIR: tempDir() };
    await cli(['migrate'], extra);
    const issued = JSON.parse((await cli(['device', 'add', 'pg-1', '--json'], extra)).stdout);
    const database = await testDb.open();
    try {
      const rows = await database.rows<{ hash: string }>("select hash from tokens where device_id = 'pg-1'");
      expect(rows).toHaveLength(1);
      expect(rows[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(await database.rows('select * from tokens'))).not.toContain(issued.token);
    } finally {
      await database.close();
    }
  }, 300_000);
});
