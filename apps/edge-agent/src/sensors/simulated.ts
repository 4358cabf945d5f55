/**
 * Waveforms with gaussian noise, for demos and the one-command run: a dashboard gets believable
 * curves without any hardware.
 */
import type { Reading } from '@edgewire/protocol';
import type { SimulatedSensorConfig, WaveConfig } from '../config.js';
import type { Sensor, SensorContext } from './sensor.js';

/** A sample of one signal at time `tSec`; `state` carries a random walk's position between samples. */
export function sampleWave(
  wave: WaveConfig,
  tSec: number,
  state: { walk?: number },
  random = Math.random,
): number {
  const span = wave.max - wave.min;
  const phase = (((tSec / wave.periodSec) % 1) + 1) % 1;
  let value: number;
  switch (wave.wave) {
    case 'sine':
      value = wave.min + (span * (1 + Math.sin(2 * Math.PI * phase))) / 2;
      break;
    case 'square':
      value = phase < 0.5 ? wave.max : wave.min;
      break;
    case 'sawtooth':
      value = wave.min + span * phase;
      break;
    case 'random-walk': {
      const step = (random() - 0.5) * span * 0.02;
      const at = (state.walk ?? wave.min + span / 2) + step;
      state.walk = Math.min(wave.max, Math.max(wave.min, at));
      value = state.walk;
      break;
    }
  }
  return value + wave.noise * gaussian(random);
}

/** Box-Muller: a standard normal sample. */
function gaussian(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export class SimulatedSensor implements Sensor {
  readonly name: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly config: SimulatedSensorConfig) {
    this.name = config.name;
  }

  async start(context: SensorContext): Promise<void> {
    const states = this.config.signals.map(() => ({}));
    const intervalMs = 1000 / this.config.rateHz;
    // Timers coarser than the sample rate would drop samples; sample by elapsed time instead.
    const tickMs = Math.max(intervalMs, 10);
    let next = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      const readings: Reading[] = [];
      for (; next <= now; next += intervalMs) {
        const ts = Math.round(next);
        this.config.signals.forEach((wave, i) => {
          const reading: Reading = {
            metric: wave.metric,
            value: sampleWave(wave, ts / 1000, states[i]!),
            ts,
          };
          if (wave.unit) reading.unit = wave.unit;
          readings.push(reading);
        });
      }
      if (readings.length > 0) context.emit(readings);
    }, tickMs);
  }

  async check(): Promise<string> {
    return `${this.config.signals.length} simulated signal(s) at ${this.config.rateHz} Hz`;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}
