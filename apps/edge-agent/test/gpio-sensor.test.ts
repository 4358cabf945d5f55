import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@edgewire/hub/test-support';
import type { Reading } from '@edgewire/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReadingBuffer } from '../src/buffer/reading-buffer.js';
import { CommandRouter } from '../src/commands.js';
import { type GpioSensorConfig, parseConfig } from '../src/config.js';
import { GpioSensor } from '../src/sensors/gpio/gpio-sensor.js';
import { FakeGpioChip } from './support/fake-gpio.js';
import { fakeSysfsGpio, PI4_KERNEL_6_6 } from './support/fake-sysfs.js';
import { captureLogs } from './support/log-capture.js';
import { sensorContext } from './support/sensor-context.js';
import { tempDir } from './support/temp-dir.js';

/** BCM 17 on a Pi 4 with kernel 6.6+. */
const BCM17 = 529;
const BCM27 = 539;

let running: GpioSensor | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
  vi.useRealTimers();
});

/**
 * Debouncing is a matter of milliseconds: on a busy machine a real 5 ms pause can last 50. These tests
 * run the sensor on a clock they move themselves, so "5 ms later" is exactly that.
 */
function useTestClock(): (ms: number) => Promise<void> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  return async (ms) => {
    await vi.advanceTimersByTimeAsync(ms);
  };
}

async function startGpio(sensor: Record<string, unknown>, buffer?: ReadingBuffer) {
  const config = parseConfig({
    deviceId: 'pi-1',
    hub: { url: 'ws://h' },
    sensors: [{ type: 'gpio', ...sensor }],
  }).sensors[0] as GpioSensorConfig;
  const chip = new FakeGpioChip();
  const published: unknown[] = [];
  const commands = new CommandRouter(
    'pi-1',
    captureLogs().logger,
    (text) => published.push(JSON.parse(text)) > 0,
  );
  const { context, readings } = sensorContext({
    ...(buffer ? { buffer } : {}),
    registerCommand: (n, h) => commands.register(n, h),
  });
  const gpio = new GpioSensor(config, { factory: chip.factory, sysfsRoot: fakeSysfsGpio(PI4_KERNEL_6_6) });
  running = gpio;
  await gpio.start(context);
  return { chip, readings, commands, published };
}

const values = (readings: Reading[], metric: string) =>
  readings.filter((r) => r.metric === metric).map((r) => r.value);

describe('gpio sensor (fake chip behind the onoff interface)', () => {
  it('edge mode: reports the initial level, then one reading per settled change despite contact bounce', async () => {
    const advance = useTestClock();
    const { chip, readings } = await startGpio({ inputs: [{ pin: 17, metric: 'door', debounceMs: 20 }] });
    const line = chip.line(BCM17);
    expect(line.edge).toBe('both');
    expect(values(readings, 'door')).toEqual([0]);
    line.bounce(1, 5);
    await advance(19);
    expect(values(readings, 'door')).toEqual([0]);
    await advance(1);
    expect(values(readings, 'door')).toEqual([0, 1]);
    line.bounce(0, 4);
    await advance(20);
    expect(values(readings, 'door')).toEqual([0, 1, 0]);
    await advance(1000);
    expect(values(readings, 'door')).toEqual([0, 1, 0]);
  });

  it('edge mode: a glitch shorter than the debounce time is no change at all', async () => {
    const advance = useTestClock();
    const { chip, readings } = await startGpio({ inputs: [{ pin: 17, metric: 'door', debounceMs: 30 }] });
    const line = chip.line(BCM17);
    line.drive(1);
    await advance(29);
    line.drive(0);
    await advance(1000);
    expect(values(readings, 'door')).toEqual([0]);
    // The same pulse held for the debounce time is a change.
    line.drive(1);
    await advance(30);
    expect(values(readings, 'door')).toEqual([0, 1]);
  });

  it('edge mode with edge: rising reports only rising changes; activeLow inverts the wire', async () => {
    const advance = useTestClock();
    const { chip, readings } = await startGpio({
      inputs: [{ pin: 17, metric: 'button', edge: 'rising', activeLow: true, debounceMs: 5 }],
    });
    const line = chip.line(BCM17);
    // Wire low = pressed = logical 1 with activeLow.
    expect(values(readings, 'button')).toEqual([1]);
    line.drive(1); // released: logical 0, a falling edge, not reported
    await advance(30);
    expect(values(readings, 'button')).toEqual([1]);
    line.drive(0); // pressed again: rising
    await advance(5);
    expect(values(readings, 'button')).toEqual([1, 1]);
  });

  it('pulse mode: counts S0 pulses (bouncy ones once each) into a total and a rate', async () => {
    const advance = useTestClock();
    const { chip, readings } = await startGpio({
      inputs: [
        {
          pin: 17,
          metric: 'energy',
          mode: 'pulse',
          edge: 'rising',
          debounceMs: 3,
          intervalMs: 400,
          unitPerPulse: 1,
          unit: 'Wh',
        },
      ],
    });
    const line = chip.line(BCM17);
    // 12 pulses of 8 ms, 8 ms apart, in the first report interval (400 ms).
    for (let i = 0; i < 12; i++) {
      line.bounce(1, 2);
      await advance(8);
      line.drive(0);
      await advance(8);
    }
    await advance(400 - 12 * 16);
    expect(values(readings, 'energy_total')).toEqual([12]);
    await advance(400);
    expect(values(readings, 'energy_total')).toEqual([12, 12]);
    const rates = readings.filter((r) => r.metric === 'energy_rate');
    expect(rates[0]!.unit).toBe('W');
    expect(readings.find((r) => r.metric === 'energy_total')!.unit).toBe('Wh');
    // 12 Wh in 0.4 s is 108 kW; then nothing.
    expect(rates.map((r) => r.value)).toEqual([108_000, 0]);
  });

  it('sample mode: reads the level every interval', async () => {
    const { chip, readings } = await startGpio({
      inputs: [{ pin: 17, metric: 'float', mode: 'sample', intervalMs: 30 }],
    });
    await waitFor('two samples', () => values(readings, 'float').length >= 2);
    chip.line(BCM17).drive(1);
    await waitFor('a high sample', () => values(readings, 'float').includes(1));
    expect(chip.line(BCM17).edge).toBe('none');
  });

  it('outputs: a hub command drives the pin and is answered with its result', async () => {
    const { chip, readings, commands, published } = await startGpio({
      outputs: [{ pin: 27, command: 'relay', initial: 0 }],
    });
    const relay = chip.line(BCM27);
    expect(relay.direction).toBe('low');
    commands.handle({
      type: 'msg',
      topic: 'devices/pi-1/cmd/relay',
      payload: { value: 'on', id: 'c1' },
      ts: 0,
    });
    await waitFor('a command result', () => published.length === 1);
    expect(relay.physical).toBe(1);
    expect(published[0]).toMatchObject({
      type: 'pub',
      topic: 'devices/pi-1/cmd-result/relay',
      payload: { ok: true, value: 1, pin: 27, ref: 'c1' },
    });
    expect(values(readings, 'relay')).toEqual([1]);

    commands.handle({ type: 'msg', topic: 'devices/pi-1/cmd/relay', payload: { value: 'maybe' }, ts: 0 });
    commands.handle({ type: 'msg', topic: 'devices/pi-1/cmd/heater', payload: 1, ts: 0 });
    await waitFor('two more results', () => published.length === 3);
    expect(relay.physical).toBe(1);
    // Answers may come in any order; each names its command in the topic.
    const byTopic = (topic: string) =>
      published.slice(1).find((p) => (p as { topic: string }).topic === topic);
    expect(byTopic('devices/pi-1/cmd-result/relay')).toMatchObject({
      payload: { ok: false, error: expect.stringContaining('expected {"value"') },
    });
    expect(byTopic('devices/pi-1/cmd-result/heater')).toMatchObject({
      topic: 'devices/pi-1/cmd-result/heater',
      payload: { ok: false, error: 'unknown command "heater"; known: relay' },
    });
  });

  it('stop unexports every line', async () => {
    const { chip } = await startGpio({
      inputs: [{ pin: 17, metric: 'door' }],
      outputs: [{ pin: 27, command: 'relay' }],
    });
    await running!.stop();
    running = undefined;
    expect([...chip.lines.values()].every((line) => !line.exported)).toBe(true);
  });

  it('check reads each input once, and leaves a line the running agent exported alone', async () => {
    const config = parseConfig({
      deviceId: 'pi-1',
      hub: { url: 'ws://h' },
      sensors: [
        {
          type: 'gpio',
          inputs: [
            { pin: 17, metric: 'door' },
            { pin: 22, metric: 'float' },
          ],
          outputs: [{ pin: 27, command: 'relay' }],
        },
      ],
    }).sensors[0] as GpioSensorConfig;
    const sysfsRoot = fakeSysfsGpio(PI4_KERNEL_6_6);
    mkdirSync(join(sysfsRoot, 'gpio529'));
    writeFileSync(join(sysfsRoot, 'gpio529', 'value'), '1\n');
    const chip = new FakeGpioChip();
    const report = await new GpioSensor(config, { factory: chip.factory, sysfsRoot }).check();
    expect(report).toBe(
      'BCM 17 (sysfs 529, in use) reads 1; BCM 22 (sysfs 534) reads 0; BCM 27 (sysfs 539) output',
    );
    expect([...chip.lines.keys()]).toEqual([534]);
    expect(chip.line(534).exported).toBe(false);
  });

  it('pulse mode: the total carries on across an agent restart, as the meter register does', async () => {
    const path = join(tempDir('gpio-counter-'), 'buffer.db');
    const input = {
      pin: 17,
      metric: 'energy',
      mode: 'pulse',
      edge: 'rising',
      debounceMs: 0,
      intervalMs: 100,
      unit: 'Wh',
    };
    const pulse = async (line: { drive(v: 0 | 1): void }, n: number) => {
      for (let i = 0; i < n; i++) {
        line.drive(1);
        line.drive(0);
      }
    };
    let buffer = new ReadingBuffer({ path, maxBytes: 1e9, flushIntervalMs: 60_000 });
    const first = await startGpio({ inputs: [input] }, buffer);
    await pulse(first.chip.line(BCM17), 5);
    await waitFor('total 5', () => values(first.readings, 'energy_total').at(-1) === 5);
    await running!.stop();
    running = undefined;
    buffer.close();

    buffer = new ReadingBuffer({ path, maxBytes: 1e9, flushIntervalMs: 60_000 });
    const second = await startGpio({ inputs: [input] }, buffer);
    await pulse(second.chip.line(BCM17), 2);
    await waitFor('total 7', () => values(second.readings, 'energy_total').at(-1) === 7);
    // The restart itself is no burst of energy: the first rate counts only the new pulses.
    expect(second.readings.find((r) => r.metric === 'energy_rate')!.value).toBeLessThan(2 * 36_000 * 1.5);
    buffer.close();
  });
});
