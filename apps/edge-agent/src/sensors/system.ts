/**
 * Health of the Pi itself: CPU temperature, load, memory and disk. Useful on every device, and the
 * first thing to look at when a sensor misbehaves (an overheating Pi throttles and drops serial bytes).
 */
import { readdir, readFile, statfs } from 'node:fs/promises';
import { freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '@edgewire/protocol';
import type { SystemSensorConfig } from '../config.js';
import type { Sensor, SensorContext } from './sensor.js';

export const THERMAL_ROOT = '/sys/class/thermal';

/** The CPU temperature in °C from the first thermal zone that reports one (the SoC on a Pi). */
export async function readCpuTemperature(thermalRoot = THERMAL_ROOT): Promise<number | undefined> {
  let zones: string[];
  try {
    zones = (await readdir(thermalRoot)).filter((name) => name.startsWith('thermal_zone')).sort();
  } catch {
    return undefined;
  }
  for (const zone of zones) {
    try {
      const milli = Number((await readFile(join(thermalRoot, zone, 'temp'), 'utf8')).trim());
      if (Number.isFinite(milli)) return milli / 1000;
    } catch {
      // A zone without a readable temp (some report ENODATA while a sensor powers up): try the next.
    }
  }
  return undefined;
}

export async function readSystem(
  config: Pick<SystemSensorConfig, 'prefix' | 'disk'>,
  thermalRoot = THERMAL_ROOT,
): Promise<Reading[]> {
  const ts = Date.now();
  const p = config.prefix;
  const readings: Reading[] = [];
  const temp = await readCpuTemperature(thermalRoot);
  if (temp !== undefined) readings.push({ metric: `${p}cpu_temp`, value: temp, unit: '°C', ts });
  const [load1, load5, load15] = loadavg();
  readings.push(
    { metric: `${p}load1`, value: load1!, ts },
    { metric: `${p}load5`, value: load5!, ts },
    { metric: `${p}load15`, value: load15!, ts },
  );
  const total = totalmem();
  readings.push({
    metric: `${p}mem_used_pct`,
    value: round2((100 * (total - freemem())) / total),
    unit: '%',
    ts,
  });
  const disk = await statfs(config.disk);
  const used = disk.blocks - disk.bfree;
  // Like df: the share of the space a normal user can reach.
  readings.push({
    metric: `${p}disk_used_pct`,
    value: round2((100 * used) / (used + disk.bavail)),
    unit: '%',
    ts,
  });
  return readings;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export class SystemSensor implements Sensor {
  readonly name: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: SystemSensorConfig,
    private readonly thermalRoot = THERMAL_ROOT,
  ) {
    this.name = config.name;
  }

  async start(context: SensorContext): Promise<void> {
    const sample = () =>
      readSystem(this.config, this.thermalRoot).then(context.emit, (error: Error) =>
        context.logger.warn({ problem: error.message }, 'system sample failed'),
      );
    await sample();
    this.timer = setInterval(sample, this.config.intervalSec * 1000);
  }

  async check(): Promise<string> {
    const readings = await readSystem(this.config, this.thermalRoot);
    return readings.map((r) => `${r.metric}=${r.value}${r.unit ?? ''}`).join(' ');
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}
