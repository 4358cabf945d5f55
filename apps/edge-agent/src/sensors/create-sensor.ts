/**
 * Builds a sensor driver from its config. Drivers are imported on first use: serialport and onoff
 * with their native bindings cost megabytes of RSS a Pi without such sensors should not pay.
 */
import type { SensorConfig } from '../config.js';
import type { GpioSensorOptions } from './gpio/gpio-sensor.js';
import type { Sensor } from './sensor.js';

export interface SensorOptions {
  gpio?: GpioSensorOptions;
  /** Where `system` sensors look for thermal zones (tests point it at a temp dir). */
  thermalRoot?: string;
}

export async function createSensor(config: SensorConfig, options: SensorOptions = {}): Promise<Sensor> {
  switch (config.type) {
    case 'system':
      return new (await import('./system.js')).SystemSensor(config, options.thermalRoot);
    case 'simulated':
      return new (await import('./simulated.js')).SimulatedSensor(config);
    case 'serial':
      return new (await import('./serial/serial-sensor.js')).SerialSensor(config);
    case 'gpio':
      return new (await import('./gpio/gpio-sensor.js')).GpioSensor(config, options.gpio);
  }
}
