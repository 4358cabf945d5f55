/**
 * Where each subscription stands in its topic's history (SPEC "Recovery of missed messages"), so a
 * resubscription can ask the hub to replay what was missed (`since`) instead of leaving a gap.
 *
 * A position counts messages of one topic, so it is kept only for filters that name a single topic;
 * wildcard subscriptions learn about a gap the way they always did: from the history API.
 */
export interface Position {
  epoch: string | number;
  offset: number;
}

export class RecoveryPositions {
  readonly #byFilter = new Map<string, Position>();

  saw(filter: string, topic: string, pos: Position): void {
    if (filter === topic) this.#byFilter.set(filter, pos);
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
}
