import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@edgewire/hub/test-support';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseConfig,
  type SimulatedSensorConfig,
  type SystemSensorConfig,
  type WaveConfig,
} from '../src/config.js';
import { SimulatedSensor, sampleWave } from '../src/sensors/simulated.js';
import { readCpuTemperature, SystemSensor } from '../src/sensors/system.js';
import { sensorContext } from './support/sensor-context.js';
import { tempDir } from './support/temp-dir.js';

const sensorConfig = <T>(sensor: Record<string, unknown>) =>
  parseConfig({ deviceId: 'pi', hub: { url: 'ws://h' }, sensors: [sensor] }).sensors[0] as T;

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('simulated sensor', () => {
  it('keeps every noiseless waveform within [min, max]', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('sine', 'square', 'sawtooth', 'random-walk'),
        fc.double({ min: -1000, max: 1000, noNaN: true }),
        fc.double({ min: 0.001, max: 1000, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (wave, min, span, times) => {
          const config = { metric: 'm', wave, min, max: min + span, periodSec: 7, noise: 0 } as WaveConfig;
          const state = {};
          for (const t of times) {
            const v = sampleWave(config, t, state);
            expect(v).toBeGreaterThanOrEqual(min - 1e-9);
            expect(v).toBeLessThanOrEqual(min + span + 1e-9);
          }
        },
      ),
    );
  });

  it('adds gaussian noise of the configured size', () => {
    const wave = { metric: 'm', wave: 'square', min: 10, max: 10, periodSec: 1, noise: 2 } as WaveConfig;
    const samples = Array.from({ length: 20_000 }, (_, i) => sampleWave(wave, i / 1000, {}));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length);
    expect(mean).toBeCloseTo(10, 1);
    expect(sd).toBeGreaterThan(1.9);
    expect(sd).toBeLessThan(2.1);
  });

  it('emits every signal at the configured rate, with units', async () => {
    const sensor = new SimulatedSensor(
      sensorConfig<SimulatedSensorConfig>({
        type: 'simulated',
        rateHz: 100,
        signals: [{ metric: 'temp', unit: '°C' }, { metric: 'hum' }],
      }),
    );
    const { context, readings } = sensorContext();
    await sensor.start(context);
    stops.push(() => sensor.stop());
    // Samples are taken by elapsed time, so their timestamps, not the wall clock of a busy machine, say
    // the rate: one second of them holds exactly 100 per signal, 10 ms apart.
    const temps = () => readings.filter((r) => r.metric === 'temp');
    await waitFor(
      'a second of samples',
      () => temps().length > 0 && temps().at(-1)!.ts - temps()[0]!.ts >= 1000,
    );
    const start = temps()[0]!.ts;
    const second = (metric: string) => readings.filter((r) => r.metric === metric && r.ts < start + 1000);
    expect(second('temp')).toHaveLength(100);
    expect(second('hum').map((r) => r.ts)).toEqual(second('temp').map((r) => r.ts));
    expect(second('temp').every((r, i) => i === 0 || r.ts - second('temp')[i - 1]!.ts === 10)).toBe(true);
    expect(temps()[0]!.unit).toBe('°C');
  });
});

describe('system sensor', () => {
  it('reads the CPU temperature from the first thermal zone that has one', async () => {
    const root = tempDir('thermal-');
    mkdirSync(join(root, 'thermal_zone0'));
    mkdirSync(join(root, 'thermal_zone1'));
    mkdirSync(join(root, 'cooling_device0'));
    writeFileSync(join(root, 'thermal_zone1', 'temp'), '48312\n');
    expect(await readCpuTemperature(root)).toBeCloseTo(48.312);
    expect(await readCpuTemperature(join(root, 'missing'))).toBeUndefined();
  });

  it('reports temperature, load, memory and disk with units, prefixed', async () => {
    const root = tempDir('thermal-');
    mkdirSync(join(root, 'thermal_zone0'));
    writeFileSync(join(root, 'thermal_zone0', 'temp'), '51000\n');
    const sensor = new SystemSensor(
      sensorConfig<SystemSensorConfig>({ type: 'system', prefix: 'pi_', intervalSec: 3600 }),
      root,
    );
    const { context, readings } = sensorContext();
    await sensor.start(context);
    stops.push(() => sensor.stop());
    await waitFor('a sample', () => readings.length > 0);
    const byMetric = Object.fromEntries(readings.map((r) => [r.metric, r]));
    expect(byMetric.pi_cpu_temp).toMatchObject({ value: 51, unit: '°C' });
    expect(byMetric.pi_load1!.value).toBeGreaterThanOrEqual(0);
    expect(byMetric.pi_mem_used_pct!.value).toBeGreaterThan(0);
    expect(byMetric.pi_mem_used_pct!.value).toBeLessThan(100);
    expect(byMetric.pi_disk_used_pct).toMatchObject({ unit: '%' });
  });
});
