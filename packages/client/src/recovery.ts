/**
 * Where each subscription stands in its topic's history (SPEC "Recovery of missed messages"), so a
 * resubscription can ask the hub to replay what was missed (`since`) instead of leaving a gap.
 *
 * The hub's `ack` of a `sub` gives the position of each filter that has a history (one device's topics,
 * or one plain topic): the subscription starts there, so even a client that saw no message before it
 * dropped recovers everything published since it subscribed. Each message then moves the position on.
 * Wildcard subscriptions across devices have none and learn of a gap from the history API.
 */
export interface Position {
  epoch: string | number;
  offset: number;
}

export class RecoveryPositions {
  readonly #byFilter = new Map<string, Position>();

  /** The hub acknowledged the subscription of `filter` at `pos`. */
  started(filter: string, pos: Position): void {
    this.#advance(filter, pos);
  }

  saw(filter: string, topic: string, pos: Position): void {
    if (filter === topic || this.#byFilter.has(filter)) this.#advance(filter, pos);
  }

  forget(filter: string): void {
    this.#byFilter.delete(filter);
  }

  /** The `since` field for a `sub` of `filters`, or undefined when none has a position. */
  since(filters: readonly string[]): Record<string, Position> | undefined {
    const known = filters.flatMap((filter) => {
      const pos = this.#byFilter.get(filter);
      return pos ? [[filter, pos] as const] : [];
    });
    return known.length > 0 ? Object.fromEntries(known) : undefined;
  }

  /** Messages from several hubs may arrive slightly out of order: the position only moves forward. */
  #advance(filter: string, pos: Position): void {
    const known = this.#byFilter.get(filter);
    if (!known || known.epoch !== pos.epoch || known.offset < pos.offset) this.#byFilter.set(filter, pos);
  }
}
