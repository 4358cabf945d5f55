/**
 * The one way anything in the hub publishes a message: frames from clients, telemetry readings,
 * presence. It stamps the message and hands it to the bus for fan-out.
 */
import { type Bus, type BusMessage, stampNow } from './bus/bus.js';
import type { JsonValue } from './json.js';
import type { RetainedStore } from './retained/retained-store.js';

export class Broker {
  constructor(
    private readonly bus: Bus,
    readonly retained: RetainedStore,
  ) {}

  /** Cheap pre-check so callers can skip building payloads nobody will receive. */
  hasSubscribers(topic: string): boolean {
    return this.bus.hasSubscribers(topic);
  }

  /** Retained messages are kept by each instance as the bus delivers them (see `LocalFanout`). */
  publish(topic: string, payload: JsonValue, retain = false): void {
    const message: BusMessage = { topic, payload, ts: stampNow(), retain };
    this.bus.publish(message);
  }
}
