import type { SensorConfig } from '../config.js';
import { GpioSensor, type GpioSensorOptions } from './gpio/gpio-sensor.js';
import type { Sensor } from './sensor.js';
import { SerialSensor } from './serial/serial-sensor.js';
import { SimulatedSensor } from './simulated.js';
import { SystemSensor } from './system.js';

export interface SensorOptions {
  gpio?: GpioSensorOptions;
  /** Where `system` sensors look for thermal zones (tests point it at a temp dir). */
  thermalRoot?: string;
}

export function createSensor(config: SensorConfig, options: SensorOptions = {}): Sensor {
  switch (config.type) {
    case 'system':
      return new SystemSensor(config, options.thermalRoot);
    case 'simulated':
      return new SimulatedSensor(config);
    case 'serial':
      return new SerialSensor(config);
    case 'gpio':
      return new GpioSensor(config, options.gpio);
  }
}
