/**
 * `sub` with `since` (SPEC "Recovery of missed messages"): the filters are subscribed at once, but their
 * live messages are held back while the history is read; the `ack` says whether every missed message was
 * still held, the replay follows in order, then the held live messages, less those the replay carried.
 * So the client sees no gap and no duplicate. Filters not recovered get their retained messages, as a
 * plain `sub` would.
 */
import type { SubFrame } from '@edgewire/protocol';
import type { Connection } from '../connections/connection.js';
import { type Bus, type BusMessage, NOT_RECOVERED, type StreamPosition } from './bus.js';
import { msgFrame } from './local-fanout.js';

const positionKey = (pos: StreamPosition) => `${pos.offset}@${pos.epoch}`;

export class Recoveries {
  /** Live messages held back per connection while its history is replayed. */
  readonly #held = new Map<Connection, BusMessage[]>();
  /** One recovery at a time per connection, in frame order. */
  readonly #queues = new Map<Connection, Promise<void>>();

  constructor(private readonly bus: Bus) {}

  /** Where a live message for `connection` goes instead of the socket, while it recovers. */
  held(connection: Connection): BusMessage[] | undefined {
    return this.#held.size === 0 ? undefined : this.#held.get(connection);
  }

  /**
   * Subscribes `frame.filters` through `subscribe`, replays from `frame.since`, and answers; `sendRetained`
   * serves the filters that were not recovered.
   */
  subscribe(
    connection: Connection,
    frame: SubFrame & { since: Record<string, StreamPosition> },
    subscribe: (filter: string) => void,
    sendRetained: (filters: readonly string[]) => void,
  ): Promise<void> {
    const previous = this.#queues.get(connection) ?? Promise.resolve();
    const done = previous.then(() => this.#recover(connection, frame, subscribe, sendRetained));
    this.#queues.set(connection, done);
    return done.finally(() => {
      if (this.#queues.get(connection) === done) this.#queues.delete(connection);
    });
  }

  async #recover(
    connection: Connection,
    frame: SubFrame & { since: Record<string, StreamPosition> },
    subscribe: (filter: string) => void,
    sendRetained: (filters: readonly string[]) => void,
  ): Promise<void> {
    const held: BusMessage[] = [];
    this.#held.set(connection, held);
    const replayed = new Set<string>();
    try {
      for (const filter of frame.filters) subscribe(filter);
      const asked = Object.entries(frame.since);
      const results = await Promise.all(
        asked.map(([filter, since]) =>
          this.bus.recover(filter, since).catch((error: Error) => {
            connection.log.warn({ err: error.message }, 'reading the history failed');
            return NOT_RECOVERED;
          }),
        ),
      );
      const recovered = results.every((result) => result.recovered);
      connection.sendJson({ type: 'ack', ...(frame.id === undefined ? {} : { ref: frame.id }), recovered });
      const replay = results.flatMap((result) => result.messages);
      if (asked.length > 1) replay.sort((x, y) => x.pos!.offset - y.pos!.offset);
      for (const message of replay) {
        const key = positionKey(message.pos!);
        if (replayed.has(key)) continue;
        replayed.add(key);
        connection.send(msgFrame(message), 'msg');
      }
      const recoveredFilters = new Set(
        asked.filter((_, i) => results[i]!.recovered).map(([filter]) => filter),
      );
      sendRetained(frame.filters.filter((filter) => !recoveredFilters.has(filter)));
    } finally {
      this.#held.delete(connection);
      for (const message of held) {
        if (message.pos && replayed.has(positionKey(message.pos))) continue;
        connection.send(msgFrame(message), 'msg');
      }
    }
  }
}
