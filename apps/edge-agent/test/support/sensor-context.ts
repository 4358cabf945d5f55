/** What the agent hands a sensor, for driving one sensor alone: readings collected, logs captured. */
import type { Reading } from '@edgewire/protocol';
import { ReadingBuffer } from '../../src/buffer/reading-buffer.js';
import type { CommandHandler } from '../../src/commands.js';
import type { SensorContext } from '../../src/sensors/sensor.js';
import { captureLogs } from './log-capture.js';

export function sensorContext(
  options: { buffer?: ReadingBuffer; registerCommand?: (name: string, handler: CommandHandler) => void } = {},
) {
  const readings: Reading[] = [];
  const logs = captureLogs();
  const buffer =
    options.buffer ?? new ReadingBuffer({ path: ':memory:', maxBytes: 1e9, flushIntervalMs: 60_000 });
  const context: SensorContext = {
    logger: logs.logger,
    emit: (batch) => {
      readings.push(...batch);
    },
    registerCommand: options.registerCommand ?? (() => undefined),
    counters: buffer.counters,
  };
  return { context, readings, logs, buffer };
}
