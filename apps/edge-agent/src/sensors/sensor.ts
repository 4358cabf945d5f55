/**
 * One interface for every sensor driver. A driver produces readings (metric, value, unit, timestamp)
 * and may offer commands; it neither buffers nor sends, the agent does that for all of them alike.
 */
import type { Reading } from '@edgewire/protocol';
import type { CommandHandler } from '../commands.js';
import type { Logger } from '../logger.js';

export interface SensorContext {
  /** Already bound to the sensor's name (`sensor` key): a driver never adds it again. */
  logger: Logger;
  /** Hands readings to the agent's durable buffer. */
  emit(readings: Reading[]): void;
  /** Makes `devices/{id}/cmd/{name}` run `handler`. */
  registerCommand(name: string, handler: CommandHandler): void;
  /** Integers that survive restarts (a pulse meter's total), committed with the buffer. */
  counters: Counters;
}

export interface Counters {
  /** The last value set for `key`, 0 if never. */
  get(key: string): number;
  set(key: string, value: number): void;
}

export interface Sensor {
  readonly name: string;
  /** Starts producing readings; resolves once running (a driver that reconnects on its own resolves at once). */
  start(context: SensorContext): Promise<void>;
  /** Opens the sensor once and says what it found; throws with a readable message when it cannot. */
  check(): Promise<string>;
  stop(): Promise<void>;
}
