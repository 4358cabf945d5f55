/**
 * Logging of events a client can repeat at will (invalid frames, refused handshakes), at a bounded
 * rate: of each kind, the first `burst` events of an interval are logged in full, the rest are only
 * counted per key (a connection, an address) and summed up in one line at the end of the interval.
 * However fast the events come, one kind writes at most `burst + 1` lines per interval, so a
 * flooding client cannot fill the disk or drown the lines that matter.
 */
import type { Logger } from 'pino';

/** Keys counted one by one per interval; beyond them the summary only has the total. */
const MAX_KEYS = 1000;
/** Keys named in a summary line, the busiest first. */
const TOP_KEYS = 10;

export interface LogSummaryOptions {
  /** The log message of the event (and, with a suffix, of its summary). */
  readonly message: string;
  readonly level: 'info' | 'warn';
  /** What the key is, as a field name in the summary (`conn`, `address`). */
  readonly keyName: string;
  readonly intervalMs: number;
  /** Events logged in full per interval. */
  readonly burst: number;
}

export class LogSummary {
  #logged = 0;
  #suppressed = 0;
  readonly #counts = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    private readonly options: LogSummaryOptions,
  ) {
    this.#timer = setInterval(() => this.flush(), options.intervalMs);
    this.#timer.unref();
  }

  /** One event of this kind from `key`, with the fields its full line would carry. */
  note(key: string, fields: Record<string, unknown>): void {
    if (this.#logged < this.options.burst) {
      this.#logged++;
      this.logger[this.options.level](fields, this.options.message);
      return;
    }
    this.#suppressed++;
    const count = this.#counts.get(key);
    if (count !== undefined) this.#counts.set(key, count + 1);
    else if (this.#counts.size < MAX_KEYS) this.#counts.set(key, 1);
  }

  /** Writes the summary of the interval (if anything was held back) and starts a new one. */
  flush(): void {
    if (this.#suppressed > 0) {
      const top = [...this.#counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP_KEYS)
        .map(([key, count]) => ({ [this.options.keyName]: key, count }));
      this.logger[this.options.level](
        {
          suppressed: this.#suppressed,
          keys: this.#counts.size,
          top,
          intervalSec: this.options.intervalMs / 1000,
        },
        `${this.options.message}: ${this.#suppressed} more not logged one by one`,
      );
    }
    this.#logged = 0;
    this.#suppressed = 0;
    this.#counts.clear();
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
