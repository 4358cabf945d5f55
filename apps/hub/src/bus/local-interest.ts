/**
 * What this instance's connections want: a count of subscribers per filter, and the streams whose
 * history is kept because some filter addresses them. A stream stays recorded for `lingerMs` after its
 * last watcher left, so a client that drops off and comes back within the history's age finds every
 * message it missed.
 */
import { streamOfFilter } from './streams.js';

export interface InterestListener {
  /** A filter gained its first local subscriber, or lost its last. */
  filterChanged(filter: string, watched: boolean): void;
  /** A stream started being recorded, or its linger ran out. */
  streamChanged(stream: string, recorded: boolean): void;
}

export class LocalInterest {
  readonly #filters = new Map<string, number>();
  /** Recorded streams: live watching filters, and the linger timer once there are none. */
  readonly #streams = new Map<string, { watchers: number; linger: NodeJS.Timeout | undefined }>();

  constructor(
    /** How long a stream stays recorded after its last watcher left; 0 records nothing. */
    private readonly lingerMs: number,
    private readonly listener: InterestListener,
  ) {}

  watch(filter: string): void {
    const count = (this.#filters.get(filter) ?? 0) + 1;
    this.#filters.set(filter, count);
    if (count > 1) return;
    this.listener.filterChanged(filter, true);
    const stream = this.lingerMs > 0 ? streamOfFilter(filter) : undefined;
    if (stream === undefined) return;
    const recorded = this.#streams.get(stream);
    if (recorded) {
      recorded.watchers++;
      clearTimeout(recorded.linger);
      recorded.linger = undefined;
      return;
    }
    this.#streams.set(stream, { watchers: 1, linger: undefined });
    this.listener.streamChanged(stream, true);
  }

  unwatch(filter: string): void {
    const count = (this.#filters.get(filter) ?? 0) - 1;
    if (count > 0) {
      this.#filters.set(filter, count);
      return;
    }
    if (!this.#filters.delete(filter)) return;
    this.listener.filterChanged(filter, false);
    const stream = this.lingerMs > 0 ? streamOfFilter(filter) : undefined;
    const recorded = stream === undefined ? undefined : this.#streams.get(stream);
    if (!stream || !recorded || --recorded.watchers > 0) return;
    recorded.linger = setTimeout(() => {
      this.#streams.delete(stream);
      this.listener.streamChanged(stream, false);
    }, this.lingerMs);
    recorded.linger.unref();
  }

  records(stream: string): boolean {
    return this.#streams.has(stream);
  }

  filters(): string[] {
    return [...this.#filters.keys()];
  }

  streams(): string[] {
    return [...this.#streams.keys()];
  }

  close(): void {
    for (const { linger } of this.#streams.values()) clearTimeout(linger);
  }
}
