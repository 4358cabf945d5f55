/** The single-instance Bus: everything is delivered synchronously within this process. */
import type { Bus, BusMessage, ControlEvent, LocalDelivery } from './bus.js';

export class MemoryBus implements Bus {
  readonly healthy = true;
  readonly distributed = false;
  #local: LocalDelivery | undefined;
  #onControl: ((event: ControlEvent) => void) | undefined;

  attach(local: LocalDelivery, onControl: (event: ControlEvent) => void): void {
    this.#local = local;
    this.#onControl = onControl;
  }

  hasSubscribers(topic: string): boolean {
    return this.#local?.hasSubscribers(topic) ?? false;
  }

  publish(message: BusMessage): void {
    this.#local?.deliver(message);
  }

  control(event: ControlEvent): void {
    this.#onControl?.(event);
  }

  async close(): Promise<void> {
    this.#local = undefined;
    this.#onControl = undefined;
  }
}
