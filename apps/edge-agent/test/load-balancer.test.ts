/**
 * The production recipe on loopback: Debian's HAProxy with infra/cluster/haproxy.cfg terminates TLS in
 * front of three hubs (one in-process, two in processes of their own) sharing PostgreSQL and Redis.
 * Agents connect through it with `hub.ca`; one hub is SIGKILLed, another stopped with SIGTERM (1001);
 * their agents come back through the balancer to the hubs left, and every reading is stored exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningHub } from '@edgewire/hub';
import {
  createTestDatabase,
  freePort,
  makeCertificates,
  TEST_REDIS_URL,
  type TestCertificates,
  type TestDatabase,
  waitFor,
} from '@edgewire/hub/test-support';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type HubProcess, spawnHub } from '../../hub/test/hub-process.js';
import { type RunningAgent, startAgent } from '../src/agent.js';
import { parseConfig } from '../src/config.js';
import { CounterLine, gapsAndDuplicates } from './support/counter-line.js';
import { captureLogs } from './support/log-capture.js';
import { PtyPair } from './support/pty-pair.js';

const HAPROXY_CFG = fileURLToPath(new URL('../../../infra/cluster/haproxy.cfg', import.meta.url));
const AGENTS = 4;

let certs: TestCertificates;
let testDb: TestDatabase;
let prefix: string;
let inProcess: RunningHub;
let processes: HubProcess[] = [];
let haproxy: ChildProcess;
let lbPort: number;
const dirs: string[] = [];
const agents: Array<{ id: string; agent: RunningAgent; counter: CounterLine; pty: PtyPair }> = [];

const tempDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), name));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  certs = await makeCertificates();
  testDb = await createTestDatabase('postgres');
  prefix = `edgewire-lb-${randomBytes(6).toString('hex')}`;
  const { startHub } = await import('@edgewire/hub');
  // The first hub migrates the database before the others start.
  inProcess = await startHub({
    host: '127.0.0.1',
    port: 0,
    dataDir: undefined,
    databaseUrl: testDb.url,
    redisUrl: TEST_REDIS_URL,
    redisPrefix: prefix,
    trustProxy: ['127.0.0.1'],
    logLevel: 'warn',
    logDestination: { write: () => undefined },
    env: {},
  });
  const env = (name: string) => ({
    DATABASE_URL: testDb.url!,
    REDIS_URL: TEST_REDIS_URL,
    EDGEWIRE_REDIS_PREFIX: prefix,
    EDGEWIRE_DATA_DIR: tempDir(`edgewire-lb-${name}-`),
    EDGEWIRE_TRUST_PROXY: '127.0.0.1',
  });
  processes = await Promise.all([spawnHub(env('hub-2')), spawnHub(env('hub-3'))]);
  lbPort = await freePort();
  const hostPort = (url: string) => new URL(url).host;
  haproxy = spawn('haproxy', ['-db', '-f', HAPROXY_CFG], {
    env: {
      ...process.env,
      EDGEWIRE_LB_BIND: `127.0.0.1:${lbPort}`,
      EDGEWIRE_LB_CERT: certs.pemBundleFile,
      EDGEWIRE_HUB_1: hostPort(inProcess.url),
      EDGEWIRE_HUB_2: hostPort(processes[0]!.url),
      EDGEWIRE_HUB_3: hostPort(processes[1]!.url),
    },
    stdio: 'ignore',
  });
}, 120_000);

afterAll(async () => {
  for (const { agent, counter, pty } of agents) {
    counter.stop();
    await agent.close();
    await pty.unplug();
  }
  haproxy?.kill('SIGKILL');
  await Promise.all(processes.map((hub) => hub.kill('SIGKILL')));
  await inProcess?.close();
  await testDb?.drop();
  certs?.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function stored(deviceId: string): Promise<number[]> {
  const rows = await inProcess.database.rows<{ value: number }>(
    `select value from readings where device_id = '${deviceId}' and metric = 'n' order by time`,
  );
  return rows.map((row) => Number(row.value));
}

/** The process hub (index) that holds at least one of our agents, read from its log. */
function holderOfAgents(candidates: HubProcess[]): HubProcess | undefined {
  return candidates.find((hub) =>
    agents.some(({ id }) => hub.output().includes(`"device":"${id}","kind":"device"`)),
  );
}

it('keeps every reading, exactly once, while hubs behind the balancer are killed and stopped', async () => {
  for (let i = 0; i < AGENTS; i++) {
    const id = `lb-pi-${i}`;
    const { token } = await inProcess.admin.addDevice(id);
    const pty = new PtyPair(tempDir('edgewire-lb-pty-'));
    await pty.plug();
    const config = parseConfig({
      deviceId: id,
      hub: { url: `https://127.0.0.1:${lbPort}`, ca: certs.caFile },
      buffer: { path: join(tempDir('edgewire-lb-agent-'), 'buffer.db'), flushIntervalMs: 100 },
      connection: { initialBackoffMs: 200, maxBackoffMs: 1000 },
      sensors: [{ type: 'serial', path: pty.agentPath, baudRate: 115200, parser: { format: 'json' } }],
    });
    const agent = await startAgent(config, { token, logger: captureLogs('warn').logger });
    const counter = new CounterLine(pty);
    agents.push({ id, agent, counter, pty });
    await waitFor(`${id} connected through the balancer`, () => agent.state === 'CONNECTED', 30_000);
  }
  for (const { counter } of agents) counter.start(20);
  const flowing = async (atLeast: number) => {
    for (const { id } of agents) {
      await waitFor(
        `${atLeast} readings of ${id} stored`,
        async () => (await stored(id)).length >= atLeast,
        60_000,
        200,
      );
    }
  };
  await flowing(20);

  // leastconn spreads the agents over all three hubs: one of the process hubs holds some.
  const victim = await waitFor('a process hub holding agents', () => holderOfAgents(processes), 10_000);
  await victim.kill('SIGKILL');
  await flowing(120);

  const last = processes.find((hub) => hub !== victim)!;
  const lastHeld = holderOfAgents([last]);
  const exit = await last.kill('SIGTERM');
  expect(exit).toBe(0);
  if (lastHeld) expect(last.output()).toContain('"code":1001');
  await flowing(220);

  for (const { counter } of agents) counter.stop();
  for (const { id, counter, agent } of agents) {
    const sent = counter.next;
    const values = await waitFor(
      `all ${sent} readings of ${id} stored`,
      async () => {
        const found = await stored(id);
        return found.length >= sent && found;
      },
      60_000,
      200,
    );
    expect(gapsAndDuplicates(values, 0, sent - 1), id).toEqual({ missing: [], duplicated: [] });
    expect(agent.state).toBe('CONNECTED');
  }
}, 300_000);
