/**
 * A GPIO chip for machines without one: lines with onoff's `Gpio` surface (read, write, watch,
 * unwatchAll, unexport, activeLow, edge setting), driven by a test as if by wires. `drive()` sets the
 * physical level and fires watchers the way the kernel's edge interrupt would; `bounce()` makes a
 * contact chatter before it settles.
 */
import type {
  BinaryValue,
  Direction,
  Edge,
  GpioFactory,
  GpioLine,
} from '../../src/sensors/gpio/gpio-port.js';

type Watcher = (error: Error | null | undefined, value: BinaryValue) => void;

export class FakeGpioLine implements GpioLine {
  physical: BinaryValue;
  exported = true;
  readonly writes: BinaryValue[] = [];
  private watchers: Watcher[] = [];

  constructor(
    readonly sysfsNumber: number,
    readonly direction: Direction,
    readonly edge: Edge,
    readonly activeLow: boolean,
  ) {
    const initial: BinaryValue = direction === 'high' ? 1 : 0;
    this.physical = direction === 'high' || direction === 'low' ? this.toPhysical(initial) : 0;
  }

  private toPhysical(value: BinaryValue): BinaryValue {
    return (this.activeLow ? 1 - value : value) as BinaryValue;
  }

  get value(): BinaryValue {
    return this.toPhysical(this.physical);
  }

  async read(): Promise<BinaryValue> {
    return this.value;
  }

  async write(value: BinaryValue): Promise<void> {
    if (this.direction === 'in') throw new Error(`EPERM: gpio${this.sysfsNumber} is an input`);
    this.writes.push(value);
    this.physical = this.toPhysical(value);
  }

  watch(callback: Watcher): void {
    if (this.edge === 'none') throw new Error(`gpio${this.sysfsNumber}: watch needs an edge`);
    this.watchers.push(callback);
  }

  unwatchAll(): void {
    this.watchers = [];
  }

  unexport(): void {
    this.exported = false;
    this.watchers = [];
  }

  /** Sets the physical level of the wire; watchers hear the edge if it is one they asked for. */
  drive(physical: BinaryValue): void {
    if (physical === this.physical) return;
    this.physical = physical;
    const value = this.value;
    const fires =
      this.edge === 'both' || (this.edge === 'rising' ? value === 1 : this.edge === 'falling' && value === 0);
    if (fires) for (const watcher of this.watchers) watcher(null, value);
  }

  /**
   * A contact that chatters `times` times before it settles at `physical`. Real bounce lasts
   * microseconds, far below any debounce time, so the edges come in one burst.
   */
  bounce(physical: BinaryValue, times: number): void {
    for (let i = 0; i < times; i++) {
      this.drive(physical);
      this.drive((1 - physical) as BinaryValue);
    }
    this.drive(physical);
  }
}

export class FakeGpioChip {
  readonly lines = new Map<number, FakeGpioLine>();

  readonly factory: GpioFactory = async (sysfsNumber, direction, edge, options) => {
    const line = new FakeGpioLine(sysfsNumber, direction, edge, options.activeLow);
    this.lines.set(sysfsNumber, line);
    return line;
  };

  line(sysfsNumber: number): FakeGpioLine {
    const line = this.lines.get(sysfsNumber);
    if (!line)
      throw new Error(`gpio${sysfsNumber} was never opened (opened: ${[...this.lines.keys()].join(', ')})`);
    return line;
  }
}
