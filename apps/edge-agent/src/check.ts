/**
 * `edgewire-agent check`: validates the config, opens each sensor once, opens the buffer and tries the
 * hub, then says what works and what does not, so an installer finds every problem in one go.
 *
 * It never disturbs a running agent (found through its status socket): connecting as the device would
 * replace the agent's connection (4009), and the agent holds its serial ports. With an agent running,
 * the hub line reports that agent's own connection instead, and serial ports are left alone.
 */
import { parseServerFrame } from '@edgewire/protocol';
import WebSocket from 'ws';
import { ReadingBuffer } from './buffer/reading-buffer.js';
import type { AgentConfig } from './config.js';
import { retryAfterMs } from './connection/hub-connection.js';
import { deviceSocketUrl } from './connection/hub-url.js';
import { createSensor, type SensorOptions } from './sensors/create-sensor.js';
import { type AgentStatus, askRunningAgent, statusSocketPath } from './status-socket.js';

export interface CheckResult {
  subject: string;
  ok: boolean;
  detail: string;
}

/** One attempt to connect as the device; resolves to what happened, never throws. */
export function probeHub(
  config: AgentConfig,
  token: string | undefined,
  timeoutMs = 10_000,
): Promise<CheckResult> {
  const url = deviceSocketUrl(config.hub.url, config.deviceId);
  const subject = `hub ${url}`;
  if (!token) return Promise.resolve({ subject, ok: false, detail: 'EDGEWIRE_TOKEN is not set' });
  return new Promise((resolve) => {
    const socket = new WebSocket(url, {
      headers: { Authorization: `Bearer ${token}` },
      handshakeTimeout: timeoutMs,
    });
    const done = (ok: boolean, detail: string) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'check done');
      else socket.terminate();
      resolve({ subject, ok, detail });
    };
    const timer = setTimeout(() => done(false, `no welcome within ${timeoutMs} ms`), timeoutMs);
    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status === 401 || status === 403) done(false, `token refused (HTTP ${status})`);
      else if (status === 429)
        done(
          false,
          `busy, retry after ${Math.ceil((retryAfterMs(res.headers['retry-after']) ?? 0) / 1000)} s (HTTP 429)`,
        );
      else done(false, `unexpected HTTP ${status}`);
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      done(false, `cannot connect: ${error.code ?? error.message}`),
    );
    socket.on('message', (data) => {
      const frame = parseServerFrame(data.toString());
      if (frame.ok && frame.frame.type === 'welcome') {
        done(true, `token accepted, heartbeat ${frame.frame.heartbeatSec} s`);
      }
    });
  });
}

export async function runChecks(
  config: AgentConfig,
  token: string | undefined,
  options: SensorOptions & { hub?: boolean } = {},
): Promise<CheckResult[]> {
  const results: CheckResult[] = [
    { subject: 'config', ok: true, detail: `device ${config.deviceId}, ${config.sensors.length} sensor(s)` },
  ];
  const running = await askRunningAgent(statusSocketPath(config.buffer.path));
  if (running) {
    results.push({
      subject: 'agent',
      ok: true,
      detail: `running (pid ${running.pid}); its hub connection and serial ports are left alone`,
    });
  }
  try {
    const buffer = new ReadingBuffer({ ...config.buffer, flushIntervalMs: 10_000 });
    const stats = buffer.stats();
    buffer.close();
    results.push({
      subject: `buffer ${config.buffer.path}`,
      ok: true,
      detail: `${stats.readings} reading(s) waiting, ${stats.evicted} evicted so far`,
    });
  } catch (error) {
    results.push({ subject: `buffer ${config.buffer.path}`, ok: false, detail: (error as Error).message });
  }
  for (const sensorConfig of config.sensors) {
    const sensor = await createSensor(sensorConfig, options);
    const subject = `sensor ${sensor.name} (${sensorConfig.type})`;
    if (running && sensorConfig.type === 'serial') {
      results.push({
        subject,
        ok: true,
        detail: `${sensorConfig.path} not opened: the running agent holds it`,
      });
      continue;
    }
    try {
      results.push({ subject, ok: true, detail: await sensor.check() });
    } catch (error) {
      results.push({ subject, ok: false, detail: (error as Error).message });
    }
  }
  if (options.hub !== false) {
    results.push(running ? runningAgentsHub(config, running) : await probeHub(config, token));
  }
  return results;
}

/** The running agent's own connection, which says more than a probe could and disturbs nothing. */
function runningAgentsHub(config: AgentConfig, running: AgentStatus): CheckResult {
  const subject = `hub ${deviceSocketUrl(config.hub.url, config.deviceId)}`;
  if (running.state === 'CONNECTED') {
    return {
      subject,
      ok: true,
      detail: `the running agent is connected, ${running.buffered} reading(s) waiting`,
    };
  }
  return {
    subject,
    ok: false,
    detail: `the running agent is retrying: ${running.problem ?? 'not connected yet'}`,
  };
}
