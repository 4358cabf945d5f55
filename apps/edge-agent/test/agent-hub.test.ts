/**
 * The agent against a real in-process hub (on PostgreSQL): live readings, commands to outputs and
 * their results, and what the hub's close codes make the agent do.
 */
import { join } from 'node:path';
import { createTestDatabase, startTestHub, type TestHub, waitFor } from '@edgewire/hub/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningAgent, startAgent } from '../src/agent.js';
import { BYTES_PER_READING, ReadingBuffer } from '../src/buffer/reading-buffer.js';
import { type AgentConfigInput, parseConfig } from '../src/config.js';
import { FakeGpioChip } from './support/fake-gpio.js';
import { fakeSysfsGpio, PI4_KERNEL_6_6 } from './support/fake-sysfs.js';
import { captureLogs } from './support/log-capture.js';
import { tempDir } from './support/temp-dir.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function hub(overrides: { maxFrameBytes?: number } = {}): Promise<TestHub> {
  // PostgreSQL rather than embedded PGlite: a hub starts in a second instead of tens on a busy machine.
  const testDb = await createTestDatabase('postgres');
  cleanups.push(() => testDb.drop());
  const running = await startTestHub({ databaseUrl: testDb.url, logLevel: 'info', ...overrides });
  cleanups.push(() => running.close());
  return running;
}

async function agent(
  h: TestHub,
  deviceId: string,
  token: string,
  extra: Partial<AgentConfigInput> = {},
  gpio?: FakeGpioChip,
) {
  const logs = captureLogs('info');
  const config = parseConfig({
    deviceId,
    hub: { url: h.url },
    buffer: { path: join(tempDir('agent-hub-'), 'buffer.db'), flushIntervalMs: 50 },
    connection: { initialBackoffMs: 100, maxBackoffMs: 400, refusedRetryMs: 500 },
    ...extra,
  });
  const running: RunningAgent = await startAgent(config, {
    token,
    logger: logs.logger,
    ...(gpio ? { gpio: { factory: gpio.factory, sysfsRoot: fakeSysfsGpio(PI4_KERNEL_6_6) } } : {}),
  });
  cleanups.push(() => running.close());
  return { agent: running, logs };
}

/** An operator's client connection with `filters` subscribed at connect time. */
async function operator(
  h: TestHub,
  permissions: Array<{ filter: string; access: 'read' | 'readwrite' }>,
  filters: string[],
) {
  const { token } = await h.admin.addToken({ permissions });
  const ws = new WebSocket(`${h.url.replace('http', 'ws')}/ws`, {
    headers: { Authorization: `Bearer ${token}`, Topics: filters.join(',') },
  });
  cleanups.push(() => ws.close());
  const messages: Array<{ type: string; topic?: string; payload?: Record<string, unknown> }> = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await waitFor('the operator welcome', () => messages.some((m) => m.type === 'welcome'));
  return { ws, messages };
}

describe('agent with a real hub', () => {
  it('streams simulated readings that a dashboard sees live', async () => {
    const h = await hub();
    const { token } = await h.admin.addDevice('pi-live');
    const dashboard = await operator(
      h,
      [{ filter: 'devices/+/telemetry/#', access: 'read' }],
      ['devices/pi-live/telemetry/#'],
    );
    await agent(h, 'pi-live', token, {
      sensors: [
        { type: 'simulated', rateHz: 20, signals: [{ metric: 'temperature', unit: '°C', min: 18, max: 24 }] },
      ],
    });
    await waitFor(
      'ten live readings',
      () =>
        dashboard.messages.filter((m) => m.topic === 'devices/pi-live/telemetry/temperature').length >= 10,
    );
    const reading = dashboard.messages.find((m) => m.topic === 'devices/pi-live/telemetry/temperature')!;
    expect(reading.payload).toMatchObject({ unit: '°C' });
    expect(reading.payload!.value).toBeGreaterThan(17);
    expect(reading.payload!.value).toBeLessThan(25);
  });

  it('drives a GPIO output on a hub command and publishes the result', async () => {
    const h = await hub();
    const { token } = await h.admin.addDevice('pi-cmd');
    const chip = new FakeGpioChip();
    const { agent: a } = await agent(
      h,
      'pi-cmd',
      token,
      { sensors: [{ type: 'gpio', outputs: [{ pin: 27, command: 'relay' }] }] },
      chip,
    );
    await waitFor('the agent to connect', () => a.state === 'CONNECTED');
    const op = await operator(
      h,
      [
        { filter: 'devices/pi-cmd/cmd/#', access: 'readwrite' },
        { filter: 'devices/pi-cmd/cmd-result/#', access: 'read' },
      ],
      ['devices/pi-cmd/cmd-result/#'],
    );
    op.ws.send(
      JSON.stringify({ type: 'pub', topic: 'devices/pi-cmd/cmd/relay', payload: { value: 1, id: 'op-1' } }),
    );
    const result = await waitFor('the command result', () =>
      op.messages.find((m) => m.topic === 'devices/pi-cmd/cmd-result/relay'),
    );
    expect(result.payload).toMatchObject({ ok: true, value: 1, ref: 'op-1' });
    expect(chip.line(539).physical).toBe(1);
    // The agent said which commands it answers: an operator subscribing later gets the list at once.
    const later = await operator(
      h,
      [{ filter: 'devices/pi-cmd/#', access: 'read' }],
      ['devices/pi-cmd/cmd-list'],
    );
    const advertised = await waitFor('the command list', () =>
      later.messages.find((m) => m.topic === 'devices/pi-cmd/cmd-list'),
    );
    expect(advertised.payload).toEqual({ commands: ['relay'] });
  });

  it('says the token was revoked when the device is deleted, and keeps retrying', async () => {
    const h = await hub();
    const { token } = await h.admin.addDevice('pi-gone');
    const { agent: a, logs } = await agent(h, 'pi-gone', token);
    await waitFor('the agent to connect', () => a.state === 'CONNECTED');
    await h.admin.removeDevice('pi-gone');
    await waitFor('RETRYING', () => a.state === 'RETRYING', 5000);
    const line = logs.lines.find((l) => l.msg === 'hub connection RETRYING');
    expect(String(line?.reason)).toContain('revoked the token or deleted the device (4003)');
    // Reconnecting with the deleted device's token is refused before the upgrade.
    await waitFor(
      'the refusal',
      () => logs.lines.some((l) => String(l.reason ?? '').includes('refused the token (HTTP 40')),
      5000,
    );
    expect(logs.text()).not.toContain(token);
  });

  it('says loudly that another agent uses the device id when a second one connects', async () => {
    const h = await hub();
    const { token } = await h.admin.addDevice('pi-twin');
    const first = await agent(h, 'pi-twin', token);
    await waitFor('the first agent to connect', () => first.agent.state === 'CONNECTED');
    await agent(h, 'pi-twin', token);
    const line = await waitFor('the first agent to be replaced', () =>
      first.logs.lines.find((l) => l.msg === 'hub connection RETRYING'),
    );
    expect(line.level).toBe(50);
    expect(String(line.reason)).toContain(
      'REPLACED (4009): another agent is connected with device id pi-twin',
    );
  });

  it("sends smaller frames when the hub's frame limit is lower than the agent's", async () => {
    const h = await hub({ maxFrameBytes: 4096 });
    const { token } = await h.admin.addDevice('pi-small');
    const dashboard = await operator(
      h,
      [{ filter: 'devices/+/telemetry/#', access: 'read' }],
      ['devices/pi-small/telemetry/#'],
    );
    // 2000 readings/s and a commit every 50 ms: about 100 readings (6 KB) per frame at first.
    const { agent: a, logs } = await agent(h, 'pi-small', token, {
      sensors: [{ type: 'simulated', rateHz: 2000, signals: [{ metric: 'vibration' }] }],
    });
    await waitFor(
      'the agent to shrink its frames',
      () => logs.lines.some((l) => String(l.msg).includes('sending smaller frames')),
      10_000,
    );
    await waitFor('readings to flow under the limit', () => a.stats().ackedSeq > 2000, 15_000);
    expect(
      dashboard.messages.filter((m) => m.topic === 'devices/pi-small/telemetry/vibration').length,
    ).toBeGreaterThan(1000);
  });

  it('replays a backlog at the configured pace, not all at once', async () => {
    const h = await hub();
    const { token } = await h.admin.addDevice('pi-backlog');
    const path = join(tempDir('agent-backlog-'), 'buffer.db');
    const backlog = new ReadingBuffer({ path, maxBytes: 1e9, flushIntervalMs: 60_000 });
    const start = Date.now() - 10_000;
    backlog.append(Array.from({ length: 6000 }, (_, i) => ({ metric: 'level', value: i, ts: start + i })));
    backlog.close();

    const began = Date.now();
    const { agent: a } = await agent(h, 'pi-backlog', token, {
      buffer: { path, flushIntervalMs: 50 },
      delivery: { maxReadingsPerSec: 2000 },
    });
    await waitFor('the whole backlog acknowledged', () => a.stats().ackedSeq >= 6000, 15_000);
    // A full bucket (one second's worth) goes at once, the other 4000 readings at 2000/s.
    expect(Date.now() - began).toBeGreaterThanOrEqual(1900);
    expect(a.stats().sentReadings).toBe(6000);
  });

  it('reports its own backlog and evictions as readings an operator can watch', async () => {
    const h = await hub();
    const { token } = await h.admin.addDevice('pi-report');
    const path = join(tempDir('agent-report-'), 'buffer.db');
    // An outage left more than the buffer holds: 3000 readings into room for 1000.
    const backlog = new ReadingBuffer({ path, maxBytes: 1000 * BYTES_PER_READING, flushIntervalMs: 60_000 });
    const start = Date.now() - 10_000;
    backlog.append(Array.from({ length: 3000 }, (_, i) => ({ metric: 'level', value: i, ts: start + i })));
    backlog.close();
    const dashboard = await operator(
      h,
      [{ filter: 'devices/+/telemetry/#', access: 'read' }],
      ['devices/pi-report/telemetry/#'],
    );
    await agent(h, 'pi-report', token, {
      buffer: { path, maxBytes: 1000 * BYTES_PER_READING, flushIntervalMs: 50, reportIntervalSec: 0.5 },
    });
    const evicted = await waitFor('an eviction report', () =>
      dashboard.messages.find((m) => m.topic === 'devices/pi-report/telemetry/agent_evicted_readings_total'),
    );
    expect(evicted.payload!.value).toBe(2000);
    expect(
      dashboard.messages.some((m) => m.topic === 'devices/pi-report/telemetry/agent_buffered_readings'),
    ).toBe(true);
    // What survived the eviction is the newest thousand, delivered.
    const levels = () => dashboard.messages.filter((m) => m.topic === 'devices/pi-report/telemetry/level');
    await waitFor('the kept readings', () => levels().length === 1000);
    expect(levels()[0]!.payload!.value).toBe(2000);
  });
});
