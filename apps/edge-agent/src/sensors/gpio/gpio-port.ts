/**
 * The seam between the GPIO driver and the kernel: the part of onoff's `Gpio` the driver uses. The real
 * implementation is onoff itself; tests pass a fake with the same surface, because this machine has
 * no GPIO lines.
 */
export type BinaryValue = 0 | 1;
export type Direction = 'in' | 'out' | 'high' | 'low';
export type Edge = 'none' | 'rising' | 'falling' | 'both';

export interface GpioLine {
  read(): Promise<BinaryValue>;
  write(value: BinaryValue): Promise<void>;
  watch(callback: (error: Error | null | undefined, value: BinaryValue) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

/** Opens a line by its sysfs number (already translated from BCM). */
export type GpioFactory = (
  sysfsNumber: number,
  direction: Direction,
  edge: Edge,
  options: { activeLow: boolean },
) => Promise<GpioLine>;

/** onoff on the real /sys/class/gpio; loaded on first use, as it binds a native epoll module. */
export const onoffFactory: GpioFactory = async (sysfsNumber, direction, edge, options) => {
  const { Gpio } = await import('onoff');
  return new Gpio(sysfsNumber, direction, edge, { activeLow: options.activeLow });
};
