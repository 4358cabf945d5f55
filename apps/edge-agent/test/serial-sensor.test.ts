import { join } from 'node:path';
import { waitFor } from '@edgewire/hub/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent } from '../src/agent.js';
import { parseConfig, type SerialSensorConfig } from '../src/config.js';
import { SerialSensor } from '../src/sensors/serial/serial-sensor.js';
import { captureLogs } from './support/log-capture.js';
import { PtyPair } from './support/pty-pair.js';
import { sensorContext } from './support/sensor-context.js';
import { tempDir } from './support/temp-dir.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(parser: unknown) {
  const pty = new PtyPair(tempDir('agent-serial-'));
  await pty.plug();
  cleanups.push(() => pty.unplug());
  const config = parseConfig({
    deviceId: 'pi-1',
    hub: { url: 'ws://h' },
    sensors: [
      {
        type: 'serial',
        name: 'weather',
        path: pty.agentPath,
        baudRate: 115200,
        parser,
        reopen: { initialMs: 50, maxMs: 200 },
      },
    ],
  }).sensors[0] as SerialSensorConfig;
  const sensor = new SerialSensor(config);
  const { context, readings, logs } = sensorContext();
  await sensor.start(context);
  cleanups.push(() => sensor.stop());
  await waitFor('the port to open', () => logs.lines.some((l) => l.msg === 'serial port open'));
  return { pty, sensor, readings, logs };
}

describe('serial sensor on real pseudo-terminals', () => {
  it('turns lines into readings with their field mapping', async () => {
    const { pty, readings } = await setup({
      format: 'kv',
      fields: { t: { metric: 'temperature', unit: '°C', scale: 0.1 } },
    });
    pty.write('t=215 junk=1\r\nt=-12\n');
    await waitFor('two readings', () => readings.length === 2);
    expect(readings.map((r) => [r.metric, r.value, r.unit])).toEqual([
      ['temperature', 21.5, '°C'],
      ['temperature', -1.2, '°C'],
    ]);
  });

  it('reports lines that give no readings once, without flooding the log', async () => {
    const { pty, readings, logs } = await setup({ format: 'json' });
    for (let i = 0; i < 50; i++) pty.write('boot banner v1.2\n');
    pty.write('{"t": 1}\n');
    await waitFor('the json reading', () => readings.length === 1);
    expect(logs.lines.filter((l) => l.msg === 'serial line gave no readings')).toHaveLength(1);
  });

  it('reopens the port after it is unplugged, for as long as it takes, and reads again when replugged', async () => {
    const { pty, readings, logs } = await setup({ format: 'json' });
    pty.write('{"n": 1}\n');
    await waitFor('the first reading', () => readings.length === 1);

    await pty.unplug();
    await waitFor('the loss to be logged', () =>
      logs.lines.some((l) => l.msg === 'serial port unavailable; reopening'),
    );
    // Several failed attempts while the cable is out: the sensor keeps trying.
    await waitFor(
      'repeated reopen attempts',
      () => logs.lines.filter((l) => l.msg === 'serial port still unavailable').length >= 3,
      5000,
    );
    const opensBefore = logs.lines.filter((l) => l.msg === 'serial port open').length;

    await pty.plug();
    await waitFor(
      'the port to reopen',
      () => logs.lines.filter((l) => l.msg === 'serial port open').length > opensBefore,
      5000,
    );
    pty.write('{"n": 2}\n');
    await waitFor('a reading after the replug', () => readings.length === 2);
    expect(readings.map((r) => r.value)).toEqual([1, 2]);
  });

  it('names the sensor once in each of its log lines, as the agent writes them', async () => {
    const dir = tempDir('agent-serial-logs-');
    const pty = new PtyPair(dir);
    await pty.plug();
    cleanups.push(() => pty.unplug());
    const logs = captureLogs('debug');
    const agent = await startAgent(
      parseConfig({
        deviceId: 'pi-1',
        hub: { url: 'ws://127.0.0.1:1' },
        buffer: { path: join(dir, 'buffer.db'), reportIntervalSec: 0 },
        sensors: [
          {
            type: 'serial',
            name: 'weather',
            path: pty.agentPath,
            parser: { format: 'json' },
            reopen: { initialMs: 50, maxMs: 200 },
          },
        ],
      }),
      { token: 'tok_serial_logs', logger: logs.logger },
    );
    cleanups.push(() => agent.close());
    await waitFor('the port to open', () => logs.lines.some((l) => l.msg === 'serial port open'));
    pty.write('boot banner\n');
    await waitFor('the unparsed line', () =>
      logs.lines.some((l) => l.msg === 'serial line gave no readings'),
    );
    await pty.unplug();
    await waitFor('the loss', () => logs.lines.some((l) => l.msg === 'serial port unavailable; reopening'));

    const raw = logs.text().split('\n');
    const fromSensor = raw.filter((line) => line.includes('"sensor":"weather"'));
    // Started, open, unparsed line, lost: at least these four, each naming the sensor exactly once.
    expect(fromSensor.length).toBeGreaterThanOrEqual(4);
    for (const line of raw) expect(line.match(/"sensor":/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });
});
