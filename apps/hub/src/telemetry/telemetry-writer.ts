/**
 * The cold path: batches offered by ingest are queued in memory (bounded in bytes), written in
 * multi-row statements, and acknowledged per device only once committed.
 *
 * Acks follow commit order, not completion order: with several statements in flight, the readings
 * of a later statement are reported only after every earlier statement committed too, so an ack for
 * `seq` S always means that everything offered before S is stored. A failing statement is retried
 * with capped backoff for as long as it takes, which holds back the acks behind it; the queue then
 * fills, `offer` answers false and devices keep their readings until the database is back.
 */
import type { BaseLogger } from 'pino';
import { Registry } from 'prom-client';
import type { TelemetryBatch, TelemetrySink } from '../ingest/telemetry-sink.js';
import type { Database } from '../storage/database.js';
import { refreshForLateReadings } from './aggregate-refresh.js';
import { insertReadings, storageError } from './readings-insert.js';
import { detectStorageMode, type StorageMode } from './storage-mode.js';
import { createWriterMetrics, type WriterMetrics } from './writer-metrics.js';

export interface TelemetryWriterOptions {
  database: Database;
  logger?: Pick<BaseLogger, 'info' | 'warn' | 'error'>;
  /** Prometheus registry for the writer's metrics (the hub's); a private one when absent. */
  registry?: Registry;
  /** A statement starts as soon as this many readings are queued. Default 5000. */
  batchReadings?: number;
  /** Longest a reading waits for company before its statement starts, in ms. Default 20. */
  batchDelayMs?: number;
  /** Estimated memory the queue may hold before `offer` refuses; default 64 MiB. */
  maxQueueBytes?: number;
  /**
   * Statements in flight at once, each on its own pooled connection: while one waits for its commit to reach
   * the disk, the next is already inserting. Default 3 (PGlite: 1, it is single-session).
   */
  concurrency?: number;
  /** First retry delay after a failed statement, doubled up to `retryMaxMs`. Defaults 100 and 5000. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** A statement pending this long marks the writer unhealthy: the database hangs rather than fails. Default 5000. */
  stallMs?: number;
  /** How long `close` keeps retrying what is queued before giving up on it. Default 10000. */
  closeTimeoutMs?: number;
  /** What the migrated database offers (decides how roll-ups are kept); asked of the database when absent. */
  storageMode?: StorageMode;
}

interface Pending {
  readonly batch: TelemetryBatch;
  readonly bytes: number;
  /** When it was offered, epoch ms. */
  readonly at: number;
}

interface Flight {
  readonly batches: TelemetryBatch[];
  readonly readings: number;
  readonly bytes: number;
  readonly startedAt: number;
  done: boolean;
}

/** Rough memory held by one queued batch: object headers, strings and the array slot of each reading. */
function estimateBytes(batch: TelemetryBatch): number {
  let bytes = 96 + batch.deviceId.length * 2;
  for (const r of batch.readings) bytes += 88 + r.metric.length * 2 + (r.unit ? 40 + r.unit.length * 2 : 0);
  return bytes;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class TelemetryWriter implements TelemetrySink {
  /** Where the writer's metrics are registered: the one passed in, or its own for the hub to merge. */
  readonly registry: Registry;
  readonly metrics: WriterMetrics;
  readonly #database: Database;
  readonly #logger: TelemetryWriterOptions['logger'];
  readonly #batchReadings: number;
  readonly #batchDelayMs: number;
  readonly #maxQueueBytes: number;
  readonly #concurrency: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #stallMs: number;
  readonly #closeTimeoutMs: number;
  readonly #listeners: Array<(deviceId: string, seq: number) => void> = [];
  #storageMode: Promise<StorageMode> | undefined;

  /** Offered, not yet taken into a statement; FIFO. */
  #pending: Pending[] = [];
  #pendingReadings = 0;
  /** Statements in the order they started; acks are released from the front only. */
  #flights: Flight[] = [];
  /** Everything accepted and not yet committed: pending and in flight. */
  #heldBytes = 0;
  #heldReadings = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastWriteFailed = false;
  #consecutiveFailures = 0;
  #closed = false;
  #abandoned = false;
  #idleWaiters: Array<() => void> = [];

  constructor(options: TelemetryWriterOptions) {
    this.#database = options.database;
    this.#logger = options.logger;
    this.#batchReadings = options.batchReadings ?? 5000;
    this.#batchDelayMs = options.batchDelayMs ?? 20;
    this.#maxQueueBytes = options.maxQueueBytes ?? 64 * 1024 * 1024;
    this.#concurrency = options.database.driver === 'pglite' ? 1 : (options.concurrency ?? 3);
    this.#retryInitialMs = options.retryInitialMs ?? 100;
    this.#retryMaxMs = options.retryMaxMs ?? 5000;
    this.#stallMs = options.stallMs ?? 5000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.registry = options.registry ?? new Registry();
    this.metrics = createWriterMetrics(this.registry);
    this.metrics.healthy.set(1);
    if (options.storageMode) this.#storageMode = Promise.resolve(options.storageMode);
  }

  /** Asked once, on the first write (and again after a failed attempt to ask). */
  #mode(): Promise<StorageMode> {
    this.#storageMode ??= detectStorageMode(this.#database).catch((error: unknown) => {
      this.#storageMode = undefined;
      throw error;
    });
    return this.#storageMode;
  }

  /** Stores one flush; committed and visible in history when it resolves. */
  async #store(batches: readonly TelemetryBatch[]): Promise<number> {
    const mode = await this.#mode();
    const stored = await insertReadings(this.#database, batches, { rollups: mode !== 'timescaledb' });
    // Late readings are refreshed into the aggregates whether or not this attempt stored them: an
    // earlier attempt may have committed them and failed before its refresh.
    if (mode === 'timescaledb') await refreshForLateReadings(this.#database, batches);
    return stored;
  }

  get healthy(): boolean {
    if (this.#lastWriteFailed) return false;
    const oldest = this.#flights.find((f) => !f.done);
    return oldest === undefined || Date.now() - oldest.startedAt < this.#stallMs;
  }

  /** Readings accepted and not yet committed. */
  get queuedReadings(): number {
    return this.#heldReadings;
  }

  onCommitted(listener: (deviceId: string, seq: number) => void): void {
    this.#listeners.push(listener);
  }

  offer(batch: TelemetryBatch): boolean {
    if (this.#closed) return false;
    const bytes = estimateBytes(batch);
    // An empty queue always takes a batch, so a limit set below one frame cannot refuse everything forever.
    if (this.#heldBytes > 0 && this.#heldBytes + bytes > this.#maxQueueBytes) {
      this.metrics.offersRefused.inc();
      return false;
    }
    this.#pending.push({ batch, bytes, at: Date.now() });
    this.#pendingReadings += batch.readings.length;
    this.#hold(batch.readings.length, bytes);
    this.#schedule();
    return true;
  }

  /** Resolves once everything offered so far is committed (tests and benchmarks). */
  drained(): Promise<void> {
    if (this.#heldReadings === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#schedule();
    let timeout: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timeout = setTimeout(() => resolve(true), this.#closeTimeoutMs);
    });
    const finished = await Promise.race([this.drained().then(() => false), gaveUp]);
    clearTimeout(timeout);
    if (finished) {
      this.#abandoned = true;
      if (this.#timer) clearTimeout(this.#timer);
      // Never acked, so the devices still hold these readings and send them to the next hub.
      this.metrics.readingsDropped.inc(this.#heldReadings);
      this.#logger?.error(
        { readings: this.#heldReadings },
        'storage writer closed with readings still unwritten; devices will resend them',
      );
    }
  }

  #hold(readings: number, bytes: number): void {
    this.#heldReadings += readings;
    this.#heldBytes += bytes;
    this.metrics.queueReadings.set(this.#heldReadings);
    this.metrics.queueBytes.set(this.#heldBytes);
  }

  /** Starts statements while there is room in flight and a reason to write now. */
  #schedule(): void {
    while (this.#pending.length > 0 && this.#flights.length < this.#concurrency && !this.#abandoned) {
      const due =
        this.#closed ||
        this.#pendingReadings >= this.#batchReadings ||
        Date.now() - this.#pending[0]!.at >= this.#batchDelayMs;
      if (!due) break;
      this.#startFlight();
    }
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending.length > 0 && this.#flights.length < this.#concurrency && !this.#abandoned) {
      const wait = Math.max(0, this.#pending[0]!.at + this.#batchDelayMs - Date.now());
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#schedule();
      }, wait);
    }
  }

  #startFlight(): void {
    const batches: TelemetryBatch[] = [];
    let readings = 0;
    let bytes = 0;
    let taken = 0;
    while (taken < this.#pending.length) {
      const next = this.#pending[taken]!;
      if (readings > 0 && readings + next.batch.readings.length > this.#batchReadings) break;
      batches.push(next.batch);
      readings += next.batch.readings.length;
      bytes += next.bytes;
      taken++;
    }
    this.#pending.splice(0, taken);
    this.#pendingReadings -= readings;
    const flight: Flight = { batches, readings, bytes, startedAt: Date.now(), done: false };
    this.#flights.push(flight);
    void this.#write(flight);
  }

  async #write(flight: Flight): Promise<void> {
    let delay = this.#retryInitialMs;
    while (!this.#abandoned) {
      const started = performance.now();
      try {
        const stored = await this.#store(flight.batches);
        this.metrics.writeSeconds.observe((performance.now() - started) / 1000);
        this.metrics.batchReadings.observe(flight.readings);
        this.metrics.readingsStored.inc(stored);
        this.metrics.readingsDuplicate.inc(flight.readings - stored);
        this.#writeSucceeded();
        break;
      } catch (error) {
        this.#writeFailed(error, delay);
        await sleep(delay);
        delay = Math.min(delay * 2, this.#retryMaxMs);
      }
    }
    if (this.#abandoned) return;
    flight.done = true;
    this.#releaseCommitted();
    this.#schedule();
  }

  #writeSucceeded(): void {
    if (this.#lastWriteFailed) {
      this.#logger?.info({ failures: this.#consecutiveFailures }, 'storage writes succeed again');
    }
    this.#lastWriteFailed = false;
    this.#consecutiveFailures = 0;
    this.metrics.healthy.set(1);
  }

  #writeFailed(error: unknown, retryInMs: number): void {
    this.#lastWriteFailed = true;
    this.#consecutiveFailures++;
    this.metrics.writeFailures.inc();
    this.metrics.healthy.set(0);
    // One line when an outage starts, then one every 20 failures: a down database must not flood the log.
    if (this.#consecutiveFailures === 1 || this.#consecutiveFailures % 20 === 0) {
      this.#logger?.warn(
        { err: storageError(error), failures: this.#consecutiveFailures, retryInMs },
        'storage write failed; retrying (acks wait, live delivery continues)',
      );
    }
  }

  /** Acks every device for the statements at the front that have committed, in start order. */
  #releaseCommitted(): void {
    while (this.#flights[0]?.done) {
      const flight = this.#flights.shift()!;
      this.#hold(-flight.readings, -flight.bytes);
      const highest = new Map<string, number>();
      for (const b of flight.batches) highest.set(b.deviceId, Math.max(highest.get(b.deviceId) ?? -1, b.seq));
      for (const [deviceId, seq] of highest) {
        for (const listener of this.#listeners) {
          try {
            listener(deviceId, seq);
          } catch (error) {
            this.#logger?.error({ err: error, deviceId }, 'ack listener failed');
          }
        }
      }
    }
    if (this.#heldReadings === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
