/**
 * The durable local buffer: every reading lands here before it is sent, and leaves only when the hub's
 * ack covers its seq.
 *
 * SQLite in WAL mode with synchronous=FULL: a commit is on the SD card when it returns, and a torn
 * write after power loss rolls back to the last commit. Appends are grouped: readings wait in memory
 * for at most `flushIntervalMs`, then one transaction (one fsync) writes all of them, together with the
 * deletions that acks allowed. Readings are only handed to the sender once committed, so nothing the
 * hub acknowledged can be lost by a crash here, and nothing sent can vanish before it is acked.
 *
 * A reading's seq is its AUTOINCREMENT row id: it rises across restarts and never repeats, even after
 * every row was deleted. A telemetry frame's seq is the seq of its last reading, so "ack S" means "every
 * row with seq <= S is stored by the hub".
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Reading } from '@edgewire/protocol';
import BetterSqlite3 from 'better-sqlite3';
import type { Counters } from '../sensors/sensor.js';

/** Bytes a buffered reading takes on disk: 26 measured by bench/run.ts (append), plus slack for free pages. */
export const BYTES_PER_READING = 32;

/** Readings kept in RAM while commits fail (about 10 MB); beyond it the oldest are dropped and counted. */
const MAX_WAITING_IN_MEMORY = 100_000;

export interface StoredReading extends Reading {
  seq: number;
}

export interface BufferStats {
  /** Readings on disk, not yet acknowledged. */
  readings: number;
  /** Estimated bytes they take (readings × BYTES_PER_READING). */
  bytes: number;
  /** Readings waiting in memory for the next group commit. */
  pending: number;
  /** Oldest readings dropped because the buffer was full, since the buffer was created. */
  evicted: number;
  /** Highest seq ever assigned. */
  lastSeq: number;
}

export interface ReadingBufferOptions {
  path: string;
  maxBytes: number;
  flushIntervalMs: number;
  /** Called after a commit evicted readings (count this time, total ever). */
  onEvicted?: (count: number, total: number) => void;
  /** Called when a timed group commit failed (disk full, failing SD card); the readings wait in memory. */
  onCommitFailed?: (error: Error) => void;
}

interface Series {
  metric: string;
  unit: string | undefined;
}

export class ReadingBuffer {
  private readonly db: BetterSqlite3.Database;
  private readonly seriesById = new Map<number, Series>();
  private readonly seriesIds = new Map<string, number>();
  private pending: Reading[] = [];
  /** Counter values set since the last commit; written with it. */
  private pendingCounters = new Map<string, number>();
  /** Rows with seq <= this are acknowledged; deleted at the next commit. */
  private deleteThrough = 0;
  private deletedThrough = 0;
  private count: number;
  private evictedTotal: number;
  private lastSeq: number;
  private readonly maxReadings: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushedListeners: Array<() => void> = [];
  private readonly statements;

  constructor(private readonly options: ReadingBufferOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    // A lock held by another process (a backup, `edgewire-agent check`) makes a commit wait at most 1 s
    // on the event loop before it fails and is retried at the next interval.
    this.db = new BetterSqlite3(options.path, { timeout: 1000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // Keeps the WAL file from growing without bound between checkpoints on a busy buffer.
    this.db.pragma('journal_size_limit = 8388608');
    this.db.exec(`
      create table if not exists series (
        id integer primary key,
        metric text not null,
        unit text,
        unique (metric, unit)
      );
      create table if not exists readings (
        seq integer primary key autoincrement,
        series integer not null,
        value real not null,
        ts integer not null
      );
      create table if not exists meta (key text primary key, value integer not null);
    `);
    this.statements = {
      insertSeries: this.db.prepare<[string, string | null]>(
        'insert into series (metric, unit) values (?, ?)',
      ),
      insertReading: this.db.prepare<[number, number, number]>(
        'insert into readings (series, value, ts) values (?, ?, ?)',
      ),
      readAfter: this.db.prepare<[number, number]>(
        'select seq, series, value, ts from readings where seq > ? order by seq limit ?',
      ),
      deleteUpTo: this.db.prepare<[number]>('delete from readings where seq <= ?'),
      nthSeq: this.db.prepare<[number]>('select seq from readings order by seq limit 1 offset ?'),
      count: this.db.prepare('select count(*) as n from readings'),
      lastSeq: this.db.prepare(
        "select coalesce((select seq from sqlite_sequence where name = 'readings'), 0) as s",
      ),
      getMeta: this.db.prepare<[string]>('select value from meta where key = ?'),
      setMeta: this.db.prepare<[string, number]>(
        'insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value',
      ),
    };
    this.count = 0;
    this.lastSeq = 0;
    this.evictedTotal = 0;
    this.loadState();
    this.maxReadings = Math.max(1, Math.floor(options.maxBytes / BYTES_PER_READING));
    this.timer = setInterval(() => {
      try {
        this.flush();
      } catch (error) {
        options.onCommitFailed?.(error as Error);
      }
    }, options.flushIntervalMs);
    this.timer.unref();
  }

  /** Reads what the file holds; also after a failed commit, whose changes were rolled back. */
  private loadState(): void {
    this.seriesById.clear();
    this.seriesIds.clear();
    for (const row of this.db.prepare('select id, metric, unit from series').all() as Array<{
      id: number;
      metric: string;
      unit: string | null;
    }>) {
      this.remember(row.id, row.metric, row.unit ?? undefined);
    }
    this.count = (this.statements.count.get() as { n: number }).n;
    this.lastSeq = (this.statements.lastSeq.get() as { s: number }).s;
    this.evictedTotal = (this.statements.getMeta.get('evicted') as { value: number } | undefined)?.value ?? 0;
  }

  private remember(id: number, metric: string, unit: string | undefined): void {
    this.seriesById.set(id, { metric, unit });
    this.seriesIds.set(seriesKey(metric, unit), id);
  }

  private seriesId(metric: string, unit: string | undefined): number {
    const known = this.seriesIds.get(seriesKey(metric, unit));
    if (known !== undefined) return known;
    const id = Number(this.statements.insertSeries.run(metric, unit ?? null).lastInsertRowid);
    this.remember(id, metric, unit);
    return id;
  }

  /** Queues readings for the next group commit. They are durable (and sendable) once it ran. */
  append(readings: readonly Reading[]): void {
    for (const reading of readings) this.pending.push(reading);
  }

  /** Readings with seq > afterSeq, oldest first; only committed ones. */
  readAfter(afterSeq: number, limit: number): StoredReading[] {
    const rows = this.statements.readAfter.all(afterSeq, limit) as Array<{
      seq: number;
      series: number;
      value: number;
      ts: number;
    }>;
    return rows.map((row) => {
      const series = this.seriesById.get(row.series)!;
      const reading: StoredReading = { seq: row.seq, metric: series.metric, value: row.value, ts: row.ts };
      if (series.unit !== undefined) reading.unit = series.unit;
      return reading;
    });
  }

  /** Counters kept in the buffer file (meta keys `counter:…`); a value set is durable with the next commit. */
  readonly counters: Counters = {
    get: (key) =>
      this.pendingCounters.get(key) ??
      (this.statements.getMeta.get(`counter:${key}`) as { value: number } | undefined)?.value ??
      0,
    set: (key, value) => {
      this.pendingCounters.set(key, value);
    },
  };

  /** The hub stored every reading with seq <= `seq`; they are deleted at the next group commit. */
  ack(seq: number): void {
    if (seq > this.deleteThrough) this.deleteThrough = Math.min(seq, this.lastSeq);
  }

  /** Registers a listener called after every commit that added readings. */
  onFlushed(listener: () => void): void {
    this.flushedListeners.push(listener);
  }

  /** Commits queued readings and acknowledged deletions in one transaction (one fsync). */
  flush(): void {
    const batch = this.pending;
    const deleteThrough = this.deleteThrough;
    const counters = this.pendingCounters;
    if (batch.length === 0 && deleteThrough === this.deletedThrough && counters.size === 0) return;
    this.pending = [];
    this.pendingCounters = new Map();
    let evicted: number;
    try {
      evicted = this.commit(batch, deleteThrough, counters);
    } catch (error) {
      for (const [key, value] of counters)
        if (!this.pendingCounters.has(key)) this.pendingCounters.set(key, value);
      // Nothing was written. The readings wait in memory for the next commit, as many as RAM allows.
      const waiting = batch.concat(this.pending);
      const dropped = Math.max(0, waiting.length - Math.min(this.maxReadings, MAX_WAITING_IN_MEMORY));
      this.loadState();
      this.pending = waiting.slice(dropped);
      if (dropped > 0) {
        this.evictedTotal += dropped;
        this.options.onEvicted?.(dropped, this.evictedTotal);
      }
      throw error;
    }
    this.deletedThrough = deleteThrough;
    if (evicted > 0) this.options.onEvicted?.(evicted, this.evictedTotal);
    if (batch.length > 0) for (const listener of this.flushedListeners) listener();
  }

  /** One transaction; returns how many old readings were evicted to stay within the bound. */
  private commit(
    batch: readonly Reading[],
    deleteThrough: number,
    counters: ReadonlyMap<string, number>,
  ): number {
    return this.db.transaction(() => {
      for (const [key, value] of counters) this.statements.setMeta.run(`counter:${key}`, value);
      for (const r of batch) {
        const info = this.statements.insertReading.run(this.seriesId(r.metric, r.unit), r.value, r.ts);
        this.lastSeq = Number(info.lastInsertRowid);
      }
      this.count += batch.length;
      if (deleteThrough > this.deletedThrough) {
        this.count -= this.statements.deleteUpTo.run(deleteThrough).changes;
      }
      if (this.count > this.maxReadings) {
        // The newest readings are the ones an operator wants most; the oldest make room for them.
        const excess = this.count - this.maxReadings;
        const cut = (this.statements.nthSeq.get(excess - 1) as { seq: number }).seq;
        const evicted = this.statements.deleteUpTo.run(cut).changes;
        this.count -= evicted;
        this.evictedTotal += evicted;
        this.statements.setMeta.run('evicted', this.evictedTotal);
        return evicted;
      }
      return 0;
    })();
  }

  stats(): BufferStats {
    return {
      readings: this.count,
      bytes: this.count * BYTES_PER_READING,
      pending: this.pending.length,
      evicted: this.evictedTotal,
      lastSeq: this.lastSeq,
    };
  }

  /** Commits what is queued and closes the file. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
    this.db.close();
  }
}

function seriesKey(metric: string, unit: string | undefined): string {
  return unit === undefined ? metric : `${metric}\u0000${unit}`;
}
