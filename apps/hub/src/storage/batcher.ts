/**
 * Many small requests of one kind, answered by one statement: a fleet reconnecting after a restart
 * asks for thousands of tokens, devices and metric lists at once, and a statement per handshake kept
 * the embedded database's single thread busy with per-statement overhead (parsing, planning, messages
 * between threads) rather than work. Measured on PGlite, the four statements of a handshake cost
 * ~2.5 ms whether they carry 1 device or 10, and ~45 µs more per device.
 *
 * A request after a quiet spell goes at once (after this turn's I/O, with whatever else it brought).
 * Under load, batches start at most every `gatherMs` and one at a time; what arrives meanwhile waits
 * for the next, so batches grow with the load: a fleet coming back at 1,000 handshakes/s is looked up
 * ~20 at a time, for a wait of at most `gatherMs` more per handshake.
 *
 * Each key appears once in a batch: requests for a key already waiting share its answer, and their
 * inputs are merged (`merge`, by default the later one wins).
 */

/** A request dropped before its batch ran, because its caller no longer wanted the answer. */
export class AbandonedRequest extends Error {
  override name = 'AbandonedRequest';
  constructor() {
    super('abandoned before it reached the database');
  }
}

/** Runs one batch: the answer for each key, or nothing for writes (keys left out answer `undefined`). */
export type RunBatch<K, I, O> = (batch: ReadonlyMap<K, I>) => Promise<ReadonlyMap<K, O> | undefined>;

export interface BatcherOptions<I> {
  /** At most this many keys in one statement; more wait for the next. */
  readonly maxBatch?: number;
  /** Under load, the least time between the starts of two batches. */
  readonly gatherMs?: number;
  /** Combines two inputs for one key waiting in the same batch (default: the later one). */
  readonly merge?: (earlier: I, later: I) => I;
}

interface Waiter<O> {
  resolve(value: O | undefined): void;
  reject(error: unknown): void;
  stillWanted: (() => boolean) | undefined;
}

const DEFAULT_MAX_BATCH = 1000;
const DEFAULT_GATHER_MS = 20;

export class Batcher<K, I, O> {
  readonly #pending = new Map<K, { input: I; waiters: Waiter<O>[] }>();
  #running: Promise<void> | undefined;
  #scheduled = false;
  /** When the last batch started (performance.now()). */
  #lastStart = Number.NEGATIVE_INFINITY;
  readonly #maxBatch: number;
  readonly #gatherMs: number;
  readonly #merge: (earlier: I, later: I) => I;

  constructor(
    private readonly run: RunBatch<K, I, O>,
    options: BatcherOptions<I> = {},
  ) {
    this.#maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.#gatherMs = options.gatherMs ?? DEFAULT_GATHER_MS;
    this.#merge = options.merge ?? ((_earlier, later) => later);
  }

  /**
   * The answer for `key`, from the batch it joins. `stillWanted`, when given, is asked just before the
   * batch runs: a request no longer wanted (its client has gone) is left out and rejects with
   * `AbandonedRequest`, so the database does no work for nobody.
   */
  submit(key: K, input: I, stillWanted?: () => boolean): Promise<O | undefined> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter<O> = { resolve, reject, stillWanted };
      const waiting = this.#pending.get(key);
      if (waiting) {
        waiting.input = this.#merge(waiting.input, input);
        waiting.waiters.push(waiter);
      } else {
        this.#pending.set(key, { input, waiters: [waiter] });
      }
      this.#schedule();
    });
  }

  /** Resolves once every request submitted so far has been answered (shutdown: nothing left behind). */
  async drain(): Promise<void> {
    while (this.#running || this.#pending.size > 0) {
      this.#next();
      await this.#running;
    }
  }

  /** Arranges for the next batch to start when its turn comes, unless that is already arranged. */
  #schedule(): void {
    if (this.#running || this.#scheduled || this.#pending.size === 0) return;
    this.#scheduled = true;
    const start = () => {
      this.#scheduled = false;
      this.#next();
    };
    const wait = this.#lastStart + this.#gatherMs - performance.now();
    // At once means after this turn's I/O callbacks, so that the requests they make join this batch.
    if (wait <= 0) setImmediate(start);
    else setTimeout(start, wait);
  }

  /** Starts the next batch now, unless one is running or nothing waits. */
  #next(): void {
    while (!this.#running && this.#pending.size > 0) {
      const batch = this.#take();
      if (batch.size > 0) {
        this.#lastStart = performance.now();
        this.#running = this.#execute(batch).finally(() => {
          this.#running = undefined;
          this.#schedule();
        });
      }
    }
  }

  /** Up to `maxBatch` waiting keys with a caller that still wants them; the others are dropped. */
  #take(): Map<K, { input: I; waiters: Waiter<O>[] }> {
    const batch = new Map<K, { input: I; waiters: Waiter<O>[] }>();
    for (const [key, entry] of this.#pending) {
      if (batch.size >= this.#maxBatch) break;
      this.#pending.delete(key);
      const wanted: Waiter<O>[] = [];
      for (const waiter of entry.waiters) {
        if (waiter.stillWanted === undefined || waiter.stillWanted()) wanted.push(waiter);
        else waiter.reject(new AbandonedRequest());
      }
      if (wanted.length > 0) batch.set(key, { input: entry.input, waiters: wanted });
    }
    return batch;
  }

  async #execute(batch: Map<K, { input: I; waiters: Waiter<O>[] }>): Promise<void> {
    const inputs = new Map<K, I>();
    for (const [key, { input }] of batch) inputs.set(key, input);
    let answers: ReadonlyMap<K, O> | undefined;
    try {
      answers = await this.run(inputs);
    } catch (error) {
      for (const { waiters } of batch.values()) for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (const [key, { waiters }] of batch) {
      const answer = answers?.get(key);
      for (const waiter of waiters) waiter.resolve(answer);
    }
  }
}
