/**
 * Digital inputs (sampled, on debounced edges, or counting S0 meter pulses) and digital outputs driven
 * by hub commands. Pins are BCM numbers, translated to sysfs numbers for the running kernel.
 *
 * Debouncing is done here rather than by onoff so that a bouncing contact is handled the same way on
 * the real line and in tests: after a raw edge the line must stay quiet for `debounceMs`, then its
 * settled level is read, and only a change of the settled level counts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reading } from '@edgewire/protocol';
import type { GpioInputConfig, GpioOutputConfig, GpioSensorConfig } from '../../config.js';
import type { Sensor, SensorContext } from '../sensor.js';
import { type BinaryValue, type GpioFactory, type GpioLine, onoffFactory } from './gpio-port.js';
import { headerChip, listGpioChips, SYSFS_GPIO_ROOT, sysfsNumber } from './sysfs-numbering.js';

export interface GpioSensorOptions {
  factory?: GpioFactory;
  sysfsRoot?: string;
}

/** `Wh` pulses give a rate in `W`; anything else per hour. */
export function rateUnit(unit: string | undefined): string | undefined {
  if (!unit) return undefined;
  return /Wh$/.test(unit) ? unit.slice(0, -1) : `${unit}/h`;
}

export class GpioSensor implements Sensor {
  readonly name: string;
  private readonly factory: GpioFactory;
  private readonly sysfsRoot: string;
  private readonly lines: GpioLine[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly config: GpioSensorConfig,
    options: GpioSensorOptions = {},
  ) {
    this.name = config.name;
    this.factory = options.factory ?? onoffFactory;
    this.sysfsRoot = options.sysfsRoot ?? SYSFS_GPIO_ROOT;
  }

  private async numbering(): Promise<(bcm: number) => number> {
    const chip = headerChip(await listGpioChips(this.sysfsRoot), this.config.chipLabel);
    return (bcm) => sysfsNumber(chip, bcm);
  }

  async start(context: SensorContext): Promise<void> {
    const toSysfs = await this.numbering();
    for (const input of this.config.inputs) await this.startInput(input, toSysfs(input.pin), context);
    for (const output of this.config.outputs) await this.startOutput(output, toSysfs(output.pin), context);
  }

  private async open(...args: Parameters<GpioFactory>): Promise<GpioLine> {
    const line = await this.factory(...args);
    this.lines.push(line);
    return line;
  }

  private async startInput(input: GpioInputConfig, sysfs: number, context: SensorContext): Promise<void> {
    const emit = (value: number, ts = Date.now()) => context.emit([{ metric: input.metric, value, ts }]);
    if (input.mode === 'sample') {
      const line = await this.open(sysfs, 'in', 'none', { activeLow: input.activeLow });
      this.every(input.intervalMs, async () => emit(await line.read()));
      return;
    }
    // Both edges are watched so a bounce back to the old level is seen and cancels the change.
    const line = await this.open(sysfs, 'in', 'both', { activeLow: input.activeLow });
    let settled = await line.read();
    const counts = (value: BinaryValue) =>
      input.edge === 'both' || (input.edge === 'rising' ? value === 1 : value === 0);

    // The total carries on across restarts, as the meter's own register does.
    const counterKey = `${this.name}:${input.metric}:pulses`;
    let pulses = context.counters.get(counterKey);
    const onSettled = (value: BinaryValue, ts: number) => {
      if (value === settled) return;
      settled = value;
      if (!counts(value)) return;
      if (input.mode === 'edge') emit(value, ts);
      else context.counters.set(counterKey, ++pulses);
    };
    let quietTimer: NodeJS.Timeout | undefined;
    line.watch((error, value) => {
      if (error) {
        context.logger.warn({ pin: input.pin, problem: error.message }, 'gpio watch error');
        return;
      }
      if (input.debounceMs === 0) {
        onSettled(value, Date.now());
        return;
      }
      clearTimeout(quietTimer);
      const edgeAt = Date.now();
      quietTimer = setTimeout(async () => onSettled(await line.read(), edgeAt), input.debounceMs);
    });
    this.cleanups.push(() => clearTimeout(quietTimer));

    if (input.mode === 'edge') {
      emit(settled);
      return;
    }
    let reportedPulses = pulses;
    let reportedAt = Date.now();
    const unit = input.unit;
    this.every(input.intervalMs, () => {
      const now = Date.now();
      const delta = pulses - reportedPulses;
      const hours = (now - reportedAt) / 3_600_000;
      reportedPulses = pulses;
      reportedAt = now;
      const total: Reading = { metric: `${input.metric}_total`, value: pulses * input.unitPerPulse, ts: now };
      const rate: Reading = {
        metric: `${input.metric}_rate`,
        value: (delta * input.unitPerPulse) / hours,
        ts: now,
      };
      if (unit) total.unit = unit;
      const perHour = rateUnit(unit);
      if (perHour) rate.unit = perHour;
      context.emit([total, rate]);
    });
  }

  private async startOutput(output: GpioOutputConfig, sysfs: number, context: SensorContext): Promise<void> {
    const line = await this.open(sysfs, output.initial === 1 ? 'high' : 'low', 'none', {
      activeLow: output.activeLow,
    });
    context.registerCommand(output.command, async (payload) => {
      const value = commandValue(payload);
      await line.write(value);
      context.emit([{ metric: output.command, value, ts: Date.now() }]);
      return { value, pin: output.pin };
    });
  }

  private every(ms: number, work: () => unknown): void {
    this.timers.push(setInterval(work, ms));
  }

  async check(): Promise<string> {
    const toSysfs = await this.numbering();
    const pins = [...this.config.inputs.map((i) => i.pin), ...this.config.outputs.map((o) => o.pin)];
    const found: string[] = [];
    for (const input of this.config.inputs) {
      const sysfs = toSysfs(input.pin);
      const exported = join(this.sysfsRoot, `gpio${sysfs}`, 'value');
      if (existsSync(exported)) {
        // Exported already, most likely by the running agent: read it without unexporting it under its feet.
        found.push(
          `BCM ${input.pin} (sysfs ${sysfs}, in use) reads ${(await readFile(exported, 'utf8')).trim()}`,
        );
        continue;
      }
      const line = await this.factory(sysfs, 'in', 'none', { activeLow: input.activeLow });
      found.push(`BCM ${input.pin} (sysfs ${sysfs}) reads ${await line.read()}`);
      line.unexport();
    }
    // Outputs are not opened: opening one drives it, and a check must not switch a relay.
    for (const output of this.config.outputs)
      found.push(`BCM ${output.pin} (sysfs ${toSysfs(output.pin)}) output`);
    return pins.length === 0 ? 'no pins configured' : found.join('; ');
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const cleanup of this.cleanups) cleanup();
    for (const line of this.lines) {
      line.unwatchAll();
      line.unexport();
    }
    this.lines.length = 0;
  }
}

/** `{"value": 1}`, `{"value": true}`, `{"value": "on"}` or a bare 1/true/"on". */
export function commandValue(payload: unknown): BinaryValue {
  const raw = payload !== null && typeof payload === 'object' && 'value' in payload ? payload.value : payload;
  if (raw === 1 || raw === true || raw === 'on' || raw === '1') return 1;
  if (raw === 0 || raw === false || raw === 'off' || raw === '0') return 0;
  throw new Error(`expected {"value": 0|1|true|false|"on"|"off"}, got ${JSON.stringify(payload)}`);
}
