/**
 * The order of a device's connections, across hub instances: each device connection takes a generation
 * at its handshake, and of two connections of one device the one with the higher generation is the newer
 * and stays (4009 for the other). Announcements of new connections cross the bus late at times; comparing
 * generations, rather than trusting the order they arrive in, keeps a late one from closing a newer
 * connection.
 */

export interface DeviceGenerations {
  /** A generation higher than any the device's connections took before, on any instance. */
  next(deviceId: string): Promise<number>;
}

/** What orders two connections of a device: its generation; the connection id settles a tie. */
export interface DeviceConnectionOrder {
  readonly generation: number;
  readonly connId: string;
}

/** Is `a` newer than `b`? A total order, so every instance picks the same survivor of any two. */
export function isNewer(a: DeviceConnectionOrder, b: DeviceConnectionOrder): boolean {
  return a.generation !== b.generation ? a.generation > b.generation : a.connId > b.connId;
}

/**
 * Generations of one instance: a counter that never falls behind the clock (epoch ms). A single hub
 * needs only the counter; the clock makes its generations comparable with the cluster's (see
 * `RedisGenerations`) when it stands in for them while Redis is unreachable.
 */
export class LocalGenerations implements DeviceGenerations {
  #last = 0;

  async next(): Promise<number> {
    return this.take();
  }

  take(): number {
    this.#last = Math.max(this.#last + 1, Date.now());
    return this.#last;
  }

  /** A generation given out elsewhere: the ones taken here from now on come after it. */
  note(generation: number): void {
    this.#last = Math.max(this.#last, generation);
  }
}
