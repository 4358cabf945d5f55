/**
 * A hub instance killed outright (SIGKILL: no goodbye, no cleanup) gives back what it held: its token's
 * connection slots, its devices' presence (offline, on `devices/{id}/status`) and its operators' place
 * in the device pages' viewer lists, all within 60 s.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pageViewersSchema, type ServerFrame, viewerTopics } from '@edgewire/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiClient } from './api-client.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, refusal, startTestHub, type TestClient, type TestHub } from './hub-harness.js';
import { type HubProcess, spawnHub } from './hub-process.js';
import { REDIS_SETUPS, type RedisUnderTest } from './redis-cluster.js';

type Msg = Extract<ServerFrame, { type: 'msg' }>;

describe.each(REDIS_SETUPS)('on $name', ({ start }) => {
  let redis: RedisUnderTest;
  let testDb: TestDatabase;
  let prefix: string;
  let survivor: TestHub;
  let doomed: HubProcess;
  let dataDir: string;

  beforeAll(async () => {
    redis = await start();
    testDb = await createTestDatabase('postgres');
    prefix = `edgewire-test-${randomBytes(6).toString('hex')}`;
    survivor = await startTestHub({ databaseUrl: testDb.url, redisPrefix: prefix, ...redis.options });
    dataDir = mkdtempSync(join(tmpdir(), 'edgewire-crash-'));
    doomed = await spawnHub({
      DATABASE_URL: testDb.url!,
      EDGEWIRE_REDIS_PREFIX: prefix,
      EDGEWIRE_DATA_DIR: dataDir,
      ...(redis.options.redisUrl ? { REDIS_URL: redis.options.redisUrl } : {}),
      ...(redis.options.redisClusterNodes
        ? { REDIS_CLUSTER_NODES: redis.options.redisClusterNodes.join(',') }
        : {}),
    });
  }, 90_000);
  afterAll(async () => {
    await doomed?.kill('SIGKILL');
    await survivor?.close();
    await testDb?.drop();
    await redis?.clean(prefix);
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("gives back connection slots, marks its devices offline and drops its operators from pages' viewers within 60 s", async () => {
    const limited = await survivor.admin.addToken({
      permissions: [{ filter: 'x/#', access: 'read' }],
      maxConnections: 1,
    });
    const device = await survivor.admin.addDevice('crash-1');
    const viewer = await survivor.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
    const open = (path: string, token: string) =>
      new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(`${doomed.url.replace(/^http/, 'ws')}${path}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        socket.once('message', () => resolve(socket));
        socket.once('error', reject);
      });
    const sockets = [await open('/ws', limited.token), await open('/ws/device/crash-1', device.token)];
    for (const socket of sockets) socket.on('error', () => {});
    const { client: watcher } = await connect(survivor, '/ws', {
      token: viewer.token,
      topics: 'devices/crash-1/status',
    });
    expect((await watcher.nextOfType('msg')).payload).toMatchObject({ online: true });
    expect((await refusal(survivor, '/ws', { token: limited.token })).status).toBe(429);
    // An operator on each hub has the device's page open.
    const page = viewerTopics.device('crash-1');
    const viewers = async (client: TestClient, expected: string[], timeoutMs = 5000) => {
      for (;;) {
        const { payload } = await client.next<Msg>((f) => f.type === 'msg' && f.topic === page, timeoutMs);
        const names = payload === null ? [] : pageViewersSchema.parse(payload).viewers.map((v) => v.name);
        if (JSON.stringify(names) === JSON.stringify(expected)) return;
      }
    };
    const pageOn = async (hub: { url: string }, name: string) => {
      await survivor.admin.addUser(name, 'viewer', 'correct horse battery');
      const api = new ApiClient(hub.url);
      await api.signIn(name, 'correct horse battery');
      return api.socket({ topics: page });
    };
    await viewers(await pageOn(doomed, 'ada'), ['ada']);
    const vic = await pageOn(survivor, 'vic');
    await viewers(vic, ['ada', 'vic']);

    const killedAt = Date.now();
    await doomed.kill('SIGKILL');
    const offline = await watcher.nextOfType('msg', 60_000);
    expect(offline.payload).toMatchObject({ online: false });
    await viewers(vic, ['vic'], 60_000 - (Date.now() - killedAt));
    await expect
      .poll(
        async () =>
          connect(survivor, '/ws', { token: limited.token }).then(
            () => 'accepted',
            () => 'refused',
          ),
        {
          timeout: 60_000 - (Date.now() - killedAt),
          interval: 500,
        },
      )
      .toBe('accepted');
    expect(Date.now() - killedAt).toBeLessThan(60_000);
  }, 90_000);
});
