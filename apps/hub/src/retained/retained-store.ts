/**
 * The last retained message of each topic, handed to a new subscriber on `sub` (MQTT semantics).
 * An interface so that a cluster can keep it in Redis; this in-memory store serves one instance.
 */
import { matches } from '@edgewire/protocol';
import type { BusMessage } from '../bus/bus.js';

export interface RetainedStore {
  /**
   * Keeps `message` as its topic's retained message; a `null` payload clears it (as MQTT's empty one).
   * False when the message is older (`ts`) than the one it would replace, or than the topic's clearing:
   * in a cluster, two instances' retained messages on one topic can arrive in either order, and every
   * instance must end up with the newer one. Such a message is superseded, and not delivered either.
   */
  set(message: BusMessage): boolean;
  /** Retained messages whose topic `filter` matches. */
  matching(filter: string): BusMessage[];
  close(): Promise<void>;
}

/** A cap on retained topics so that a client with a broad grant cannot fill the hub's memory. */
export const MAX_RETAINED_TOPICS = 100_000;
/**
 * How many clearings are remembered (their time), so that a message older than a clearing, arriving
 * after it, does not bring the topic back. They matter for as long as messages are in flight: seconds.
 */
const MAX_CLEARINGS = 10_000;

export class MemoryRetainedStore implements RetainedStore {
  readonly #byTopic = new Map<string, BusMessage>();
  readonly #clearedAt = new Map<string, number>();

  set(message: BusMessage): boolean {
    const { topic, ts } = message;
    const since = this.#byTopic.get(topic)?.ts ?? this.#clearedAt.get(topic);
    // Equal times keep the order of arrival: one instance's messages of one millisecond.
    if (since !== undefined && ts < since) return false;
    if (message.payload === null) {
      this.#byTopic.delete(topic);
      this.#clearedAt.delete(topic);
      this.#clearedAt.set(topic, ts);
      if (this.#clearedAt.size > MAX_CLEARINGS) this.#clearedAt.delete(this.#clearedAt.keys().next().value!);
      return true;
    }
    this.#clearedAt.delete(topic);
    if (!this.#byTopic.has(topic) && this.#byTopic.size >= MAX_RETAINED_TOPICS) return true;
    this.#byTopic.set(topic, message);
    return true;
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
