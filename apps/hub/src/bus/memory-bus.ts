/** The single-instance Bus: delivered synchronously within this process; history in memory rings. */
import type {
  Bus,
  BusMessage,
  ControlEvent,
  HistoryLimits,
  LocalDelivery,
  Recovery,
  StreamPosition,
} from './bus.js';
import { LocalInterest } from './local-interest.js';
import { MemoryHistory } from './memory-history.js';
import { streamOf, streamOfFilter } from './streams.js';

export class MemoryBus implements Bus {
  readonly healthy = true;
  readonly distributed = false;
  readonly #history: MemoryHistory;
  readonly #interest: LocalInterest;
  #local: LocalDelivery | undefined;
  #onControl: ((event: ControlEvent) => void) | undefined;

  constructor(history: HistoryLimits = { size: 0, ttlMs: 0 }) {
    this.#history = new MemoryHistory(history);
    this.#interest = new LocalInterest(history.size > 0 ? history.ttlMs : 0, {
      filterChanged: () => {},
      streamChanged: (stream, recorded) => {
        if (!recorded) this.#history.forget(stream);
      },
    });
  }

  attach(local: LocalDelivery, onControl: (event: ControlEvent) => void): void {
    this.#local = local;
    this.#onControl = onControl;
  }

  watch(filter: string): void {
    this.#interest.watch(filter);
  }

  unwatch(filter: string): void {
    this.#interest.unwatch(filter);
  }

  hasSubscribers(topic: string): boolean {
    return (this.#local?.hasSubscribers(topic) ?? false) || this.#interest.records(streamOf(topic));
  }

  publish(message: BusMessage): void {
    const stream = streamOf(message.topic);
    this.#local?.deliver(this.#interest.records(stream) ? this.#history.append(stream, message) : message);
  }

  control(event: ControlEvent): void {
    this.#onControl?.(event);
  }

  position(filter: string): StreamPosition | undefined {
    const stream = streamOfFilter(filter);
    return stream !== undefined && this.#interest.records(stream)
      ? this.#history.position(stream)
      : undefined;
  }

  /** Every publish happens in this process, in order: interest is in effect at once. */
  async settled(): Promise<void> {}

  async recover(filter: string, since: StreamPosition): Promise<Recovery> {
    return this.#history.recover(filter, since);
  }

  async close(): Promise<void> {
    this.#interest.close();
    this.#local = undefined;
    this.#onControl = undefined;
  }
}
