/**
 * A real Redis Cluster for tests: three masters on loopback ports 17000–17099 (random offset, so that
 * suites running at once do not collide), each in a temporary directory, joined with
 * `redis-cli --cluster create`, and killed afterwards. Also the Redis targets the cluster suites run
 * against: the shared single Redis (random key prefix) and such a cluster.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';

const run = promisify(execFile);
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface RedisCluster {
  /** `127.0.0.1:port` of each master. */
  readonly nodes: string[];
  stop(): Promise<void>;
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

async function waitFor(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function tryStart(base: number): Promise<RedisCluster> {
  const ports = [base, base + 1, base + 2];
  for (const port of ports) {
    // The cluster bus listens on port + 10000 too.
    if (!(await portFree(port)) || !(await portFree(port + 10_000))) throw new Error(`port ${port} taken`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'edgewire-redis-cluster-'));
  const servers: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        // Generous: on a loaded CI machine a node that answers late must not be marked failing, which
        // would take the cluster down and drop the hubs' announcements with it.
        '--cluster-node-timeout',
        '15000',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = async () => {
    for (const server of servers) server.kill('SIGKILL');
    await Promise.all(
      servers.map((s) => (s.exitCode === null ? new Promise((r) => s.once('exit', r)) : undefined)),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await waitFor(async () => !(await portFree(port)), `redis-server on ${port}`);
    }
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    await waitFor(async () => {
      for (const port of ports) {
        const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
        try {
          await redis.connect();
          if (!String(await redis.cluster('INFO')).includes('cluster_state:ok')) return false;
        } finally {
          redis.disconnect();
        }
      }
      return true;
    }, 'cluster_state:ok');
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startRedisCluster(): Promise<RedisCluster> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const base = 17_000 + Math.floor(Math.random() * 97);
    try {
      return await tryStart(base);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** How a suite reaches Redis: the hub options to use, and a way to remove its keys afterwards. */
export interface RedisUnderTest {
  readonly name: string;
  readonly options: { redisUrl?: string; redisClusterNodes?: string[] };
  /** A plain client, for a test to look at what the hubs left in Redis. */
  client(): Redis | Cluster;
  /** Deletes every key containing `prefix`. */
  clean(prefix: string): Promise<void>;
  stop(): Promise<void>;
}

export function singleRedis(): RedisUnderTest {
  return {
    name: 'single Redis',
    options: { redisUrl: TEST_REDIS_URL },
    client: () => new Redis(TEST_REDIS_URL),
    clean: async (prefix) => {
      const redis = new Redis(TEST_REDIS_URL);
      const keys = await redis.keys(`*${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
    stop: async () => {},
  };
}

export async function clusterRedis(): Promise<RedisUnderTest> {
  const cluster = await startRedisCluster();
  const client = () =>
    new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })));
  return {
    name: 'Redis Cluster',
    options: { redisClusterNodes: cluster.nodes },
    client,
    // The cluster is the suite's own and is thrown away whole.
    clean: async () => {},
    stop: () => cluster.stop(),
  };
}

/** Every command Redis executes (on every master of a cluster), as argument lists, until `stop`. */
export async function monitorRedis(
  redis: RedisUnderTest,
): Promise<{ commands: string[][]; stop(): Promise<void> }> {
  const commands: string[][] = [];
  const client = redis.client();
  const servers: Redis[] =
    client instanceof Cluster
      ? await new Promise<Redis[]>((resolve) => client.once('ready', () => resolve(client.nodes('master'))))
      : [client];
  const monitors = await Promise.all(servers.map((server) => server.monitor()));
  for (const monitor of monitors) {
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args));
  }
  return {
    commands,
    stop: async () => {
      for (const monitor of monitors) monitor.disconnect();
      await client.quit();
    },
  };
}

/** The Redis setups every cluster suite runs against: `describe.each(REDIS_SETUPS)('… on $name', …)`. */
export const REDIS_SETUPS = [
  { name: 'single Redis', start: async (): Promise<RedisUnderTest> => singleRedis() },
  { name: 'Redis Cluster', start: clusterRedis },
];
