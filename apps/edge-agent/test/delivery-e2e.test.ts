/**
 * The promise users trust the agent for, end to end: real hub, real PostgreSQL, real ptys, the agent
 * in-process or as a child process killed with SIGKILL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestDatabase,
  sleep,
  startTcpProxy,
  startTestHub,
  storageWriter,
  storedValues,
  type TestDatabase,
  type TestHub,
  waitFor,
} from '@edgewire/hub/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgent } from '../src/agent.js';
import { ReadingBuffer } from '../src/buffer/reading-buffer.js';
import { type AgentConfigInput, parseConfig } from '../src/config.js';
import { spawnAgentProcess } from './support/agent-process.js';
import { CounterLine, gapsAndDuplicates } from './support/counter-line.js';
import { captureLogs } from './support/log-capture.js';
import { PtyPair } from './support/pty-pair.js';
import { tempDir } from './support/temp-dir.js';

let testDb: TestDatabase;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
beforeEach(async () => {
  testDb = await createTestDatabase('postgres');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await testDb.drop();
});

async function hubFor(options: Parameters<typeof startTestHub>[0] = {}): Promise<TestHub> {
  const hub = await startTestHub({ databaseUrl: testDb.url!, logLevel: 'info', ...options });
  cleanups.push(() => hub.close());
  return hub;
}

async function ptyPair(): Promise<PtyPair> {
  const pty = new PtyPair(tempDir('agent-e2e-pty-'));
  await pty.plug();
  cleanups.push(() => pty.unplug());
  return pty;
}

function agentConfig(
  hub: { url: string },
  deviceId: string,
  pty: PtyPair,
  extra: Partial<AgentConfigInput> = {},
): AgentConfigInput {
  return {
    deviceId,
    hub: { url: hub.url },
    buffer: { path: join(tempDir('agent-e2e-'), 'buffer.db'), flushIntervalMs: 100 },
    connection: { initialBackoffMs: 200, maxBackoffMs: 1000 },
    sensors: [
      {
        type: 'serial',
        path: pty.agentPath,
        baudRate: 115200,
        parser: { format: 'json' },
        reopen: { initialMs: 50, maxMs: 500 },
      },
    ],
    ...extra,
  };
}

async function runAgent(config: AgentConfigInput, token: string) {
  const logs = captureLogs('info');
  const agent = await startAgent(parseConfig(config), { token, logger: logs.logger });
  cleanups.push(() => agent.close());
  await waitFor(
    'the agent to connect and open its port',
    () => agent.state === 'CONNECTED' && logs.lines.some((l) => l.msg === 'serial port open'),
  );
  return { agent, logs };
}

describe('agent → hub → PostgreSQL', () => {
  it('stores a reading fed on the serial line exactly once, also across an agent restart', async () => {
    const hub = await hubFor();
    const { token } = await hub.admin.addDevice('serial-pi');
    const pty = await ptyPair();
    const config = agentConfig(hub, 'serial-pi', pty, {
      sensors: [
        {
          type: 'serial',
          path: pty.agentPath,
          parser: { format: 'kv', fields: { t: { metric: 'temperature', unit: '°C', scale: 0.1 } } },
        },
      ],
    });
    const before = Date.now();
    const first = await runAgent(config, token);
    pty.write('t=215\n');
    await waitFor(
      'the reading in storage',
      async () => (await storedValues(hub.database, 'serial-pi', 'temperature')).length === 1,
    );
    await waitFor('the ack', () => first.agent.stats().ackedSeq > 0);
    await first.agent.close();
    // A restarted agent has nothing left to send: the ack covered the reading. Once a newer reading
    // went through, the old one has had every chance to be sent again, and was not.
    const second = await runAgent(config, token);
    expect(second.agent.stats().buffer.readings).toBe(0);
    pty.write('t=216\n');
    await waitFor(
      'the newer reading in storage',
      async () => (await storedValues(hub.database, 'serial-pi', 'temperature')).length === 2,
    );
    expect(second.agent.stats().sentReadings).toBe(1);

    const rows = await hub.database.rows<{ value: number; unit: string; time: Date }>(
      "select value, unit, time from readings where device_id = 'serial-pi' order by time",
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ value: 21.5, unit: '°C' });
    expect(rows[1]).toMatchObject({ value: 21.6, unit: '°C' });
    expect(new Date(rows[0]!.time).getTime()).toBeGreaterThanOrEqual(before);
  });

  it('stores every reading of a burst, those read in the same millisecond included', async () => {
    const hub = await hubFor();
    const { token } = await hub.admin.addDevice('burst-pi');
    const pty = await ptyPair();
    await runAgent(agentConfig(hub, 'burst-pi', pty), token);
    // Fifty lines in one write are read and timestamped within a millisecond or two; the hub stores one
    // reading per (device, metric, ts), so each must get a time of its own.
    pty.write(Array.from({ length: 50 }, (_, n) => `{"burst": ${n}}\n`).join(''));
    const values = await waitFor('fifty stored readings', async () => {
      const stored = await storedValues(hub.database, 'burst-pi', 'burst');
      return stored.length === 50 && stored;
    });
    expect(values).toEqual(Array.from({ length: 50 }, (_, n) => n));
  });

  it('hub stopped for 10 s mid-stream, then restarted: every reading arrives once, in order', async () => {
    let hub = await hubFor();
    // The agent reaches "the hub" through a proxy, so the restarted hub can listen on a fresh port
    // instead of hoping nobody took the old one meanwhile. The proxy reads `target` per connection.
    const target = { host: '127.0.0.1', port: Number(new URL(hub.url).port) };
    const proxy = await startTcpProxy(target);
    cleanups.push(() => proxy.close());
    const { token } = await hub.admin.addDevice('outage-pi');
    const pty = await ptyPair();
    const { agent, logs } = await runAgent(
      agentConfig({ url: `http://127.0.0.1:${proxy.port}` }, 'outage-pi', pty),
      token,
    );
    const counter = new CounterLine(pty);
    counter.start(10);
    cleanups.push(() => counter.stop());
    await waitFor(
      'readings flowing into storage',
      async () => (await storedValues(hub.database, 'outage-pi', 'n')).length >= 50,
    );

    await hub.close();
    await waitFor('the agent to notice', () => agent.state === 'RETRYING');
    await sleep(10_000);
    expect(agent.stats().buffer.readings).toBeGreaterThan(500);

    hub = await hubFor();
    target.port = Number(new URL(hub.url).port);
    await waitFor('the agent to reconnect', () => agent.state === 'CONNECTED', 5000);
    await sleep(500);
    counter.stop();
    const last = counter.next - 1;
    const values = await waitFor(
      'every reading in storage',
      async () => {
        const stored = await storedValues(hub.database, 'outage-pi', 'n');
        return stored.length >= last + 1 && stored;
      },
      15_000,
      200,
    );
    expect(gapsAndDuplicates(values, 0, last)).toEqual({ missing: [], duplicated: [] });
    // Ordered by time, the values count up: order per metric survived the outage.
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(logs.lines.filter((l) => l.msg === 'hub connection RETRYING')).toHaveLength(1);
  }, 60_000);

  it('database cut mid-stream: the hub refuses with rate_limited, the agent pauses and resends, nothing is lost', async () => {
    const proxy = await startTcpProxy({
      host: new URL(testDb.url!).hostname,
      port: Number(new URL(testDb.url!).port || 5432),
    });
    cleanups.push(() => proxy.close());
    // A storage queue smaller than the agent's window (8 frames of ~20 readings), so a short outage fills
    // it and the hub starts refusing.
    const hub = await hubFor({
      databaseUrl: proxy.urlFor(testDb.url!),
      telemetrySink: storageWriter({ maxQueueBytes: 4000, retryMaxMs: 200 }),
    });
    const { token } = await hub.admin.addDevice('db-outage-pi');
    const pty = await ptyPair();
    const { logs } = await runAgent(agentConfig(hub, 'db-outage-pi', pty), token);
    const counter = new CounterLine(pty);
    counter.start(5);
    cleanups.push(() => counter.stop());
    await waitFor(
      'readings flowing into storage',
      async () => (await storedValues(hub.database, 'db-outage-pi', 'n')).length >= 50,
    );

    proxy.cut();
    await waitFor(
      'a rate_limited refusal',
      () => logs.lines.some((l) => l.msg === 'hub storage is behind: pausing, then resending'),
      10_000,
    );
    await sleep(2000);
    proxy.restore();
    await sleep(1000);
    counter.stop();
    const last = counter.next - 1;
    // Each refusal doubles the agent's pause, up to 30 s (PAUSE_MAX_MS): on a loaded machine the writer may
    // still refuse a resend or two after the restore, so the last pause can reach the cap. On a timeout
    // the test fails naming the missing readings rather than with a bare "timed out".
    const values = await waitFor(
      'every reading in storage',
      async () => {
        const stored = await storedValues(hub.database, 'db-outage-pi', 'n');
        return stored.length >= last + 1 && stored;
      },
      90_000,
      200,
    ).catch(async () => storedValues(hub.database, 'db-outage-pi', 'n'));
    expect(gapsAndDuplicates(values, 0, last)).toEqual({ missing: [], duplicated: [] });
    expect(values).toEqual([...values].sort((a, b) => a - b));
  }, 150_000);

  it('agent killed with SIGKILL mid-stream and restarted: nothing it committed is lost, nothing duplicated', async () => {
    const hub = await hubFor();
    const { token } = await hub.admin.addDevice('kill-pi');
    const pty = await ptyPair();
    const dir = tempDir('agent-kill-');
    const configPath = join(dir, 'agent.yaml');
    const bufferPath = join(dir, 'buffer.db');
    const config = agentConfig(hub, 'kill-pi', pty, {
      buffer: { path: bufferPath, flushIntervalMs: 100 },
      // A narrow window and a low rate keep many readings unacknowledged at the moment of the kill.
      delivery: { window: 1, maxReadingsPerFrame: 20, maxReadingsPerSec: 50 },
    });
    writeFileSync(configPath, JSON.stringify(config));

    const spawnAgent = async () => {
      const agent = spawnAgentProcess(configPath, token);
      cleanups.push(() => agent.child.kill('SIGKILL'));
      await waitFor(
        'the child agent to open its port and connect',
        () =>
          agent.output().includes('serial port open') && agent.output().includes('hub connection CONNECTED'),
        15_000,
      );
      return agent;
    };

    const first = await spawnAgent();
    const counter = new CounterLine(pty);
    counter.start(5);
    cleanups.push(() => counter.stop());
    await waitFor(
      'readings flowing into storage',
      async () => (await storedValues(hub.database, 'kill-pi', 'n')).length >= 60,
      15_000,
    );
    await sleep(1000);
    counter.stop();
    first.child.kill('SIGKILL');
    await first.exited;
    const writtenBeforeKill = counter.next - 1;

    const storedAtKill = await storedValues(hub.database, 'kill-pi', 'n');
    const buffer = new ReadingBuffer({ path: bufferPath, maxBytes: 1e9, flushIntervalMs: 60_000 });
    const bufferedAtKill = buffer.readAfter(0, 1_000_000).map((r) => r.value);
    buffer.close();
    expect(bufferedAtKill.length).toBeGreaterThan(20);
    const committed = Math.max(...storedAtKill, ...bufferedAtKill);

    await spawnAgent();
    const resumeFrom = counter.next;
    counter.start(5);
    await sleep(500);
    counter.stop();
    const last = counter.next - 1;
    const values = await waitFor(
      'the buffered and the new readings in storage',
      async () => {
        const stored = await storedValues(hub.database, 'kill-pi', 'n');
        return (
          stored.includes(last) && stored.filter((v) => v <= committed).length >= committed + 1 && stored
        );
      },
      20_000,
      200,
    );
    // Everything up to the last commit before the kill, and everything after the restart: once each.
    expect(gapsAndDuplicates(values, 0, committed)).toEqual({ missing: [], duplicated: [] });
    expect(gapsAndDuplicates(values, resumeFrom, last)).toEqual({ missing: [], duplicated: [] });
    expect(gapsAndDuplicates(values, 0, last).duplicated).toEqual([]);
    // Only lines the killed agent had not read or committed yet (its last group-commit window, or a
    // second of lag on a busy machine) can be missing.
    expect(committed).toBeGreaterThan(writtenBeforeKill - 200);
  }, 90_000);
});
