/**
 * A line-based sensor on a serial port. The port is reopened forever, with backoff, when it errors or
 * disappears (a USB adapter pulled out, a microcontroller resetting), so a loose cable costs readings
 * only while it is loose.
 */
import { ReadlineParser, SerialPort } from 'serialport';
import { Backoff } from '../../backoff.js';
import type { SerialSensorConfig } from '../../config.js';
import type { Sensor, SensorContext } from '../sensor.js';
import { createLineParser, type LineParser } from './line-parsers.js';

export class SerialSensor implements Sensor {
  readonly name: string;
  private port: SerialPort | undefined;
  private readonly parse: LineParser;
  private readonly backoff: Backoff;
  private reopenTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastProblem: string | undefined;
  private unparsedLines = 0;

  constructor(private readonly config: SerialSensorConfig) {
    this.name = config.name;
    this.parse = createLineParser(config.parser);
    this.backoff = new Backoff({ initialMs: config.reopen.initialMs, maxMs: config.reopen.maxMs });
  }

  async start(context: SensorContext): Promise<void> {
    this.stopped = false;
    this.open(context);
  }

  private open(context: SensorContext): void {
    this.reopenTimer = undefined;
    if (this.stopped) return;
    const { logger } = context;
    const port = new SerialPort({ path: this.config.path, baudRate: this.config.baudRate, autoOpen: false });
    this.port = port;
    const lines = port.pipe(new ReadlineParser({ delimiter: this.config.delimiter, encoding: 'utf8' }));
    lines.on('data', (line: string) => {
      this.backoff.reset();
      const readings = this.parse(line.trim(), Date.now());
      if (readings.length > 0) context.emit(readings);
      else if (line.trim() !== '') {
        this.unparsedLines++;
        // The first one says what the firmware prints; after that, every thousandth, to keep journald calm.
        if (this.unparsedLines % 1000 === 1) {
          logger.warn(
            { line: line.slice(0, 120), unparsed: this.unparsedLines },
            'serial line gave no readings',
          );
        }
      }
    });
    let lost = false;
    const reopen = (problem: string) => {
      if (lost || this.stopped) return;
      lost = true;
      if (this.port === port) this.port = undefined;
      const delayMs = this.backoff.next();
      const details = { path: this.config.path, problem, retryInMs: delayMs };
      if (problem !== this.lastProblem) logger.warn(details, 'serial port unavailable; reopening');
      else logger.debug(details, 'serial port still unavailable');
      this.lastProblem = problem;
      if (port.isOpen) port.close(() => undefined);
      this.reopenTimer = setTimeout(() => this.open(context), delayMs);
    };
    port.on('close', (error?: Error & { disconnected?: boolean }) => reopen(error?.message ?? 'port closed'));
    port.on('error', (error: Error) => reopen(error.message));
    port.open((error) => {
      if (error) {
        reopen(error.message);
        return;
      }
      this.lastProblem = undefined;
      logger.info({ path: this.config.path, baudRate: this.config.baudRate }, 'serial port open');
    });
  }

  async check(): Promise<string> {
    const port = new SerialPort({ path: this.config.path, baudRate: this.config.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    await new Promise<void>((resolve) => port.close(() => resolve()));
    return `${this.config.path} opens at ${this.config.baudRate} baud`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
