/**
 * Subscribing without a gap, across hub instances, and `sub` with `since` (SPEC "Recovery of missed
 * messages"). The filters are subscribed at once, but their live messages are held back until the `ack`
 * has gone out. Each filter with a history gets its stream's position; on a distributed bus the `ack`
 * waits until every other instance has heard of the new interest, then whatever its stream recorded since
 * that position (published elsewhere before the interest arrived there) is replayed, like the missed
 * messages of a `since`, and the held live messages follow, less those the replay carried. So the client
 * sees no gap and no duplicate, and the `ack`'s `positions` are a valid `since` for its next connection.
 * Filters not recovered from `since` are served as by a plain `sub`: their retained messages, and the
 * replay from the new position. The `Topics` header's subscriptions come through here too, as a `sub`.
 */
import type { SubFrame } from '@edgewire/protocol';
import type { Connection } from '../connections/connection.js';
import { type Bus, type BusMessage, NOT_RECOVERED, type Recovery, type StreamPosition } from './bus.js';
import { msgFrame } from './local-fanout.js';
import { streamOf, streamOfFilter } from './streams.js';

const positionKey = (pos: StreamPosition) => `${pos.offset}@${pos.epoch}`;

/** How `Recoveries` subscribes and serves retained messages, through the frame handler. */
export interface SubscribeSteps {
  subscribe(filter: string): void;
  /** Sends the retained messages of `filters`, except those `skip` names; returns those it sent. */
  sendRetained(filters: readonly string[], skip: (message: BusMessage) => boolean): readonly BusMessage[];
}

export class Recoveries {
  /** Live messages held back per connection while its subscription is settled. */
  readonly #held = new Map<Connection, BusMessage[]>();
  /** One subscription at a time per connection, in frame order. */
  readonly #queues = new Map<Connection, Promise<void>>();
  /**
   * Per connection and stream, the last position a subscription replayed: a live copy at or below it,
   * still in flight from another instance when the replay was read, was delivered already.
   */
  readonly #floors = new WeakMap<Connection, Map<string, StreamPosition>>();

  constructor(private readonly bus: Bus) {}

  /** Where a live message for `connection` goes instead of the socket, while it subscribes. */
  held(connection: Connection): BusMessage[] | undefined {
    return this.#held.size === 0 ? undefined : this.#held.get(connection);
  }

  /** False for a live message the connection already got from a replay. */
  fresh(connection: Connection, message: BusMessage): boolean {
    const pos = message.pos;
    const floors = pos && this.#floors.get(connection);
    if (!floors) return true;
    const floor = floors.get(streamOf(message.topic));
    return !floor || floor.epoch !== pos.epoch || pos.offset > floor.offset;
  }

  /** Subscribes `frame.filters`, answers with the `ack`, replays what is due and serves retained messages. */
  subscribe(connection: Connection, frame: SubFrame, steps: SubscribeSteps): Promise<void> {
    if (!this.bus.distributed && frame.since === undefined) {
      // In one process nothing is in flight: the position read now is exact, and nothing is replayed.
      for (const filter of frame.filters) steps.subscribe(filter);
      const positions = frame.filters.map(
        (filter) => this.bus.position(filter) as StreamPosition | undefined,
      );
      this.#ack(connection, frame, undefined, frame.filters, positions);
      steps.sendRetained(frame.filters, () => false);
      return Promise.resolve();
    }
    // Without a subscription before it, this one takes effect now (its first steps are synchronous),
    // so that a frame after it, like an `unsub`, finds it in place.
    const previous = this.#queues.get(connection);
    return this.#enqueue(
      connection,
      previous
        ? previous.then(() => this.#settle(connection, frame, steps))
        : this.#settle(connection, frame, steps),
    );
  }

  /** Runs `step` (an `unsub`) after the subscriptions the connection is still settling, in frame order. */
  inOrder(connection: Connection, step: () => void): void {
    const previous = this.#queues.get(connection);
    if (!previous) step();
    else
      this.#enqueue(connection, previous.then(step)).catch((error: unknown) =>
        connection.log.error({ err: error }, 'unsubscribing failed'),
      );
  }

  /** Makes `done` the connection's last step; the next one runs after it, whether it failed or not. */
  #enqueue(connection: Connection, done: Promise<void>): Promise<void> {
    const over = done.then(
      () => {},
      () => {},
    );
    this.#queues.set(connection, over);
    void over.then(() => {
      if (this.#queues.get(connection) === over) this.#queues.delete(connection);
    });
    return done;
  }

  async #settle(connection: Connection, frame: SubFrame, steps: SubscribeSteps): Promise<void> {
    const held: BusMessage[] = [];
    this.#held.set(connection, held);
    const replayed = new Set<string>();
    /**
     * Topics whose retained message went out: a live retained message on one of them, held meanwhile,
     * reached the retained store before it was read, so the client has it or a later one already.
     */
    let served: ReadonlySet<string> = new Set();
    try {
      for (const filter of frame.filters) steps.subscribe(filter);
      // Asked at once, while the interest change is still to be sent: it then goes out asking the other
      // instances to confirm it. Asked after the position read below, the change could have gone out
      // unconfirmed meanwhile, and the replay would be read before they route this stream here: a message
      // recorded after that read but published before they heard of it would be neither replayed nor live.
      const confirmed = this.bus.settled();
      const since = frame.since ?? {};
      // Read before the interest is confirmed: anything recorded after it is replayed below.
      const positions = await Promise.all(
        frame.filters.map((filter) =>
          Promise.resolve(this.bus.position(filter)).catch((error: Error) => {
            connection.log.warn({ err: error.message }, 'reading the stream position failed');
            return undefined;
          }),
        ),
      );
      await confirmed;
      const results = await Promise.all(
        frame.filters.map((filter, i) => this.#catchUp(connection, filter, since[filter], positions[i])),
      );
      const recoveredFilters = new Set(frame.filters.filter((_, i) => results[i]!.recovered));
      this.#ack(
        connection,
        frame,
        frame.since && Object.keys(since).every((filter) => recoveredFilters.has(filter)),
        frame.filters.filter((filter) => !recoveredFilters.has(filter)),
        frame.filters.map((filter, i) => (recoveredFilters.has(filter) ? undefined : positions[i])),
      );
      const replay = results.flatMap((result) => result.messages);
      if (frame.filters.length > 1) replay.sort((x, y) => x.pos!.offset - y.pos!.offset);
      const replaying = new Set(replay.map((message) => positionKey(message.pos!)));
      // A retained message the replay carries (it was published after the position) comes in its place.
      const retained = steps.sendRetained(
        frame.filters.filter((filter) => !recoveredFilters.has(filter)),
        (message) => message.pos !== undefined && replaying.has(positionKey(message.pos)),
      );
      served = new Set(retained.map((message) => message.topic));
      for (const message of replay) {
        const key = positionKey(message.pos!);
        if (replayed.has(key)) continue;
        replayed.add(key);
        connection.send(msgFrame(message), 'msg');
      }
      const reached = frame.filters.flatMap((filter, i) => {
        const from = results[i]!.from;
        return from ? [[streamOfFilter(filter)!, from] as const] : [];
      });
      this.#raiseFloors(connection, [
        ...reached,
        ...replay.map((message) => [streamOf(message.topic), message.pos!] as const),
      ]);
    } finally {
      this.#held.delete(connection);
      for (const message of held) {
        if (!(message.retain && served.has(message.topic)) && this.fresh(connection, message))
          connection.send(msgFrame(message), 'msg');
      }
    }
  }

  #raiseFloors(connection: Connection, reached: ReadonlyArray<readonly [string, StreamPosition]>): void {
    if (reached.length === 0) return;
    let floors = this.#floors.get(connection);
    if (!floors) {
      floors = new Map();
      this.#floors.set(connection, floors);
    }
    for (const [stream, pos] of reached) {
      const floor = floors.get(stream);
      if (!floor || floor.epoch !== pos.epoch || floor.offset < pos.offset) floors.set(stream, pos);
    }
  }

  /**
   * What `filter` replays: the messages after `since` when the history still holds them (`recovered`);
   * otherwise those after `fresh`, the position the `ack` gives, recorded while the subscription spread
   * to the other instances. Without either, nothing. `from` is where the replay started, if it did.
   */
  async #catchUp(
    connection: Connection,
    filter: string,
    since: StreamPosition | undefined,
    fresh: StreamPosition | undefined,
  ): Promise<{ recovered: boolean; from?: StreamPosition; messages: readonly BusMessage[] }> {
    if (since) {
      const missed = await this.#recover(connection, filter, since);
      if (missed.recovered) return { recovered: true, from: since, messages: missed.messages };
    }
    if (!fresh) return { recovered: false, messages: [] };
    const spread = await this.#recover(connection, filter, fresh);
    return spread.recovered
      ? { recovered: false, from: fresh, messages: spread.messages }
      : { recovered: false, messages: [] };
  }

  #recover(connection: Connection, filter: string, since: StreamPosition): Promise<Recovery> {
    return this.bus.recover(filter, since).catch((error: Error) => {
      connection.log.warn({ err: error.message }, 'reading the history failed');
      return NOT_RECOVERED;
    });
  }

  /** `recovered` answers a `since`; `positions` go out for `withPositions`, where a filter has one. */
  #ack(
    connection: Connection,
    frame: SubFrame,
    recovered: boolean | undefined,
    withPositions: readonly string[],
    positions: ReadonlyArray<StreamPosition | undefined>,
  ): void {
    const known = frame.filters.flatMap((filter, i) =>
      positions[i] && withPositions.includes(filter) ? [[filter, positions[i]] as const] : [],
    );
    connection.sendJson({
      type: 'ack',
      ...(frame.id === undefined ? {} : { ref: frame.id }),
      ...(recovered === undefined ? {} : { recovered }),
      ...(known.length > 0 ? { positions: Object.fromEntries(known) } : {}),
    });
  }
}
