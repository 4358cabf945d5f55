/**
 * The last retained message of each topic, handed to a new subscriber on `sub` (MQTT semantics).
 * An interface so that a cluster can keep it in Redis; this in-memory store serves one instance.
 */
import { matches } from '@edgewire/protocol';
import type { BusMessage } from '../bus/bus.js';

export interface RetainedStore {
  /** Keeps `message` as its topic's retained message; a `null` payload clears it (as MQTT's empty one). */
  set(message: BusMessage): void;
  /** Retained messages whose topic `filter` matches. */
  matching(filter: string): BusMessage[];
  close(): Promise<void>;
}

/** A cap on retained topics so that a client with a broad grant cannot fill the hub's memory. */
export const MAX_RETAINED_TOPICS = 100_000;

export class MemoryRetainedStore implements RetainedStore {
  readonly #byTopic = new Map<string, BusMessage>();

  set(message: BusMessage): void {
    if (message.payload === null) {
      this.#byTopic.delete(message.topic);
      return;
    }
    if (!this.#byTopic.has(message.topic) && this.#byTopic.size >= MAX_RETAINED_TOPICS) return;
    this.#byTopic.set(message.topic, message);
  }

  matching(filter: string): BusMessage[] {
    if (!filter.includes('+') && !filter.includes('#')) {
      const exact = this.#byTopic.get(filter);
      return exact ? [exact] : [];
    }
    const found: BusMessage[] = [];
    for (const message of this.#byTopic.values()) if (matches(filter, message.topic)) found.push(message);
    return found;
  }

  async close(): Promise<void> {}
}
