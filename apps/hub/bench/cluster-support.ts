/**
 * Shared by the cluster benchmarks: a private Redis server (so that its CPU and command counts are the
 * benchmark's alone, not those of whatever else uses the machine's Redis), pinned like the generator,
 * and a fresh PostgreSQL database the hubs share for their tokens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { freePort } from '../test/ports.js';
import { GENERATOR_CPU, sleep } from './broker-support.js';

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchRedis {
  readonly url: string;
  /** Redis's own CPU seconds and the calls of the commands that carry messages. */
  stats(): Promise<{ cpuSeconds: number; publishes: number; scripts: number }>;
  stop(): Promise<void>;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const server: ChildProcess = spawn(
    'taskset',
    [
      '-c',
      String(GENERATOR_CPU),
      'redis-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => 100 });
  client.on('error', () => {});
  for (let i = 0; i < 100; i++) {
    try {
      await client.connect();
      break;
    } catch {
      await sleep(50);
    }
  }
  const field = (text: string, name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)?.[1] ?? 0);
  const calls = (text: string, command: string) =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(text)?.[1] ?? 0);
  return {
    url,
    stats: async () => {
      const cpu = await client.info('cpu');
      const commands = await client.info('commandstats');
      return {
        cpuSeconds: field(cpu, 'used_cpu_sys') + field(cpu, 'used_cpu_user'),
        publishes: calls(commands, 'publish') + calls(commands, 'spublish'),
        scripts: calls(commands, 'eval') + calls(commands, 'evalsha'),
      };
    },
    stop: async () => {
      client.disconnect();
      server.kill('SIGKILL');
    },
  };
}

export async function createBenchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `edgewire_bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
