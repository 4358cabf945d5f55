/**
 * `edgewire-hub` as users run it: the real bin in a child process, against a temp data directory
 * (embedded PGlite) or a fresh PostgreSQL database.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, startTestHub, TestClient } from './hub-harness.js';

const BIN = fileURLToPath(new URL('../bin/edgewire-hub.js', import.meta.url));
const run = promisify(execFile);

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...rest } = process.env;
  return { ...rest, EDGEWIRE_LOG_LEVEL: 'info', ...extra };
}

async function cli(args: string[], extra: Record<string, string>) {
  return run(process.execPath, [BIN, ...args], { env: env(extra), timeout: 60_000 });
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
let testDb: TestDatabase | undefined;
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await testDb?.drop();
  testDb = undefined;
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgewire-cli-'));
  dirs.push(dir);
  return dir;
}

async function waitFor<T>(probe: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
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
}, 60_000);

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
  }, 90_000);

  it('serves; management commands go through the running hub; SIGTERM closes sockets with 1001 and exits 0', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [BIN, 'serve'], {
      env: env({ EDGEWIRE_DATA_DIR: dir, EDGEWIRE_PORT: '0' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr!.on('data', (chunk) => {
      output += chunk;
    });
    const adminFile = join(dir, 'hub-admin.json');
    await waitFor(() => (existsSync(adminFile) ? true : undefined));
    expect(statSync(adminFile).mode & 0o777).toBe(0o600);
    const { url } = JSON.parse(readFileSync(adminFile, 'utf8')) as { url: string };
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

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect((await deviceSocket.closed).code).toBe(1001);
    expect(await exited).toBe(0);
    expect(existsSync(adminFile)).toBe(false);
    expect(output).toContain('hub stopped');
    expect(output).not.toContain(device.token);
    expect(output).not.toContain(client.token);
    expect(output).not.toContain(apiToken.token);
    expect(output).not.toContain('correct horse');
  }, 180_000);
});

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
  }, 60_000);

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
  }, 60_000);
});
